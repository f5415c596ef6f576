"""Policy-scoped Nomad ACL tokens (issue 18): what each kind of token may do, and how Nomad refuses.

The refusals are the recorded ones (reference/real-nomad/*/acl_answers.json, nomad-api.md §2): no token
403 `Permission denied`, an unknown token 403 `ACL token not found`, a token that is not a UUID 500
`acl token lookup failed: index error: UUID must be 36 characters`, and a known token without the
capability 403 `Permission denied`. The event stream checks its topics when it subscribes and answers
500 `Permission denied` for a topic the token cannot read (nomad/event_endpoint.go@v1.1.2
aclCheckForEvents: Job, Allocation, Evaluation and Deployment need `read-job`, Node `node:read`, all
topics a management token).

Token kinds, as operators write their policies:
- read: `namespace "default" { policy = "read" }` — list-jobs, read-job; no node, agent or logs.
- write: `namespace "default" { policy = "write" }` — adds submit-job, alloc-lifecycle, read-logs and
  read-fs; still no node or agent rules.
- management: everything.
"""

from __future__ import annotations

import uuid

READ = frozenset({"list-jobs", "read-job"})
WRITE = READ | {"submit-job", "dispatch-job", "read-logs", "read-fs", "alloc-lifecycle", "alloc-exec"}
KINDS = {"read": READ, "write": WRITE, "management": None}  # None: every capability

DENIED = "Permission denied"
NOT_FOUND = "ACL token not found"
MALFORMED = "acl token lookup failed: index error: UUID must be 36 characters"

# The topics each capability lets a subscription read.
TOPIC_NEEDS = {"Job": "read-job", "Allocation": "read-job", "Evaluation": "read-job", "Deployment": "read-job",
               "Node": "node:read", "NodeDrain": "node:read", "*": "management"}


def needed(method: str, path: str) -> str | None:
    """The capability a request needs (None: no ACL check, e.g. /v1/status/leader)."""
    reading = method in ("GET", "HEAD")
    if path in ("/v1/status/leader", "/v1/regions", "/v1/event/stream"):
        return None  # the stream checks its topics itself
    if path == "/v1/jobs":
        return "list-jobs" if reading else "submit-job"
    if path.startswith("/v1/job/"):
        return "read-job" if reading else "submit-job"
    if path == "/v1/allocations" or path.startswith("/v1/allocation/"):
        return "read-job" if reading else "alloc-lifecycle"
    if path == "/v1/nodes" or path.startswith("/v1/node/"):
        return "node:read" if reading else "node:write"
    if path.startswith("/v1/agent/"):
        return "agent:read" if reading else "agent:write"
    if path.startswith("/v1/client/fs/"):
        return "read-logs" if "/logs/" in path else "read-fs"
    if path.startswith("/v1/client/allocation/"):
        return "read-job" if path.endswith("/stats") else "alloc-lifecycle"
    if path.startswith("/v1/client/"):
        return "node:read"
    if path == "/v1/namespaces":
        return "list-jobs"
    return "management"


def allows(kind: str, capability: str | None) -> bool:
    if capability is None:
        return True
    granted = KINDS.get(kind, frozenset())
    if granted is None:
        return True
    return capability in granted


def stream_allows(kind: str, topics) -> bool:
    """aclCheckForEvents: every topic asked for must be readable, or the subscription is refused."""
    return all(allows(kind, TOPIC_NEEDS.get(topic, "management")) for topic in topics)


def accessor(secret: str) -> str:
    """The token's AccessorID (public, unlike the SecretID): what 1.1.2 stores in a job's NomadTokenID."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, "nomad-acl-accessor:" + secret))
