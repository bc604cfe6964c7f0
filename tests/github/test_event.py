"""The pull request of a `pull_request` job, from the environment GitHub Actions gives it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from remora_review.errors import UserError
from remora_review.github.event import Overrides, pull_request_job

BASE, HEAD, MERGE = "a" * 40, "b" * 40, "c" * 40


def _event(tmp_path: Path, payload: object) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), "utf-8")
    return {"GITHUB_EVENT_PATH": str(path), "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REPOSITORY": "acme/shop", "GITHUB_SHA": MERGE,
            "GITHUB_WORKSPACE": str(tmp_path), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}


PAYLOAD = {"number": 7, "pull_request": {
    "number": 7, "title": "x",
    "base": {"sha": BASE, "ref": "main", "repo": {"full_name": "acme/shop"}},
    "head": {"sha": HEAD, "ref": "feature", "repo": {"full_name": "someone/shop"}}}}


def test_a_pull_request_job(tmp_path: Path) -> None:
    job = pull_request_job(_event(tmp_path, PAYLOAD))
    assert (job.repository, job.number, job.base_sha, job.head_sha) == ("acme/shop", 7, BASE, HEAD)
    assert job.merge_sha == MERGE and job.head_ref == "feature"
    assert job.from_fork
    assert job.api_url == "https://api.github.com"
    assert job.graphql_url == "https://api.github.com/graphql"
    assert job.step_summary == tmp_path / "summary.md"


def test_enterprise_server_urls(tmp_path: Path) -> None:
    env = {**_event(tmp_path, PAYLOAD), "GITHUB_API_URL": "https://ghe.example.com/api/v3/"}
    job = pull_request_job(env)
    assert job.api_url == "https://ghe.example.com/api/v3"
    assert job.graphql_url == "https://ghe.example.com/api/graphql"


def test_flags_stand_in_for_the_event() -> None:
    job = pull_request_job({"GITHUB_REPOSITORY": "acme/shop"},
                           Overrides(number=3, base="main", head="feature"))
    assert (job.number, job.base_sha, job.head_sha, job.from_fork) == (3, "main", "feature", False)


@pytest.mark.parametrize(("payload", "env", "message"), [
    ({"ref": "refs/heads/main"}, {}, "not a pull request event"),
    (PAYLOAD, {"GITHUB_REPOSITORY": "no-slash"}, "no repository"),
    ({"pull_request": {**PAYLOAD["pull_request"], "number": "7"}}, {}, "no pull request number"),
    ({"pull_request": {"number": 7, "base": {"sha": "zz"}, "head": {"sha": HEAD}}}, {},
     "not a commit id"),
    (PAYLOAD, {"GITHUB_API_URL": "file:///etc"}, "not an http(s) URL"),
])
def test_bad_environments_are_one_clear_error(tmp_path: Path, payload: object,
                                              env: dict[str, str], message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pull_request_job({**_event(tmp_path, payload), **env})


def test_a_missing_or_broken_event_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        pull_request_job({"GITHUB_EVENT_PATH": str(tmp_path / "nope.json")})
    (tmp_path / "bad.json").write_text("{", "utf-8")
    with pytest.raises(UserError, match="not a JSON event"):
        pull_request_job({"GITHUB_EVENT_PATH": str(tmp_path / "bad.json")})
