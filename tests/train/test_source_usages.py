"""remora-train learns usage without a corpus: a small real library's tests, docs and docstring
examples (its sdist, `--source`) are mined for the usages their code shows, and the pack that
knows them types a parameter that the API table alone leaves undecided."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from remora_review.train import mining
from remora_review.train.api_extract import extract_api_table
from remora_review.train.cli import main
from remora_review.train.returns import documented_returns
from tests.integration.conftest import stop_server_in

CLIENT = '''\
"""Clients of a tiny key-value store.

>>> b = Store("mem://").batch()
>>> b.put("k", b"v")
>>> b.commit()
"""


class Store:
    """A connection to a store."""

    def __init__(self, url):
        self.url = url
        self.data = {}

    def put(self, key, value):
        self.data[key] = value

    def fetch(self, key):
        return self.data.get(key)

    def remove(self, key):
        self.data.pop(key, None)

    def batch(self):
        """Writes sent together.

        :rtype: tinykv.Batch
        """
        return Batch(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


class Cache:
    """An in-process cache with the store's interface."""

    def __init__(self, size=128):
        self.size = size
        self.data = {}

    def put(self, key, value):
        self.data[key] = value

    def fetch(self, key):
        return self.data.get(key)

    def remove(self, key):
        self.data.pop(key, None)

    def clear(self):
        self.data.clear()


class Batch:
    def __init__(self, store):
        self.store = store
        self.pending = []

    def put(self, key, value):
        self.pending.append((key, value))

    def commit(self):
        for key, value in self.pending:
            self.store.put(key, value)


def connect(url):
    """Open a store.

    :rtype: tinykv.Store
    """
    return Store(url)
'''

CONFTEST = '''\
import pytest

import tinykv


@pytest.fixture
def db():
    with tinykv.connect("mem://") as store:
        yield store
'''

TESTS = '''\
import tinykv


def test_put_then_fetch(db):
    db.put("a", b"1")
    assert db.fetch("a") == b"1"


def test_remove(db):
    db.put("a", b"1")
    db.remove("a")
    assert db.fetch("a") is None


def test_overwrite(db):
    db.put("a", b"1")
    db.put("a", b"2")
    assert db.fetch("a") == b"2"
    db.remove("a")


def test_batch_commits(db):
    batch = db.batch()
    batch.put("x", b"y")
    batch.commit()
    assert db.fetch("x") == b"y"


def test_cache_clears():
    cache = tinykv.Cache(size=2)
    cache.put("a", b"1")
    cache.clear()
    assert cache.fetch("a") is None
'''

DOCS = '''\
# tinykv

```python
import tinykv

store = tinykv.connect("mem://")
store.put("greeting", b"hello")
store.remove("greeting")
```
'''

PROJECT = '''\
import tinykv


def save(db, key, value):
    db.put(key, value)
    db.remove(key + ".old")
'''


@pytest.fixture
def tinykv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A small real library, installed (importable) and as its sdist with tests and docs."""
    name = "tinykv"
    site = tmp_path / "site"
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text(
        '"""A tiny key-value store."""\n\nfrom tinykv.client import Batch, Cache, Store, connect\n\n'
        '__all__ = ["Batch", "Cache", "Store", "connect"]\n__version__ = "1.0"\n')
    (site / name / "client.py").write_text(CLIENT)
    tree = tmp_path / "sdist" / "tinykv-1.0"
    (tree / "src").mkdir(parents=True)
    import shutil

    shutil.copytree(site / name, tree / "src" / name)
    (tree / "tests").mkdir()
    (tree / "tests" / "conftest.py").write_text(CONFTEST)
    (tree / "tests" / "test_store.py").write_text(TESTS)
    (tree / "docs").mkdir()
    (tree / "docs" / "index.md").write_text(DOCS)
    archive = tmp_path / "tinykv-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(tree, arcname="tinykv-1.0")
    monkeypatch.syspath_prepend(str(site))
    yield name, archive
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        sys.modules.pop(module, None)


def _mined(archive: Path, tmp_path: Path) -> mining.MiningResult:
    from remora_review.train.build import unpacked_source

    table = extract_api_table("tinykv", note=lambda _: None)
    units = mining.library_units(("tinykv",))
    units += mining.docstring_units(units)
    units += mining.source_units(unpacked_source(archive, tmp_path / "unpacked"))
    return mining.mine(table, units, workers=1, documented=documented_returns(table))


def test_tests_docs_and_docstrings_give_usages(tinykv: tuple[str, Path], tmp_path: Path) -> None:
    _, archive = tinykv
    mined = _mined(archive, tmp_path)
    seen = {(u.source, u.file.rsplit("/", 1)[-1], u.profile.function, u.profile.name, u.label,
             tuple(c.name for c in u.profile.calls)) for u in mined.usages}
    # A test's parameter filled by the conftest fixture, typed by `connect`'s `:rtype:` and
    # `with ... as store` (what `__enter__` returns: the store itself).
    assert ("tests", "test_store.py", "test_remove", "db", "tinykv.Store",
            ("fetch", "put", "remove")) in seen
    # A variable bound to what a method's docstring says it returns.
    assert ("tests", "test_store.py", "test_batch_commits", "batch", "tinykv.Batch",
            ("commit", "put")) in seen
    # A constructor call.
    assert ("tests", "test_store.py", "test_cache_clears", "cache", "tinykv.Cache",
            ("clear", "fetch", "put")) in seen
    # A documentation page's example, and a docstring's `>>>` example in the installed source.
    assert ("docs", "index.md", "<module>", "store", "tinykv.Store", ("put", "remove")) in seen
    assert ("docs", "client.py", "<module>", "b", "tinykv.Batch", ("commit", "put")) in seen
    assert mined.names["db"] == {"tinykv.Store": 4}
    # The fixture itself is no usage of `db`; nothing the code does not show is labelled.
    assert {u.label for u in mined.usages} == {"tinykv.Store", "tinykv.Batch", "tinykv.Cache"}


def test_installed_source_alone_mines_nothing_here(tinykv: tuple[str, Path]) -> None:
    table = extract_api_table("tinykv", note=lambda _: None)
    mined = mining.mine(table, mining.library_units(("tinykv",)), workers=1)
    assert mined.usages == ()  # the library annotates no parameter with its classes


def test_source_must_be_a_directory_or_an_sdist(
    tinykv: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.pack"
    code = main(["pack", "--library", "tinykv", "--source", str(tmp_path / "nope.txt"),
                 "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.splitlines() == [f"remora-train: error: --source {tmp_path / 'nope.txt'}: not a "
                                "directory or an sdist (.tar.gz, .zip)"]
    assert not out.exists()


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def _check(repo: Path, pack: Path, runtime: Path) -> list[dict[str, object]]:
    (repo / "pyproject.toml").write_text(f'[tool.remora-review]\npack-paths = ["{pack}"]\n')
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "XDG_CACHE_HOME": str(runtime / "cache"),
           "XDG_DATA_HOME": str(runtime / "data"), "REMORA_REVIEW_STRICT": "1"}
    done = subprocess.run([sys.executable, "-m", "remora_review.cli", "check", "--all",
                           "--output-format", "json"], cwd=repo, env=env, capture_output=True,
                          text=True)
    assert done.returncode in (0, 1), done.stderr
    return [f for f in json.loads(done.stdout) if f["code"] == "RR101"]


@pytest.mark.slow
def test_the_sdist_teaches_the_pack_what_the_api_table_cannot_decide(
    tinykv: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, archive = tinykv
    plain, taught = tmp_path / "plain.pack", tmp_path / "taught.pack"
    assert main(["pack", "--library", "tinykv", "--out", str(plain),
                 "--work-dir", str(tmp_path / "w1")]) == 0
    assert "1 mined usages" in capsys.readouterr().err  # the docstring's example
    assert main(["pack", "--library", "tinykv", "--source", str(archive), "--out", str(taught),
                 "--work-dir", str(tmp_path / "w2")]) == 0
    assert "8 mined usages" in capsys.readouterr().err

    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text(PROJECT)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "app")
    runtime = Path(os.path.realpath("/tmp")) / f"rr-{uuid.uuid4().hex[:10]}"
    runtime.mkdir(mode=0o700)
    try:
        # Store and Cache both have put and remove: the API table alone cannot choose.
        assert _check(repo, plain, runtime) == []
        (finding,) = _check(repo, taught, runtime)
    finally:
        stop_server_in(runtime)
    assert (finding["path"], finding["line"]) == ("app.py", 4)
    assert "db: Store" in str(finding["message"])
