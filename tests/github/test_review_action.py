"""`remora-review review` end to end: a real repository, the real pipeline and packs, the real
github3.py client over HTTP, and a local GitHub that refuses what GitHub refuses."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from remora_review.findings import Severity
from remora_review.github.suggestions import InlineComment, apply_suggestions
from tests.github.conftest import NUMBER, READ_TOKEN, WRITE_TOKEN, PullRequest, git
from tests.github.fake_github import FakeGitHub, Fault

pytestmark = pytest.mark.slow

MODELS = ("from sqlalchemy.orm import DeclarativeBase\n\n\n"
          "class Base(DeclarativeBase):\n    pass\n")
SERVICE = ('"""Services."""\n'
           "from sqlalchemy.orm import DeclarativeBase\n\n\n"
           "def ping() -> int:\n    return 1\n")
ADDED = ("\n\ndef save(s, row):\n    s.add(row)\n    s.flush()\n    s.refresh(row)\n"
         "    s.commit()\n")
AUDIT = ("from sqlalchemy.orm import DeclarativeBase\n\n\n"
         "def record(db, row):\n    db.add(row)\n    db.flush()\n    db.commit()\n")


def _open(github: tuple[FakeGitHub, PullRequest], fork: bool = False) -> PullRequest:
    _, pr = github
    pr.write("shop/__init__.py", "")
    pr.write("shop/models.py", MODELS)
    pr.write("shop/service.py", SERVICE)
    pr.commit("base")
    pr.branch("feature")
    pr.write("shop/service.py", SERVICE + ADDED)
    pr.write("shop/audit.py", AUDIT)
    pr.commit("feature")
    pr.open(fork=fork)
    return pr


def _head_text(pr: PullRequest, path: str) -> str:
    return git(pr.origin, "show", f"refs/heads/feature:{path}")


def _suggested(server: FakeGitHub, pr: PullRequest, path: str) -> str:
    """The file after a reviewer commits every suggestion posted on it."""
    comments = [InlineComment(c["path"], c["line"], c["start_line"], c["body"], "", Severity.WARNING,
                              _block(c["body"])) for c in server.comments if c["path"] == path]
    return apply_suggestions(_head_text(pr, path), comments)


def _block(body: str) -> str | None:
    m = re.search(r"(`{3,})suggestion\n(.*?)\1", body, re.S)
    return m.group(2) if m else None


def test_one_review_with_suggestions_then_reruns_post_nothing(github):
    server, _ = github
    pr = _open(github)
    env = pr.checkout()
    result = pr.run(env)
    assert result.returncode == 1, result.stderr  # warnings, and fail-on defaults to warning
    assert "Posted review" in result.stdout
    assert server.refused == []
    (review,) = server.reviews
    assert review["commit_id"] == pr.sha("refs/heads/feature")
    assert {c["path"] for c in server.comments} == {"shop/service.py", "shop/audit.py"}
    # audit.py is new, so the whole file is in the diff: the fix joins its import of
    # sqlalchemy.orm, as isort would. service.py's imports lie outside the hunk: the import moves
    # into it, where GitHub accepts a suggestion.
    imports = {"shop/audit.py": "from sqlalchemy.orm import DeclarativeBase, Session\n",
               "shop/service.py": "\nfrom sqlalchemy.orm import Session\n"}
    for path, added in imports.items():
        fixed = _suggested(server, pr, path)
        compile(fixed, path, "exec")
        assert added in fixed
    assert "def save(s: Session, row):" in _suggested(server, pr, "shop/service.py")
    assert "def record(db: Session, row):" in _suggested(server, pr, "shop/audit.py")
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text("utf-8")
    assert "| `shop/audit.py` |" in summary
    sarif = json.loads((Path(env["GITHUB_WORKSPACE"]) / "remora-review.sarif").read_text("utf-8"))
    assert len(sarif["runs"][0]["results"]) == 2

    for _ in range(2):  # re-runs of the same job, and a new job on the same head
        again = pr.run(pr.checkout())
        assert again.returncode == 1, again.stderr
        assert "Nothing new to post" in again.stdout
    assert len(server.reviews) == 1
    assert len(server.fingerprints()) == len(set(server.fingerprints())) == 2


def test_a_push_posts_only_new_findings_and_resolves_fixed_ones(github):
    server, _ = github
    pr = _open(github)
    assert pr.run(pr.checkout()).returncode == 1
    first = set(server.fingerprints())
    # The author takes the suggestion on audit.py and adds another function to service.py.
    pr.write("shop/audit.py", AUDIT.replace("def record(db, row)",
                                            "from sqlalchemy.orm import Session\n\n\n"
                                            "def record(db: Session, row)"))
    pr.write("shop/service.py", SERVICE + ADDED + ADDED.replace("save(s", "store(t").replace(
        "s.", "t."))
    pr.commit("take the suggestion, add store()")
    result = pr.run(pr.checkout())
    assert result.returncode == 1, result.stderr
    assert "Resolved 1 threads" in result.stdout
    assert len(server.reviews) == 2
    fps = server.fingerprints()
    assert len(fps) == len(set(fps)) == 3
    new = set(fps) - first
    (new_comment,) = [c for c in server.comments if any(fp in c["body"] for fp in new)]
    assert "store(t: Session" in new_comment["body"]
    resolved = [t for t in server.threads.values() if t["isResolved"]]
    (thread,) = resolved
    audit = next(c for c in server.comments if c["id"] == thread["comment"])
    assert audit["path"] == "shop/audit.py"
    assert server.refused == []


def test_a_fork_with_a_read_only_token_gets_annotations_summary_and_sarif(github):
    server, _ = github
    pr = _open(github, fork=True)
    env = pr.checkout()
    result = pr.run(env)
    assert result.returncode == 1, result.stderr
    assert re.search(r"^::warning file=shop/audit.py,line=4,", result.stdout, re.M)
    assert "cannot write" in result.stdout
    assert server.reviews == [] and server.comments == []
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text("utf-8")
    assert "shop/service.py" in summary and "cannot write" in summary
    sarif_text = (Path(env["GITHUB_WORKSPACE"]) / "remora-review.sarif").read_text("utf-8")
    for text in (result.stdout, result.stderr, summary, sarif_text):
        assert READ_TOKEN not in text
    assert not any(m == "POST" and s < 400 for m, _, s in server.log)


def test_no_token_is_a_usage_error_before_any_request(github):
    server, _ = github
    pr = _open(github)
    env = pr.checkout()
    del env["GITHUB_TOKEN"]
    result = pr.run(env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no GitHub token" in result.stderr
    assert server.log == []


def test_rate_limits_are_waited_out_and_a_landed_review_is_not_posted_twice(github):
    server, _ = github
    pr = _open(github)
    base = f"/repos/{server.repository}/pulls/{NUMBER}"
    server.faults += [
        Fault("GET", base, 429, {"Retry-After": "1"}),
        Fault("GET", f"{base}/comments", 403, {"Retry-After": "1"}),  # a secondary rate limit
        Fault("GET", f"{base}/reviews", 502),
        Fault("POST", f"{base}/reviews", 502, landed=True),  # it landed, then the proxy failed
    ]
    started = time.monotonic()
    result = pr.run(pr.checkout())
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started >= 2  # both Retry-After waits were honoured
    assert len(server.reviews) == 1
    assert server.faults == []
    assert len(server.fingerprints()) == len(set(server.fingerprints())) == 2


def test_a_refused_batch_is_posted_one_by_one_dropping_only_the_refused(github):
    server, _ = github
    pr = _open(github)
    base = f"/repos/{server.repository}/pulls/{NUMBER}"
    server.faults += [Fault("POST", f"{base}/reviews", 422),
                      Fault("POST", f"{base}/comments", 422)]
    result = pr.run(pr.checkout())
    assert result.returncode == 1, result.stderr
    assert len(server.comments) == 1  # two comments, the first refused
    body = next(r["body"] for r in server.reviews if "refused" in r["body"])
    assert "refused by GitHub and left out" in body


def test_a_pending_review_left_by_a_dead_run_is_cleared(github):
    server, _ = github
    pr = _open(github)
    pull = server.pulls[NUMBER]
    server.reviews.append(server._review(pull, "github-actions[bot]", "", pr.sha("refs/heads/feature"),
                                         "PENDING"))
    result = pr.run(pr.checkout())
    assert result.returncode == 1, result.stderr
    assert [r["state"] for r in server.reviews] == ["COMMENTED"]


def test_a_full_checkout_and_dry_run(github):
    server, _ = github
    pr = _open(github)
    env = pr.checkout(shallow=False)
    del env["GITHUB_TOKEN"]
    result = pr.run(env, "--dry-run", "--fail-on", "never")
    assert result.returncode == 0, result.stderr
    assert "```suggestion" in result.stdout and "(dry run)" in result.stdout
    assert server.log == []


def test_the_base_revision_chooses_the_configuration_not_the_pull_request(github):
    server, _ = github
    pr = _open(github)
    pr.write("pyproject.toml", "[tool.remora-review]\nignore = [\"RR\"]\n")
    pr.commit("try to switch the bot off")
    result = pr.run(pr.checkout())
    assert result.returncode == 1, result.stderr
    assert len(server.comments) == 2


def test_the_token_never_reaches_output(github):
    pr = _open(github)
    env = pr.checkout()
    result = pr.run(env, "-v")
    texts = [result.stdout, result.stderr, Path(env["GITHUB_STEP_SUMMARY"]).read_text("utf-8")]
    texts += [p.read_text("utf-8", "replace") for p in Path(env["GITHUB_WORKSPACE"]).rglob("*")
              if p.is_file()]
    assert not any(WRITE_TOKEN in t for t in texts)


def test_the_composite_actions_review_step_runs_as_written(github):
    """action.yml's review step, run with bash as the runner would, inputs at their defaults."""
    import os
    import subprocess
    import sys

    import yaml

    server, _ = github
    pr = _open(github)
    action = yaml.safe_load((Path(__file__).resolve().parents[2] / "action.yml").read_text("utf-8"))
    text = json.dumps(action["runs"])
    assert all(f"inputs.{name}" in text for name in action["inputs"])  # every input is used
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "review")
    defaults = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    step_env = {key: re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: defaults[m.group(1)], value)
                for key, value in step["env"].items()}
    job = pr.checkout()
    step_env["GITHUB_TOKEN"] = job["GITHUB_TOKEN"]  # `${{ github.token }}` on a runner
    output = Path(job["GITHUB_WORKSPACE"]).parent / "github-output"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env = {**inherited, **job, **step_env, "GITHUB_OUTPUT": str(output),
           "XDG_RUNTIME_DIR": str(pr.runtime),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", step["run"]], cwd=job["GITHUB_WORKSPACE"], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr
    assert len(server.reviews) == 1 and len(server.comments) == 2
    assert output.read_text("utf-8") == "sarif=remora-review.sarif\n"
    assert (Path(job["GITHUB_WORKSPACE"]) / "remora-review.sarif").is_file()


def test_commit_mode_pushes_one_fast_forward_commit_with_the_fixes(github):
    server, _ = github
    pr = _open(github)
    head = pr.sha("refs/heads/feature")
    result = pr.run(pr.checkout(), "--mode", "commit", "--fail-on", "never")
    assert result.returncode == 0, result.stderr
    assert "Pushed" in result.stdout
    new = pr.sha("refs/heads/feature")
    assert git(pr.origin, "rev-parse", f"{new}^").strip() == head and server.forced == 0
    message = git(pr.origin, "log", "-1", "--format=%B", new)
    assert "- shop/audit.py: 1 fixes" in message and "- shop/service.py: 1 fixes" in message
    for path, signature in (("shop/audit.py", "def record(db: Session, row):"),
                            ("shop/service.py", "def save(s: Session, row):")):
        text = _head_text(pr, path)
        compile(text, path, "exec")
        assert signature in text
    assert server.reviews == []
    # Run again on the new head: nothing is left to fix, nothing is pushed.
    again = pr.run(pr.checkout(), "--mode", "commit")
    assert again.returncode == 0, again.stderr
    assert "Nothing to fix." in again.stdout and pr.sha("refs/heads/feature") == new


def test_commit_mode_never_overwrites_a_branch_that_moved_on(github):
    server, _ = github
    pr = _open(github)
    env = pr.checkout()
    pr.write("shop/other.py", "x = 1\n")
    moved = pr.commit("the author pushed meanwhile")
    result = pr.run(env, "--mode", "commit")
    assert result.returncode == 1, result.stderr
    assert "not pushed" in result.stdout and "moved on" in result.stdout
    assert pr.sha("refs/heads/feature") == moved and server.forced == 0


def test_a_rebase_and_force_push_posts_nothing_twice(github):
    server, _ = github
    pr = _open(github)
    assert pr.run(pr.checkout()).returncode == 1
    pr.switch("main")
    pr.write("shop/models.py", "# models\n" + MODELS)
    pr.commit("main moves on")
    pr.switch("feature")
    git(pr.dev, "rebase", "-q", "main")
    git(pr.dev, "push", "-q", "--force", "origin", "feature")
    result = pr.run(pr.checkout())
    assert result.returncode == 1, result.stderr
    assert "Nothing new to post" in result.stdout
    assert len(server.reviews) == 1 and server.refused == []


def test_sarif_mode_needs_no_token_and_sends_no_request(github):
    server, _ = github
    pr = _open(github)
    env = pr.checkout()
    del env["GITHUB_TOKEN"]
    result = pr.run(env, "--mode", "sarif")
    assert result.returncode == 1, result.stderr
    assert result.stdout.count("::warning file=") == 2
    assert server.log == []
    sarif = json.loads((Path(env["GITHUB_WORKSPACE"]) / "remora-review.sarif").read_text("utf-8"))
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"]} == {"shop/audit.py", "shop/service.py"}
