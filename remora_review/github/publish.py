"""Post a planned review once: only new findings, never twice, fixed findings' threads resolved."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from remora_review.github.host import GitHubHost, HostError, Posted
from remora_review.github.suggestions import InlineComment, Leftover, ReviewPlan
from remora_review.github.summary import RUN_MARKER

Body = Callable[[Sequence[InlineComment], Sequence[Leftover], Sequence[str], str], str]


@dataclass(frozen=True)
class Published:
    """What posting did. `read_only`: the token may not write here (a fork's pull request)."""

    review_id: int | None = None
    comments: int = 0  # inline comments posted
    leftovers: int = 0  # findings posted in the body
    already: int = 0  # findings already on the pull request from earlier runs
    resolved: int = 0  # threads of fixed findings resolved
    dropped: tuple[str, ...] = ()  # comments GitHub refused, each with its reason
    notes: tuple[str, ...] = field(default=())
    read_only: bool = False


def _ours(posted: Sequence[Posted]) -> frozenset[str]:
    return frozenset(fp for p in posted if p.state != "PENDING" for fp in p.fingerprints)


def publish(host: GitHubHost, plan: ReviewPlan, body: Body) -> Published:
    """Post the plan's new findings as one review on the head commit."""
    try:
        login = host.login()
        posted = host.posted(login)
    except HostError as e:
        if e.read_only:
            return Published(read_only=True, notes=(str(e),))
        raise
    notes: list[str] = []
    for pending in (p for p in posted if p.kind == "review" and p.state == "PENDING"):
        host.delete_pending(pending.id)
        notes.append(f"deleted a pending review {pending.id} left by an earlier run")
    seen = _ours(posted)
    resolved = _resolve_fixed(host, posted, plan.fingerprints, notes)
    comments = [c for c in plan.comments if c.fingerprint not in seen]
    leftovers = [x for x in plan.leftovers if x.fingerprint not in seen]
    already = len(plan.fingerprints & seen)
    if not comments and not leftovers:
        return Published(already=already, resolved=resolved, notes=tuple(notes))
    run_id = uuid.uuid4().hex
    try:
        review_id = _post_once(host, body(comments, leftovers, notes, run_id), comments, run_id)
    except HostError as e:
        if e.read_only:
            return Published(read_only=True, notes=(*notes, str(e)))
        if e.status != 422:
            raise
        return _one_by_one(host, comments, leftovers, body, notes, already, resolved, str(e))
    return Published(review_id, len(comments), len(leftovers), already, resolved, (), tuple(notes))


def _post_once(host: GitHubHost, text: str, comments: Sequence[InlineComment], run_id: str) -> int:
    """POST the review; after a 5xx, look whether it landed before posting it again."""
    for _ in range(3):
        try:
            return host.create_review(text, comments)
        except HostError as e:
            if e.status < 500:
                raise
            landed = _landed(host, run_id)
            if landed is not None:
                return landed
            last = e
    raise last


def _landed(host: GitHubHost, run_id: str) -> int | None:
    marker = f"<!-- {RUN_MARKER}: {run_id} -->"
    pull = host.pull()
    for review in pull.reviews():
        if marker in (review.body or ""):
            return int(review.id)
    return None


def _one_by_one(host: GitHubHost, comments: Sequence[InlineComment], leftovers: Sequence[Leftover],
                body: Body, notes: list[str], already: int, resolved: int, why: str) -> Published:
    """GitHub refused the batch (422): post each comment alone, keep those it takes, and put the
    refused ones in the body with GitHub's reason."""
    notes.append(f"GitHub refused the review as a whole ({why}); comments were posted one by one")
    posted, dropped = 0, []
    moved = list(leftovers)
    for comment in comments:
        try:
            host.create_comment(comment)
            posted += 1
        except HostError as e:
            if e.status != 422:
                raise
            dropped.append(f"{comment.path}:{comment.line}: {e}")
    notes.extend(f"refused by GitHub and left out: {d}" for d in dropped)
    review_id = host.create_review(body([], moved, notes, uuid.uuid4().hex), [])
    return Published(review_id, posted, len(moved), already, resolved, tuple(dropped), tuple(notes))


def _resolve_fixed(host: GitHubHost, posted: Sequence[Posted], current: frozenset[str],
                   notes: list[str]) -> int:
    """Resolve the threads of our inline comments whose findings are gone."""
    stale = {fp for p in posted if p.kind == "comment" for fp in p.fingerprints} - current
    if not stale:
        return 0
    count = 0
    try:
        for thread in host.threads():
            if not thread.resolved and thread.fingerprints and thread.fingerprints <= stale:
                host.resolve(thread.id)
                count += 1
    except HostError as e:
        notes.append(f"could not resolve the threads of fixed findings: {e}")
    return count
