"""The pull request a GitHub Actions `pull_request` job is about, read from its environment."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remora_review.errors import UserError

DEFAULT_API_URL = "https://api.github.com"
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class PullRequestJob:
    """Everything the review needs to know about where it runs; no token (that stays apart)."""

    repository: str  # owner/name of the base repository, where the review is posted
    number: int
    base_sha: str  # the base branch's tip when the event fired
    head_sha: str  # the PR head: what is reviewed, and the review's commit_id
    head_ref: str  # the head branch (commit mode pushes there)
    head_repository: str  # owner/name the head branch lives in (another one for a fork)
    api_url: str  # REST root: https://api.github.com, or https://HOST/api/v3 on Enterprise Server
    graphql_url: str
    workspace: Path
    step_summary: Path | None  # GITHUB_STEP_SUMMARY: Markdown shown on the job's page
    merge_sha: str | None  # GITHUB_SHA: the test merge commit the job checked out

    @property
    def from_fork(self) -> bool:
        return self.head_repository.lower() != self.repository.lower()


@dataclass(frozen=True)
class Overrides:
    """What the command line may say instead of the environment."""

    repository: str | None = None
    number: int | None = None
    base: str | None = None
    head: str | None = None
    api_url: str | None = None


def _graphql_url(api_url: str) -> str:
    # github.com: api.github.com/graphql; Enterprise Server: HOST/api/v3 -> HOST/api/graphql.
    if api_url.endswith("/api/v3"):
        return api_url[: -len("/v3")] + "/graphql"
    return api_url + "/graphql"


def _read_event(path: str) -> Mapping[str, Any]:
    try:
        event = json.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise UserError(f"GITHUB_EVENT_PATH {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"GITHUB_EVENT_PATH {path} is not a JSON event: {e}") from None
    if not isinstance(event, dict):
        raise UserError(f"GITHUB_EVENT_PATH {path} is not a JSON object")
    return event


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _sha(value: object, what: str) -> str:
    if not isinstance(value, str) or not _SHA.match(value):
        raise UserError(f"{what} is not a commit id: {value!r}")
    return value


def pull_request_job(environ: Mapping[str, str], overrides: Overrides = Overrides()) -> PullRequestJob:
    """The job's pull request: flags first, then GITHUB_EVENT_PATH's `pull_request`, then the rest
    of the GITHUB_* variables. Missing pieces are one clear error."""
    event_path = environ.get("GITHUB_EVENT_PATH")
    event = _read_event(event_path) if event_path else {}
    pr = event.get("pull_request")
    if event_path and not isinstance(pr, dict) and overrides.number is None:
        name = environ.get("GITHUB_EVENT_NAME", "this event")
        raise UserError(f"{name} is not a pull request event: run `review` on pull_request "
                        "(or pass --pr, --base and --head)")
    pr = pr if isinstance(pr, dict) else {}

    repository = (overrides.repository or environ.get("GITHUB_REPOSITORY")
                  or _get(event, "repository", "full_name"))
    if not isinstance(repository, str) or not _REPOSITORY.match(repository):
        raise UserError("no repository: set GITHUB_REPOSITORY=owner/name or pass --repository")
    number = overrides.number if overrides.number is not None else pr.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise UserError("no pull request number: run on a pull_request event or pass --pr N")
    base = overrides.base or _get(pr, "base", "sha")
    head = overrides.head or _get(pr, "head", "sha")
    if not base or not head:
        raise UserError("no base or head commit: run on a pull_request event or pass --base and --head")
    head_repo = _get(pr, "head", "repo", "full_name")
    api_url = (overrides.api_url or environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    if not api_url.startswith(("https://", "http://")):
        raise UserError(f"GITHUB_API_URL is not an http(s) URL: {api_url!r}")
    summary = environ.get("GITHUB_STEP_SUMMARY")
    merge = environ.get("GITHUB_SHA")
    return PullRequestJob(
        repository=repository,
        number=number,
        base_sha=_sha(base, "the base") if not overrides.base else base,
        head_sha=_sha(head, "the head") if not overrides.head else head,
        head_ref=str(_get(pr, "head", "ref") or ""),
        head_repository=head_repo if isinstance(head_repo, str) else repository,
        api_url=api_url,
        graphql_url=(environ.get("GITHUB_GRAPHQL_URL") or _graphql_url(api_url)).rstrip("/"),
        workspace=Path(environ.get("GITHUB_WORKSPACE") or "."),
        step_summary=Path(summary) if summary else None,
        merge_sha=merge if merge and _SHA.match(merge) else None,
    )


def require_token(token: str | None) -> str:
    if not token or not token.strip():
        raise UserError("no GitHub token: set GITHUB_TOKEN (in a workflow: "
                        "`env: GITHUB_TOKEN: ${{ github.token }}`) or pass --github-token")
    return token.strip()
