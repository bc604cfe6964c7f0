"""Mining typed usages from real code: a small repository, docs pages, the library's own source."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from remora_review.api_table import ApiTable
from remora_review.errors import UserError
from remora_review.train.mining import (
    docs_units,
    library_units,
    markdown_blocks,
    mine,
    repo_units,
    rst_blocks,
)


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "service"
    write(root, "app/__init__.py", "")
    write(root, "app/client.py", """
        from __future__ import annotations

        from typing import TYPE_CHECKING, Annotated, Optional

        import httpx
        from httpx import AsyncClient as Async

        if TYPE_CHECKING:
            from httpx import Response


        def fetch(client: httpx.Client, url: str) -> str:
            return client.get(url, timeout=3).text


        async def fetch_async(client: Async, url) -> None:
            response = await client.get(url)
            async with client:
                pass


        def status(resp: Optional["Response"]) -> int:
            return resp.status_code


        def raise_for(resp: httpx.Response | None, other: Annotated[httpx.Response, "x"]) -> None:
            resp.raise_for_status()
            print(other.headers)


        def unused(client: httpx.Client) -> None:
            pass


        def untyped(client) -> None:
            client.get("/")


        def many(responses: list[httpx.Response]) -> None:
            for r in responses:
                r.read()
    """)
    write(root, "app/relative.py", """
        from .client import fetch


        def again(client: "httpx.Client") -> None:  # httpx is not imported here
            client.close()
    """)
    write(root, "tests/test_client.py", """
        import httpx


        def test_get(client: httpx.Client) -> None:
            assert client.get("/").status_code == 200
    """)
    write(root, "app/broken.py", "def broken(:\n")
    write(root, ".venv/lib/site.py", "import httpx\ndef f(c: httpx.Client): c.get('/')\n")
    write(root, ".hidden/x.py", "import httpx\ndef f(c: httpx.Client): c.get('/')\n")
    write(root, "env2/pyvenv.cfg", "home = /usr/bin\n")
    write(root, "env2/lib.py", "import httpx\ndef f(c: httpx.Client): c.get('/')\n")
    return root


def test_mines_typed_usages_from_a_repository(repo: Path, httpx_table: ApiTable) -> None:
    result = mine(httpx_table, repo_units(repo))
    found = {(u.file, u.profile.function, u.profile.name): u for u in result.usages}
    assert set(found) == {
        ("app/client.py", "fetch", "client"),
        ("app/client.py", "fetch_async", "client"),
        ("app/client.py", "status", "resp"),
        ("app/client.py", "raise_for", "resp"),
        ("app/client.py", "raise_for", "other"),
        ("tests/test_client.py", "test_get", "client"),
    }
    fetch = found[("app/client.py", "fetch", "client")]
    assert fetch.label == "httpx.Client" and fetch.source == "repo" and fetch.line == 12
    assert fetch.profile.text() == "parameter client of def fetch; calls get(1, timeout=)"
    assert found[("app/client.py", "fetch_async", "client")].label == "httpx.AsyncClient"
    assert found[("app/client.py", "fetch_async", "client")].profile.protocols == {"async_with"}
    assert found[("app/client.py", "status", "resp")].label == "httpx.Response"  # "Response"
    assert found[("app/client.py", "raise_for", "other")].label == "httpx.Response"
    # Annotated without use: only the name table counts it.
    client = result.names["client"]
    assert (client["httpx.Client"], client["httpx.AsyncClient"]) == (3, 1)
    assert "httpx.Response" not in result.names.get("responses", {})  # a list is not a response
    assert [n for n in result.notes if n.startswith("app/broken.py: skipped")]
    assert not any(".venv" in u.file or ".hidden" in u.file or "env2" in u.file
                   for u in result.usages)


def test_results_are_sorted_and_stable(repo: Path, httpx_table: ApiTable) -> None:
    first = mine(httpx_table, repo_units(repo))
    second = mine(httpx_table, list(reversed(repo_units(repo))))
    assert first.usages == second.usages and first.names == second.names


def test_relative_imports_in_library_source(httpx_table: ApiTable) -> None:
    units = [u for u in library_units(["httpx"]) if u.display in ("httpx/_auth.py",
                                                                    "httpx/__init__.py")]
    result = mine(httpx_table, units)
    labels = {(u.profile.function, u.profile.name): u.label for u in result.usages}
    # httpx/_auth.py: `from ._models import Request`, then `def auth_flow(self, request: Request)`.
    assert labels[("auth_flow", "request")] == "httpx.Request"
    assert {u.source for u in result.usages} == {"lib"}
    assert all(u.file == "httpx/_auth.py" for u in result.usages)


def test_docs_code_blocks(tmp_path: Path, httpx_table: ApiTable) -> None:
    docs = tmp_path / "docs"
    write(docs, "guide.md", '''
        # Guide

        ```python
        import httpx

        def ping(client: httpx.Client) -> None:
            client.head("/ping")
        ```

        ```python
        this is not python (
        ```

        ```bash
        pip install httpx
        ```
    ''')
    write(docs, "api.rst", '''
        Clients
        =======

        .. code-block:: python

           import httpx

           def stream(client: httpx.Client) -> None:
               with client.stream("GET", "/") as r:
                   r.read()

        Doctest:

        >>> import httpx
        >>> def close(c: httpx.AsyncClient):
        ...     return c.aclose()
        <function close>
    ''')
    write(docs, "example.py", "import httpx\n\n\ndef go(r: httpx.Response):\n    r.json()\n")
    result = mine(httpx_table, docs_units(docs))
    found = {(u.file, u.profile.function): (u.label, u.line) for u in result.usages}
    assert found == {
        ("guide.md", "ping"): ("httpx.Client", 6),
        ("api.rst", "stream"): ("httpx.Client", 8),
        ("api.rst", "close"): ("httpx.AsyncClient", 15),
        ("example.py", "go"): ("httpx.Response", 4),
    }
    assert {u.source for u in result.usages} == {"docs"}
    assert result.notes == ()  # a docs block that is not Python is skipped quietly


def test_block_extraction() -> None:
    md = "text\n~~~py\nx = 1\n~~~\n```pycon\n>>> y = 2\n2\n```\n"
    assert markdown_blocks(md) == [(3, "x = 1\n"), (6, "y = 2\n\n")]
    rst = ".. code:: python\n   :linenos:\n\n   a = 1\n   b = 2\n\nafter\n"
    assert rst_blocks(rst) == [(4, "a = 1\nb = 2\n\n")]


def test_missing_directories_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="docs directory not found"):
        docs_units(tmp_path / "nope")
    with pytest.raises(UserError, match="repository directory not found"):
        repo_units(tmp_path / "nope")
