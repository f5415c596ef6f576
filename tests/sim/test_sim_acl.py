"""The simulator's policy-scoped tokens (issue 18): who may read and write what, refused as Nomad does."""

from __future__ import annotations

import pytest

from dtle_tui.sim import SimCluster
from tests.helpers import loopback

TOKENS = {"read": "7c1d0e22-0000-4d6e-9f0a-6f1c2b3d4e01", "write": "7c1d0e22-0000-4d6e-9f0a-6f1c2b3d4e02",
          "management": "7c1d0e22-0000-4d6e-9f0a-6f1c2b3d4e03"}
DENIED = (403, "Permission denied")


def ask(sim, kind, method, path, **params):
    headers = {"X-Nomad-Token": TOKENS[kind]} if kind in TOKENS else ({"X-Nomad-Token": kind} if kind else {})
    answer = loopback.request(method, sim.nomad_addr + path, headers=headers, params=params, timeout=5)
    return answer.status_code, answer.text


def stream_status(sim, kind, topics) -> tuple:
    params = [("index", "0")] + [("topic", t) for t in topics]
    with loopback.stream("GET", sim.nomad_addr + "/v1/event/stream", params=params,
                      headers={"X-Nomad-Token": TOKENS[kind]}, timeout=5) as answer:
        if answer.status_code != 200:
            answer.read()
            return answer.status_code, answer.text
        return 200, next(answer.iter_lines())


@pytest.fixture(params=["1.1", "0.11"])
def sim(request):
    with SimCluster(dialect=request.param, seed=2, frozen=True,
                    acl_tokens={s: k for k, s in TOKENS.items()}) as cluster:
        yield cluster


@pytest.mark.parametrize("kind", ["read", "write", "management"])
def test_reads_by_token_kind(sim, kind):
    job_alloc = sim.scenario.allocations("job1")[0].id
    assert ask(sim, kind, "GET", "/v1/jobs")[0] == 200
    assert ask(sim, kind, "GET", "/v1/job/job1")[0] == 200
    assert ask(sim, kind, "GET", "/v1/allocations")[0] == 200
    assert ask(sim, kind, "GET", f"/v1/allocation/{job_alloc}")[0] == 200
    management = kind == "management"
    for path in ("/v1/nodes", "/v1/agent/self"):
        assert (ask(sim, kind, "GET", path)[0] == 200) if management else ask(sim, kind, "GET", path) == DENIED
    logs = ask(sim, kind, "GET", f"/v1/client/fs/logs/{job_alloc}", task="dest", type="stdout", plain="true")
    assert (logs == DENIED) is (kind == "read")


@pytest.mark.parametrize("kind,allowed", [("read", False), ("write", True), ("management", True)])
def test_writes_need_submit_job(sim, kind, allowed):
    status, body = ask(sim, kind, "DELETE", "/v1/job/job1")
    assert (status == 200) is allowed and (allowed or (status, body) == DENIED)
    assert sim.scenario.job("job1")["Stop"] is allowed


def test_who_the_token_is_comes_first(sim):
    assert ask(sim, None, "GET", "/v1/jobs") == DENIED
    assert ask(sim, "0b6f0ac6-4bd1-4a4e-a47d-7b3c7a7f9d11", "GET", "/v1/jobs") == (403, "ACL token not found")
    assert ask(sim, "not-a-uuid", "GET", "/v1/jobs") == (
        500, "acl token lookup failed: index error: UUID must be 36 characters")


def test_the_stream_refuses_topics_the_token_cannot_read(sim):
    if sim.dialect != "1.1.2":
        assert ask(sim, "management", "GET", "/v1/event/stream")[0] == 404
        return
    everything = ["Job", "Allocation", "Node", "Evaluation"]
    assert stream_status(sim, "read", everything) == (500, "Permission denied")
    assert stream_status(sim, "read", ["Job"]) == (200, "{}")
    assert stream_status(sim, "read", ["Job", "Allocation", "Evaluation"]) == (200, "{}")
    assert stream_status(sim, "write", everything) == (500, "Permission denied")
    assert stream_status(sim, "management", everything) == (200, "{}")
