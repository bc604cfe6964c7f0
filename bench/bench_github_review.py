"""The PR review on a 40-file pull request against the strict local GitHub (tests/github), beside a
naive peer in the same run.

    .venv/bin/python bench/bench_github_review.py [--files 40]

remora-review: `remora-review review` as a pull_request job runs it (real git, real packs, the
real github3.py client over HTTP); first run, three re-runs on the same head, then a push that
fixes two findings and adds two. Peer: what many review bots do, one comment per finding posted
on the finding's line on every run, with no fingerprints and no look at the diff (each run posts
`remora-review check --diff` findings through the same github3.py session). Printed: wall time,
API requests, reviews and comments posted, duplicates (a fingerprint posted twice, or for the
peer the same path, line and text twice), invalid posts (requests the server refused with 422).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.github.conftest import NUMBER, WRITE_TOKEN, PullRequest  # noqa: E402
from tests.github.fake_github import FakeGitHub, Token  # noqa: E402

EXISTING = ('"""Module {i}."""\nfrom sqlalchemy.orm import DeclarativeBase\n\n\n'
            "def ping_{i}() -> int:\n    return {i}\n")
ADDED = ("\n\ndef save_{i}(s, row):\n    s.add(row)\n    s.flush()\n    s.refresh(row)\n"
         "    s.commit()\n")
NEW = ("from sqlalchemy.orm import DeclarativeBase\n\n\n"
       "def record_{i}(db, row):\n    db.add(row)\n    db.flush()\n    db.commit()\n")


def _build(pr: PullRequest, files: int) -> None:
    half = files // 2
    pr.write("shop/__init__.py", "")
    for i in range(half):
        pr.write(f"shop/mod_{i}.py", EXISTING.format(i=i))
    pr.commit("base")
    pr.branch("feature")
    for i in range(half):
        pr.write(f"shop/mod_{i}.py", EXISTING.format(i=i) + ADDED.format(i=i))
    for i in range(files - half):
        pr.write(f"shop/new_{i}.py", NEW.format(i=i))
    pr.commit("feature: 40 files")


def _push(pr: PullRequest) -> None:
    """Take the suggestions on two files and add a finding to two others."""
    for i in (0, 1):
        pr.write(f"shop/new_{i}.py", NEW.format(i=i).replace(
            f"def record_{i}(db, row)",
            f"from sqlalchemy.orm import Session\n\n\ndef record_{i}(db: Session, row)"))
    for i in (2, 3):
        text = (pr.dev / f"shop/mod_{i}.py").read_text("utf-8")
        pr.write(f"shop/mod_{i}.py", text + ADDED.format(i=i).replace("save_", "store_"))
    pr.commit("push")


def _ours(server: FakeGitHub, pr: PullRequest, rounds: list[str]) -> list[dict[str, object]]:
    rows = []
    for label in rounds:
        if label == "push":
            _push(pr)
        env = pr.checkout()
        before_log, before_reviews = len(server.log), len(server.reviews)
        before_comments, before_refused = len(server.comments), len(server.refused)
        started = time.perf_counter()
        result = pr.run(env, "--max-comments", "100")
        wall = time.perf_counter() - started
        if result.returncode not in (0, 1):
            raise SystemExit(f"review failed: {result.stderr}")
        fps = server.fingerprints()
        rows.append({"run": label, "wall_s": round(wall, 2),
                     "requests": len(server.log) - before_log,
                     "reviews": len(server.reviews) - before_reviews,
                     "comments": len(server.comments) - before_comments,
                     "duplicates": sum(n - 1 for n in Counter(fps).values()),
                     "invalid": len(server.refused) - before_refused,
                     "resolved": sum(t["isResolved"] for t in server.threads.values())})
    return rows


def _peer(server: FakeGitHub, pr: PullRequest, rounds: list[str]) -> list[dict[str, object]]:
    import github3
    from github3.session import GitHubSession

    rows = []
    for label in rounds:
        if label == "push":
            _push(pr)
        env = pr.checkout(shallow=False)  # the peer does not deepen a shallow clone itself
        before_log, before_comments = len(server.log), len(server.comments)
        before_refused = len(server.refused)
        started = time.perf_counter()
        base, head = env_base_head(env)
        check = subprocess.run(
            [sys.executable, "-m", "remora_review.cli", "check", "--diff", f"{base}...{head}",
             "--output-format", "json"], cwd=env["GITHUB_WORKSPACE"], capture_output=True,
            text=True, env={**os.environ, **_caches(pr)})
        if check.returncode not in (0, 1):
            raise SystemExit(f"peer's check failed: {check.stderr}")
        session = GitHubSession()
        session.base_url = server.url
        gh = github3.GitHub(token=WRITE_TOKEN, session=session)
        pull = gh.pull_request(*server.repository.split("/"), NUMBER)
        for f in json.loads(check.stdout or "[]"):
            session.post(f"{pull._api}/comments", json={
                "path": f["path"], "line": f["line"], "side": "RIGHT", "commit_id": head,
                "body": f"**{f['code']}** {f['message']}"})
        wall = time.perf_counter() - started
        keys = Counter((c["path"], c["line"], c["body"]) for c in server.comments)
        rows.append({"run": label, "wall_s": round(wall, 2), "requests": len(server.log) - before_log,
                     "reviews": 0, "comments": len(server.comments) - before_comments,
                     "duplicates": sum(n - 1 for n in keys.values()),
                     "invalid": len(server.refused) - before_refused, "resolved": 0})
    return rows


def _caches(pr: PullRequest) -> dict[str, str]:
    """The same model server and caches as PullRequest.run gives the review."""
    return {"XDG_RUNTIME_DIR": str(pr.runtime), "XDG_CACHE_HOME": str(pr.runtime / "cache"),
            "XDG_DATA_HOME": str(pr.runtime / "data")}


def env_base_head(env: dict[str, str]) -> tuple[str, str]:
    event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text("utf-8"))["pull_request"]
    return event["base"]["sha"], event["head"]["sha"]


def _table(name: str, rows: list[dict[str, object]]) -> None:
    print(f"\n{name}")
    keys = list(rows[0])
    print("  " + "  ".join(f"{k:>10}" for k in keys))
    for row in rows:
        print("  " + "  ".join(f"{row[k]!s:>10}" for k in keys))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=40)
    args = parser.parse_args()
    rounds = ["first", "rerun 1", "rerun 2", "rerun 3", "push"]
    runtime = Path(tempfile.mkdtemp(prefix="rr-bench-gh-"))
    results = {}
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    try:
        for name, fn in (("remora-review review", _ours), ("peer: a comment per finding", _peer)):
            with tempfile.TemporaryDirectory() as tmp:
                origin = Path(tmp) / "origin.git"
                with FakeGitHub(origin) as server:
                    server.tokens[WRITE_TOKEN] = Token("github-actions[bot]", True, True)
                    pr = PullRequest(Path(tmp), runtime, server)
                    _build(pr, args.files)
                    pr.open()
                    # Warm the model server and the pack caches: no side pays a cold start.
                    pr.run({k: v for k, v in pr.checkout().items() if k != "GITHUB_TOKEN"},
                           "--dry-run")
                    server.log.clear()
                    results[name] = fn(server, pr, rounds)
    finally:
        subprocess.run([sys.executable, "-m", "remora_review.cli", "server", "stop"], env=env,
                       capture_output=True)
    print(f"A pull request of {args.files} changed files, one RR101 finding each; warm model "
          "server and caches (one unmeasured dry run first); each run a fresh job workspace.")
    for name, rows in results.items():
        _table(name, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
