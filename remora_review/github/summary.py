"""Markdown for people: the review's body and the job summary (GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from collections.abc import Sequence

from remora_review.findings import Finding
from remora_review.github.suggestions import InlineComment, Leftover, fence_for, marker

# GitHub refuses a review body over 65,536 characters; leave room for the closing lines.
MAX_BODY = 60_000
RUN_MARKER = "remora-review run"


def _one_line(text: str) -> str:
    return " ".join(text.replace("<!--", "&lt;!--").split())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _leftover(item: Leftover) -> str:
    f = item.finding
    lines = [f"- `{f.path}:{f.line}` **{f.code}** {_one_line(f.message)} ({item.reason})"]
    if item.patch:
        fence = fence_for(item.patch)
        lines += ["  <details><summary>suggested patch</summary>", "",
                  f"  {fence}diff", *(f"  {p}" for p in item.patch.splitlines()), f"  {fence}",
                  "  </details>"]
    lines.append(f"  {marker(item.fingerprint)}")
    return "\n".join(lines)


def review_body(head_sha: str, comments: Sequence[InlineComment], leftovers: Sequence[Leftover],
                total: int, notes: Sequence[str], run_id: str) -> str:
    """The body of one review: counts, the findings that are not inline, notes, the run marker."""
    head = (f"**remora-review** found {_plural(total, 'finding')} on {head_sha[:12]}; "
            f"this review adds {_plural(len(comments), 'inline comment')}")
    head += f" and {len(leftovers)} below." if leftovers else "."
    parts = [head]
    if leftovers:
        parts.append("#### Not inline")
        parts.extend(_leftover(x) for x in leftovers)
    if notes:
        parts.append("#### Notes")
        parts.extend(f"- {_one_line(n)}" for n in notes)
    closing = f"<!-- {RUN_MARKER}: {run_id} -->"
    body = "\n\n".join(parts)
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY].rsplit("\n", 1)[0] + "\n\n… (cut: GitHub's limit on a review body)"
    return f"{body}\n\n{closing}"


def job_summary(findings: Sequence[tuple[Finding, str]], posted: str, notes: Sequence[str]) -> str:
    """All findings as a table, and what happened to the review."""
    out = ["## remora-review", "", posted, ""]
    if findings:
        out += ["| file | line | code | message |", "| --- | --- | --- | --- |"]
        for f, _ in sorted(findings, key=lambda p: (p[0].path, p[0].line, p[0].code)):
            message = _one_line(f.message).replace("|", "\\|")
            out.append(f"| `{f.path}` | {f.line} | {f.code} | {message} |")
    else:
        out.append("No findings.")
    if notes:
        out += ["", *(f"- {_one_line(n)}" for n in notes)]
    return "\n".join(out) + "\n"
