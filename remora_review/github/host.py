"""GitHub through github3.py: the pull request's existing review, posting one, resolving threads.

github3.py retries nothing, so its session gets an adapter that waits out rate limits (429, and
403 with Retry-After or an exhausted quota) and retries 5xx on reads. A POST that failed with 5xx
may still have landed: the caller looks before posting again. Endpoints and fields github3.py
lacks (line-based comments, deleting a pending review, GraphQL) go through its own session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from requests.adapters import HTTPAdapter

from remora_review.github.event import PullRequestJob
from remora_review.github.suggestions import InlineComment, markers_in

if TYPE_CHECKING:
    import requests
    from github3.pulls import PullRequest

# The identity GITHUB_TOKEN posts as; GET /user is refused for it, so it cannot be asked.
ACTIONS_BOT = "github-actions[bot]"
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

_THREADS = """query ReviewThreads($owner: String!, $name: String!, $number: Int!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $cursor) {
        pageInfo { hasNextPage endCursor }
        nodes { id isResolved comments(first: 1) { nodes { body author { login } } } }
      }
    }
  }
}"""
_RESOLVE = """mutation ResolveThread($id: ID!) {
  resolveReviewThread(input: {threadId: $id}) { thread { id isResolved } }
}"""


class HostError(Exception):
    """GitHub refused or failed a call; `status` is the HTTP status (0: no response)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    @property
    def read_only(self) -> bool:
        return self.status in (403, 404)


class RetryingAdapter(HTTPAdapter):
    """Waits out rate limits on every request and retries 5xx where repeating is harmless."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep, attempts: int = 5,
                 backoff: float = 1.0, max_wait: float = 120.0) -> None:
        super().__init__()
        self.sleep, self.attempts, self.backoff, self.max_wait = sleep, attempts, backoff, max_wait
        self.sent = 0  # every HTTP request that went out, retries included
        self.waited = 0.0

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
             ) -> requests.Response:
        for attempt in range(self.attempts):
            response = super().send(request, *args, **kwargs)
            self.sent += 1
            wait = self._wait(request, response, attempt)
            if wait is None or attempt == self.attempts - 1 or self.waited + wait > self.max_wait:
                return response
            response.close()
            self.waited += wait
            self.sleep(wait)
        raise AssertionError("unreachable")

    def _wait(self, request: requests.PreparedRequest, response: requests.Response,
              attempt: int) -> float | None:
        status, headers = response.status_code, response.headers
        after = _seconds(headers.get("Retry-After"))
        if status == 429 or (status == 403 and after is not None):
            return after if after is not None else self.backoff * 2 ** attempt
        if status == 403 and headers.get("X-RateLimit-Remaining") == "0":
            reset = _seconds(headers.get("X-RateLimit-Reset"))
            return max(reset - time.time(), 0.0) + 1.0 if reset is not None else None
        graphql = (request.url or "").rstrip("/").endswith("/graphql")
        if status >= 500 and (request.method in _IDEMPOTENT or graphql):
            return after if after is not None else self.backoff * 2 ** attempt
        return None


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Posted:
    """Something of ours already on the pull request."""

    fingerprints: frozenset[str]
    kind: str  # "comment" | "review"
    id: int
    commit_id: str | None
    state: str = ""  # a review's state: PENDING, COMMENTED...


@dataclass(frozen=True)
class Thread:
    id: str
    resolved: bool
    fingerprints: frozenset[str]


class GitHubHost:
    """One pull request on GitHub (or Enterprise Server), through one github3.py session."""

    def __init__(self, job: PullRequestJob, token: str, adapter: RetryingAdapter | None = None,
                 timeout: float = 30.0) -> None:
        import github3
        from github3.session import GitHubSession

        self.job = job
        self.adapter = adapter or RetryingAdapter()
        session = GitHubSession(default_connect_timeout=timeout, default_read_timeout=timeout)
        session.base_url = job.api_url
        session.mount("https://", self.adapter)
        session.mount("http://", self.adapter)
        self.gh = github3.GitHub(token=token, session=session)
        self.session = session
        self._pull: PullRequest | None = None
        self.owner, self.name = job.repository.split("/", 1)

    @property
    def requests_sent(self) -> int:
        return self.adapter.sent

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        import github3.exceptions as gex

        try:
            return fn()
        except gex.ResponseError as e:
            raise HostError(e.code, f"{what}: {_message(e.response)}") from None
        except gex.ConnectionError as e:
            raise HostError(0, f"{what}: cannot reach {self.job.api_url}: {type(e).__name__}") from None

    def pull(self) -> PullRequest:
        if self._pull is None:
            pull = self._call("reading the pull request",
                              lambda: self.gh.pull_request(self.owner, self.name, self.job.number))
            if pull is None:
                raise HostError(404, f"pull request {self.job.repository}#{self.job.number} not found")
            self._pull = pull
        return self._pull

    def login(self) -> str:
        """Who the token posts as: GET /user for a personal token; GITHUB_TOKEN may not ask."""
        import github3.exceptions as gex

        try:
            me = self.gh.me()
        except (gex.ForbiddenError, gex.AuthenticationFailed, gex.NotFoundError):
            return ACTIONS_BOT
        except gex.ResponseError as e:
            raise HostError(e.code, f"reading the token's user: GitHub answered {e.code}") from None
        return me.login if me is not None else ACTIONS_BOT

    def posted(self, login: str) -> list[Posted]:
        """Our comments and reviews on the pull request (those `login` wrote that carry markers)."""
        pull = self.pull()
        out = []
        for c in self._call("listing review comments", lambda: list(pull.review_comments())):
            if c.user.login == login and markers_in(c.body):
                out.append(Posted(markers_in(c.body), "comment", c.id, c.commit_id))
        for r in self._call("listing reviews", lambda: list(pull.reviews())):
            if r.user.login == login:
                out.append(Posted(markers_in(r.body), "review", r.id, r.commit_id, r.state))
        return out

    def delete_pending(self, review_id: int) -> None:
        """A pending review of ours (from a run that died) blocks every new one: GitHub allows one."""
        url = self.session.build_url("repos", self.owner, self.name, "pulls", str(self.job.number),
                                     "reviews", str(review_id))
        response = self.session.delete(url)
        if response.status_code not in (200, 204):
            raise HostError(response.status_code, f"deleting pending review {review_id}: "
                            f"GitHub answered {response.status_code}")

    def create_review(self, body: str, comments: Sequence[InlineComment]) -> int:
        """POST one review (event COMMENT) on the head commit; its id."""
        pull = self.pull()
        review = self._call("posting the review", lambda: pull.create_review(
            body, commit_id=self.job.head_sha, event="COMMENT",
            comments=[c.to_api() for c in comments]))
        return int(review.id)

    def create_comment(self, comment: InlineComment) -> int:
        """POST one line-based review comment (github3.py's create_review_comment takes a
        diff position only)."""
        url = self.session.build_url("repos", self.owner, self.name, "pulls", str(self.job.number),
                                     "comments")
        response = self.session.post(url, json={**comment.to_api(), "commit_id": self.job.head_sha})
        if response.status_code != 201:
            raise HostError(response.status_code, _message(response))
        return int(response.json()["id"])

    def push_commit(self, files: Mapping[str, tuple[str, str]], base_tree: str, message: str) -> str:
        """One commit on top of the head with `files` ({path: (text, mode)}), through the Git
        Data API, and a fast-forward of the head branch to it (never forced); its sha."""
        repo = self.pull().head.repository
        entries = []
        for path, (text, mode) in sorted(files.items()):
            sha = self._call("uploading a file", partial(repo.create_blob, text, "utf-8"))
            entries.append({"path": path, "mode": mode, "type": "blob", "sha": sha})
        tree = self._call("writing the tree", lambda: repo.create_tree(entries, base_tree=base_tree))
        commit = self._call("writing the commit", lambda: repo.create_commit(
            message, tree.sha, [self.job.head_sha]))
        ref = self._call("reading the branch", lambda: repo.ref(f"heads/{self.job.head_ref}"))
        if ref is None or ref.object.sha != self.job.head_sha:
            raise HostError(409, f"the branch {self.job.head_ref} moved on since "
                            f"{self.job.head_sha[:12]}; nothing was pushed")
        self._call("pushing the commit", lambda: ref.update(commit.sha, force=False))
        return str(commit.sha)

    def threads(self) -> Iterator[Thread]:
        """Review threads with the fingerprints of their first comment, through GraphQL."""
        cursor = None
        while True:
            data = self._graphql(_THREADS, {"owner": self.owner, "name": self.name,
                                            "number": self.job.number, "cursor": cursor})
            page = data["repository"]["pullRequest"]["reviewThreads"]
            for node in page["nodes"]:
                first = (node["comments"]["nodes"] or [{}])[0]
                author = (first.get("author") or {}).get("login")
                yield Thread(node["id"], bool(node["isResolved"]),
                             markers_in(first.get("body")) if author else frozenset())
            if not page["pageInfo"]["hasNextPage"]:
                return
            cursor = page["pageInfo"]["endCursor"]

    def resolve(self, thread_id: str) -> None:
        self._graphql(_RESOLVE, {"id": thread_id})

    def _graphql(self, query: str, variables: dict[str, Any]) -> Any:
        response = self.session.post(self.job.graphql_url, json={"query": query,
                                                                 "variables": variables})
        if response.status_code != 200:
            raise HostError(response.status_code, f"GraphQL: {_message(response)}")
        payload = response.json()
        if payload.get("errors"):
            first = payload["errors"][0]
            forbidden = first.get("type") in ("FORBIDDEN", "NOT_FOUND")
            raise HostError(403 if forbidden else 422, f"GraphQL: {first.get('message')}")
        return payload["data"]


def _message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"GitHub answered {response.status_code}"
    detail = data.get("message", "") if isinstance(data, dict) else ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors:
        first = errors[0]
        detail += f" ({first.get('message', first) if isinstance(first, dict) else first})"
    return f"GitHub answered {response.status_code}: {detail}".rstrip(": ")
