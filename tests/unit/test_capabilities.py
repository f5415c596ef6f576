"""Which capability a refused Nomad request lacked (issue 18), for the hint beside Nomad's verbatim refusal."""

from __future__ import annotations

import pytest

from dtle_tui.api.capabilities import needed, refusal_hint


@pytest.mark.parametrize("method,path,capability", [
    ("GET", "/v1/jobs", "list-jobs"),
    ("POST", "/v1/jobs", "submit-job"),
    ("GET", "/v1/job/job1", "read-job"),
    ("DELETE", "/v1/job/job1", "submit-job"),
    ("GET", "/v1/job/job1/allocations", "read-job"),
    ("GET", "/v1/allocations", "read-job"),
    ("POST", "/v1/allocation/0b6f0ac6-4bd1-4a4e-a47d-7b3c7a7f9d11/stop", "alloc-lifecycle"),
    ("POST", "/v1/client/allocation/0b6f0ac6-4bd1-4a4e-a47d-7b3c7a7f9d11/restart", "alloc-lifecycle"),
    ("GET", "/v1/client/allocation/0b6f0ac6-4bd1-4a4e-a47d-7b3c7a7f9d11/stats", "read-job"),
    ("GET", "/v1/client/fs/logs/0b6f0ac6-4bd1-4a4e-a47d-7b3c7a7f9d11", "read-logs"),
    ("GET", "/v1/nodes", "node:read"),
    ("POST", "/v1/node/0b6f0ac6-4bd1-4a4e-a47d-7b3c7a7f9d11/drain", "node:write"),
    ("POST", "/v1/node/0b6f0ac6-4bd1-4a4e-a47d-7b3c7a7f9d11/eligibility", "node:write"),
    ("GET", "/v1/agent/self", "agent:read"),
])
def test_each_endpoint_names_its_capability(method, path, capability):
    assert needed(method, path) == capability


def test_the_hint_names_the_capability_only_for_a_known_token_refused():
    assert refusal_hint("DELETE", "/v1/job/x", "Permission denied", True) == "the token needs submit-job"
    assert refusal_hint("DELETE", "/v1/job/x", "Permission denied", False) == "no token is set: set NOMAD_TOKEN"
    assert refusal_hint("GET", "/v1/jobs", "ACL token not found", True) == "check NOMAD_TOKEN"
    assert refusal_hint("GET", "/v1/jobs", "acl token lookup failed: index error: UUID must be 36 characters",
                        True) == "check NOMAD_TOKEN"
