"""The github3.py session's retries against the local GitHub: what is waited out, what is not."""

from __future__ import annotations

import time

import pytest

from remora_review.github.event import PullRequestJob
from remora_review.github.host import GitHubHost, HostError, RetryingAdapter
from tests.github.conftest import NUMBER, READ_TOKEN, WRITE_TOKEN
from tests.github.fake_github import Fault


def _host(server, pr, token: str) -> tuple[GitHubHost, list[float]]:
    waits: list[float] = []
    adapter = RetryingAdapter(sleep=waits.append, backoff=0.01)
    job = PullRequestJob(server.repository, NUMBER, pr.sha("refs/heads/main"),
                         pr.sha("refs/heads/feature"), "feature", server.repository, server.url,
                         f"{server.url}/graphql", pr.tmp, None, None)
    return GitHubHost(job, token, adapter), waits


@pytest.fixture
def opened(github):
    server, pr = github
    pr.write("a.py", "x = 1\n")
    pr.commit("base")
    pr.branch("feature")
    pr.write("a.py", "x = 2\n")
    pr.commit("feature")
    pr.open()
    return server, pr


def test_a_permission_403_is_not_retried_and_reads_as_read_only(opened):
    server, pr = opened
    host, waits = _host(server, pr, READ_TOKEN)
    with pytest.raises(HostError) as error:
        host.create_review("body", [])
    assert error.value.status == 403 and error.value.read_only
    assert waits == [] and server.counts()["POST /repos/acme/shop/pulls/N/reviews"] == 1


def test_rate_limits_are_waited_out_for_as_long_as_github_says(opened):
    server, pr = opened
    base = f"/repos/{server.repository}/pulls/{NUMBER}"
    reset = str(int(time.time()) + 3)
    server.faults += [Fault("GET", base, 429, {"Retry-After": "7"}),
                      Fault("GET", base, 403, {"X-RateLimit-Remaining": "0",
                                               "X-RateLimit-Reset": reset}),
                      Fault("GET", base, 403, {"Retry-After": "2"})]
    host, waits = _host(server, pr, WRITE_TOKEN)
    assert host.pull().number == NUMBER
    assert waits[0] == 7 and 1 <= waits[1] <= 5 and waits[2] == 2
    assert host.requests_sent == 4


def test_a_5xx_is_retried_on_reads_but_a_post_is_left_to_the_caller(opened):
    server, pr = opened
    base = f"/repos/{server.repository}/pulls/{NUMBER}"
    server.faults += [Fault("GET", f"{base}/reviews", 503, times=2),
                      Fault("POST", f"{base}/reviews", 502)]
    host, waits = _host(server, pr, WRITE_TOKEN)
    assert host.posted("github-actions[bot]") == []
    assert len(waits) == 2
    with pytest.raises(HostError) as error:
        host.create_review("body", [])
    assert error.value.status == 502
    assert server.counts()["POST /repos/acme/shop/pulls/N/reviews"] == 1 and server.reviews == []


def test_a_wrong_commit_and_a_second_pending_review_are_refused(opened):
    server, pr = opened
    host, _ = _host(server, pr, WRITE_TOKEN)
    pull = server.pulls[NUMBER]
    server.reviews.append(server._review(pull, "github-actions[bot]", "", pr.sha("refs/heads/feature"),
                                         "PENDING"))
    with pytest.raises(HostError, match="one pending review"):
        host.create_review("body", [])
    server.reviews.clear()
    stale = GitHubHost(
        PullRequestJob(server.repository, NUMBER, pr.sha("refs/heads/main"),
                       pr.sha("refs/heads/main"), "feature", server.repository, server.url,
                       f"{server.url}/graphql", pr.tmp, None, None), WRITE_TOKEN)
    with pytest.raises(HostError, match="422"):
        stale.create_review("body", [])
