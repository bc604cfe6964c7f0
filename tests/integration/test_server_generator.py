"""The warm server keeps the code model loaded between reviews, and loads it again when a pack's
adapter is upgraded in place: the real CLI against a real server, the first-party sqlalchemy pack
with a LoRA adapter on a tiny Llama built here, SQLA001 asking for a generated fix."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remora_review import server_client as client
from remora_review.packs.archive import finalize_pack, write_manifest
from remora_review.packs.loader import MANIFEST, read_manifest
from remora_review.packs.manifest import Lora, Manifest
from remora_review.server_commands import format_status
from remora_review.train.lora import ADAPTER_FILES
from tests.generate.conftest import build_adapter, build_model
from tests.integration.conftest import Repo

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SQLALCHEMY_PACK = ROOT / "packs" / "remora_packs" / "sqlalchemy.pack"
IN_PROCESS = {"REMORA_REVIEW_IN_PROCESS": "1"}
USERS = ("from sqlalchemy.orm import Session\n\n\n"
         "def find(session: Session, name: str):\n"
         "    return session.query(User).filter_by(name=name).first()\n")


@pytest.fixture
def runtime() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="rrg", dir="/tmp"))
    yield path
    sock = client.candidate_dir({"XDG_RUNTIME_DIR": str(path)}) / client.SOCKET_NAME
    if sock.exists():
        client.stop_server(sock)
    shutil.rmtree(path, ignore_errors=True)


def _pack_with_adapter(directory: Path, adapter: Path, model: Path) -> None:
    """The shipped sqlalchemy pack, unpacked, with `adapter` as its LoRA (what remora-train lora
    writes), replacing whatever directory was there: an upgrade in place."""
    shutil.rmtree(directory, ignore_errors=True)
    with zipfile.ZipFile(SQLALCHEMY_PACK) as zf:
        zf.extractall(directory)
    (directory / "lora").mkdir()
    for name in ADAPTER_FILES:
        shutil.copy(adapter / name, directory / "lora" / name)
    manifest = read_manifest(directory)
    lora = Lora(base_model=str(model), rank=8, path="lora")
    write_manifest(Manifest.model_validate({**manifest.model_dump(), "lora": lora, "files": {}}),
                   directory / MANIFEST)
    finalize_pack(directory)


def _status(repo: Repo) -> dict[str, Any]:
    status = client.server_status(client.candidate_dir(repo.env) / client.SOCKET_NAME)
    assert status is not None
    return status


def test_the_code_model_stays_loaded_until_its_adapter_changes(
    tmp_path: Path, runtime: Path
) -> None:
    model = build_model(tmp_path / "model", max_positions=2048)
    first = build_adapter(model, tmp_path / "adapter-1", seed=1)
    second = build_adapter(model, tmp_path / "adapter-2", seed=2)
    repo = Repo(tmp_path / "repo", runtime)
    repo.path.mkdir()
    repo.env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    repo.git("init", "-q", "-b", "main")
    _pack_with_adapter(repo.path / "packs" / "sqlalchemy", first, model)
    repo.write("pyproject.toml", (
        '[tool.remora-review]\npack-paths = ["packs"]\n'
        f'[tool.remora-review.generator]\nbackend = "transformers"\nmodel = "{model}"\n'
        "max-tokens = 8\ncontext-documents = 0\n"))
    repo.commit("base")
    repo.write("app/users.py", USERS)
    repo.git("add", "app/users.py")

    def served() -> tuple[int, str, str]:
        before = _status(repo)["reviews"]
        result = repo.review("check")
        assert _status(repo)["reviews"] == before + 1, result.stderr
        local = repo.review("check", env=IN_PROCESS)  # a fresh process, a fresh model
        # What the bot says; a fresh process also prints transformers' loading progress.
        said = [line for line in result.stderr.splitlines() if line.startswith("remora-review:")]
        assert (result.returncode, result.stdout, said) == (local.returncode, local.stdout, [
            line for line in local.stderr.splitlines() if line.startswith("remora-review:")])
        assert any("generated fix for SQLA001" in line for line in said)  # the model was asked
        return result.returncode, result.stdout, "\n".join(said)

    repo.review("check")  # no server yet: this run reviews in its own process and starts one
    one = served()
    assert _status(repo)["generator"] == {
        "model": str(model), "backend": "transformers", "adapters": ["sqlalchemy"], "loads": 1}
    assert served() == one
    assert _status(repo)["generator"]["loads"] == 1  # the second review did not load it again

    _pack_with_adapter(repo.path / "packs" / "sqlalchemy", second, model)
    served()  # the same output as a fresh process with the new adapter
    assert _status(repo)["generator"]["loads"] == 2
    assert f"code model:   {model} (transformers, adapters: sqlalchemy; loaded 2 times)" in (
        format_status(_status(repo)))
