"""`remora-review review`: a pull request's review, as a GitHub Actions `pull_request` job runs it.

The flow: the job's pull request (event file, flags) -> enough history -> review() of the PR head
against the merge base -> a plan of inline comments and suggestions checked against the diff ->
SARIF always, then one review posted (or printed with --dry-run); where the token cannot write,
annotations and the job summary instead. The exit code follows --fail-on.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from remora_review.errors import UserError
from remora_review.findings import Finding, Severity

if TYPE_CHECKING:
    from remora_review.config import Settings
    from remora_review.github.event import PullRequestJob
    from remora_review.github.publish import Published
    from remora_review.github.suggestions import ReviewPlan
    from remora_review.output import Report

FAIL_ON = ("error", "warning", "never")
MODES = ("review", "commit", "sarif")
_FAILS = {"error": {Severity.ERROR}, "warning": {Severity.ERROR, Severity.WARNING},
          "never": set()}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("review", help="review a pull request and post it (GitHub Actions)")
    p.add_argument("--mode", choices=MODES, default="review",
                   help="review: post a review (default); commit: push the fixes as one commit to "
                   "the PR branch; sarif: SARIF, annotations and summary only")
    p.add_argument("--repository", help="owner/name (default: GITHUB_REPOSITORY)")
    p.add_argument("--pr", type=int, help="pull request number (default: from GITHUB_EVENT_PATH)")
    p.add_argument("--base", help="base commit (default: the event's base sha)")
    p.add_argument("--head", help="head commit (default: the event's head sha)")
    p.add_argument("--api-url", help="REST API root (default: GITHUB_API_URL)")
    p.add_argument("--github-token", help="token (default: GITHUB_TOKEN); never printed")
    p.add_argument("--max-comments", type=int, default=25,
                   help="inline comments at most; the rest go in the review body (default 25)")
    p.add_argument("--sarif", type=Path, help="where to write SARIF "
                   "(default: remora-review.sarif in GITHUB_WORKSPACE)")
    p.add_argument("--fail-on", choices=FAIL_ON, default="warning",
                   help="exit 1 when findings reach this level (default warning)")
    p.add_argument("--filter-mode", choices=("added", "diff_context", "file"))
    p.add_argument("--dry-run", action="store_true", help="print the review; post nothing")
    p.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    p.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(handler=run)


def _job(args: argparse.Namespace, environ: Mapping[str, str]) -> PullRequestJob:
    from remora_review.github.event import Overrides, pull_request_job

    if args.max_comments < 0:
        raise UserError("--max-comments must be 0 or more")
    return pull_request_job(environ, Overrides(args.repository, args.pr, args.base, args.head,
                                               args.api_url))


def _settings(args: argparse.Namespace, root: Path, base: str) -> Settings:
    """The configuration as the base revision has it: the pull request's own files are PR content
    and must not choose packs or settings. An absolute --config path (outside the checkout) is
    read from disk; a relative one, like pyproject.toml by default, from the base commit."""
    from remora_review.config import Settings, load_settings, parse_settings
    from remora_review.config_file import config_from_text

    config: Path | None = getattr(args, "config", None)
    if config is not None and config.is_absolute():
        settings = load_settings(config, root)
    else:
        name = config.as_posix() if config is not None else "pyproject.toml"
        text = _base_file(root, base, name)
        settings = Settings()
        if text is None and config is not None:
            raise UserError(f"config file {name} is not in the base commit {base[:12]}")
        if text is not None:
            config_file = config_from_text(text, name, f"{name} at the base {base[:12]}")
            settings = parse_settings(dict(config_file.table), config_file.source)
    if args.filter_mode is not None:
        settings = settings.model_copy(update={"filter_mode": args.filter_mode})
    return settings


def _base_file(root: Path, base: str, name: str) -> str | None:
    from remora_review.github.history import run_git

    if name.startswith(("-", "/")) or ".." in Path(name).parts:
        raise UserError(f"--config {name}: give a path inside the repository, or an absolute one")
    status, out = run_git(root, "show", f"{base}:{name}", ok=(0, 128))
    if status != 0:
        return None
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{name} at the base {base[:12]} is not UTF-8") from None


def run(args: argparse.Namespace, environ: Mapping[str, str] = os.environ,
        out: TextIO = sys.stdout) -> int:
    from remora_review.github.event import require_token
    from remora_review.github.history import ensure_history, repo_root

    job = _job(args, environ)
    # No token is a usage error before anything is read or written; --dry-run and the sarif mode
    # talk to no server.
    posts = not args.dry_run and args.mode != "sarif"
    token = require_token(args.github_token or environ.get("GITHUB_TOKEN")) if posts else None
    if posts and importlib.util.find_spec("github3") is None:
        raise UserError("posting to GitHub needs github3.py: pip install 'remora-review[github]'")
    root = repo_root(job.workspace.resolve())
    base, head = _resolve(root, job.base_sha), _resolve(root, job.head_sha)
    ensure_history(root, base, head)
    job = _with_commits(job, base, head)
    settings = _settings(args, root, base)
    if args.mode == "commit" and not args.dry_run:
        assert token is not None
        return _commit(args, job, token, root, settings, out)
    items, texts, hunks, notes = _review(root, base, head, settings)
    from remora_review.github.suggestions import plan_review

    plan = plan_review(items, texts, hunks, args.max_comments)
    report = _report(items, notes)
    sarif_path = args.sarif or job.workspace / "remora-review.sarif"
    _write_sarif(report, sarif_path)
    fails = any(f.severity in _FAILS[args.fail_on] for f, _ in items)

    if args.dry_run:
        out.write(_dry_run(job, plan, items, notes))
        return 1 if fails else 0
    if args.mode == "sarif":
        _fallback(job, report, out, f"{len(items)} findings; SARIF written to {sarif_path}")
        return 1 if fails else 0
    assert token is not None
    published = _publish(job, token, plan, items, notes)
    for note in published.notes:
        print(f"remora-review: {note}", file=sys.stderr)
    if published.read_only:
        _fallback(job, report, out, "The token cannot write to this pull request (a fork's?), so "
                  f"the findings are annotations here and SARIF in {sarif_path.name}.")
    else:
        _summary(job, items, notes, _posted_line(published))
        out.write(_posted_line(published) + "\n")
    return 1 if fails else 0


def _resolve(root: Path, rev: str) -> str:
    from remora_review.github.history import run_git

    if rev.startswith("-"):
        raise UserError(f"not a revision: {rev}")
    status, stdout = run_git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}",
                                ok=(0, 1, 128))
    # A sha from the event may be missing from a shallow clone: history.py fetches it.
    return stdout.decode().strip() if status == 0 else rev


def _with_commits(job: PullRequestJob, base: str, head: str) -> PullRequestJob:
    from dataclasses import replace

    return replace(job, base_sha=base, head_sha=head)


def _review(root: Path, base: str, head: str, settings: Settings) -> tuple[
        list[tuple[Finding, str]], dict[str, str], dict[str, tuple], list[str]]:
    """review() of base...head: (finding, fingerprint) pairs, the head's texts, hunks, notes."""
    from remora_review.changes import range_changes
    from remora_review.github.suggestions import hunks_from_lines
    from remora_review.review import Checked, review

    changeset = range_changes(root, f"{base}...{head}")
    result = review(root, changeset, settings)
    items = [(r.finding, r.fingerprint) for r in result.findings]
    texts = {c.path: c.source.text for c in result.files if isinstance(c, Checked)}
    hunks = {f.path: hunks_from_lines(f.hunk_lines) for f in changeset.files}
    return items, texts, hunks, list(result.notes)


def _commit(args: argparse.Namespace, job: PullRequestJob, token: str, root: Path,
            settings: Settings, out: TextIO) -> int:
    """Apply the fixes and push them as one commit on the PR branch (a fast-forward, never
    forced); the findings left (those without a fix) decide the exit code."""
    from remora_review.changes import range_changes
    from remora_review.github.history import run_git
    from remora_review.github.host import GitHubHost, HostError
    from remora_review.review import Reviewed, review

    changes = range_changes(root, f"{job.base_sha}...{job.head_sha}")
    sarif_path = args.sarif or job.workspace / "remora-review.sarif"

    def finish(reviewed: Sequence[Reviewed], notes: Sequence[str], line: str) -> int:
        items = [(r.finding, r.fingerprint) for r in reviewed]
        report = _report(items, notes)
        _write_sarif(report, sarif_path)
        _fallback(job, report, out, line)
        return 1 if any(f.severity in _FAILS[args.fail_on] for f, _ in items) else 0

    # Findings as the branch has them: what stands when nothing gets pushed.
    before = review(root, changes, settings)
    if not any(r.finding.fix for r in before.findings):
        return finish(before.findings, before.notes, "Nothing to fix.")
    if job.from_fork:
        return finish(before.findings, before.notes,
                      "The fixes were not pushed: the branch is in a fork.")
    result = review(root, changes, settings, fix=True)
    fixed = result.fixed
    if not fixed:  # every fix was dropped (it would not parse, or clashed)
        return finish(before.findings, before.notes, "No fix could be applied.")
    files = {}
    for checked in fixed:
        assert checked.fixed_source is not None
        text = checked.fixed_source.replace("\n", checked.source.newline)
        _, entry = run_git(root, "ls-tree", job.head_sha, "--", checked.path)
        mode = "100755" if entry.startswith(b"100755") else "100644"
        files[checked.path] = (("\ufeff" if checked.source.bom else "") + text, mode)
    _, tree = run_git(root, "rev-parse", f"{job.head_sha}^{{tree}}")
    total = sum(c.fixes_applied for c in fixed)
    message = "\n".join([f"remora-review: apply {total} fixes in {len(fixed)} files", "",
                         *(f"- {c.path}: {c.fixes_applied} fixes" for c in fixed), "",
                         f"Reviewed {job.base_sha[:12]}...{job.head_sha[:12]}."])
    try:
        sha = GitHubHost(job, token).push_commit(files, tree.decode().strip(), message)
    except HostError as e:
        if not e.read_only and e.status not in (409, 422):
            raise UserError(f"pushing the fixes failed: {e}") from None
        return finish(before.findings, before.notes, f"The fixes were not pushed: {e}")
    # What is left after the fixes, at the lines of the pushed commit.
    return finish(result.findings, result.notes,
                  f"Pushed {sha[:12]} to {job.head_ref}: {total} fixes in {len(fixed)} files.")


def _report(items: Sequence[tuple[Finding, str]], notes: Sequence[str]) -> Report:
    from remora_review.output import Report

    return Report(findings=tuple(f for f, _ in items), fingerprints=tuple(fp for _, fp in items),
                  notes=tuple(notes))


def _write_sarif(report: Report, path: Path) -> None:
    from remora_review.fixes import write_atomic
    from remora_review.output.sarif import format_sarif

    try:
        write_atomic(path, format_sarif(report))
    except OSError as e:
        raise UserError(f"cannot write SARIF to {path}: {e.strerror}") from None


def _publish(job: PullRequestJob, token: str, plan: ReviewPlan,
             items: Sequence[tuple[Finding, str]], notes: Sequence[str]) -> Published:
    from remora_review.github.host import GitHubHost, HostError
    from remora_review.github.publish import publish
    from remora_review.github.summary import review_body

    host = GitHubHost(job, token)

    def body(comments: Sequence, leftovers: Sequence, extra: Sequence[str], run_id: str) -> str:
        return review_body(job.head_sha, comments, leftovers, len(items), [*notes, *extra], run_id)

    try:
        return publish(host, plan, body)
    except HostError as e:
        raise UserError(f"posting the review failed: {e}") from None


def _posted_line(p: Published) -> str:
    if p.review_id is None:
        line = f"Nothing new to post: {p.already} findings are already on the pull request."
    else:
        line = (f"Posted review {p.review_id}: {p.comments} inline comments, {p.leftovers} in the "
                f"body, {p.already} already posted.")
    if p.resolved:
        line += f" Resolved {p.resolved} threads of fixed findings."
    if p.dropped:
        line += f" GitHub refused {len(p.dropped)} comments (named in the review body)."
    return line


def _fallback(job: PullRequestJob, report: Report, out: TextIO, line: str) -> None:
    """Where nothing can be posted: workflow-command annotations and the job summary."""
    from remora_review.output.github import format_github

    out.write(format_github(report))
    _summary(job, list(zip(report.findings, report.fingerprints)), report.notes, line)
    out.write(line + "\n")


def _summary(job: PullRequestJob, items: Sequence[tuple[Finding, str]], notes: Sequence[str],
             line: str) -> None:
    from remora_review.github.summary import job_summary

    if job.step_summary is None:
        return
    try:
        with job.step_summary.open("a", encoding="utf-8") as fh:  # other steps append here too
            fh.write(job_summary(items, line, notes))
    except OSError as e:
        print(f"remora-review: cannot write the job summary: {e.strerror}", file=sys.stderr)


def _dry_run(job: PullRequestJob, plan: ReviewPlan, items: Sequence[tuple[Finding, str]],
             notes: Sequence[str]) -> str:
    from remora_review.github.summary import review_body

    lines = [f"Review of {job.repository}#{job.number} at {job.head_sha[:12]} (dry run):", ""]
    for c in plan.comments:
        where = f"{c.path}:{c.start_line}-{c.line}" if c.start_line else f"{c.path}:{c.line}"
        lines += [f"--- comment on {where}", c.body, ""]
    lines += ["--- review body", review_body(job.head_sha, plan.comments, plan.leftovers,
                                            len(items), notes, "dry-run")]
    return "\n".join(lines) + "\n"
