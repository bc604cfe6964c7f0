import httpx


async def fetch_json(client, url):
    response = await client.get(url, timeout=5)
    response.raise_for_status()
    return response.json()
