import httpx
from httpx import AsyncClient


async def fetch_json(client: AsyncClient, url):
    response = await client.get(url, timeout=5)
    response.raise_for_status()
    return response.json()
