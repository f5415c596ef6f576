"""Which Nomad ACL capability a request needs, to say what a refused token lacks (issue 18).

Nomad answers a token without the capability with a bare 403 `Permission denied`; the operator then
needs the capability's name to ask for the right policy. Names as in Nomad's ACL policies: namespace
capabilities (list-jobs, read-job, submit-job, read-logs, read-fs, alloc-lifecycle) and the node and
agent rules (node:read, node:write, agent:read). docs/reference/nomad-api.md §4-§6 gives the capability per endpoint.
"""

from __future__ import annotations

from typing import Optional


def needed(method: str, path: str) -> Optional[str]:
    """The capability `method path` needs on Nomad, or None when it needs none we know of."""
    reading = method.upper() in ("GET", "HEAD")
    if path == "/v1/jobs":
        return "list-jobs" if reading else "submit-job"
    if path.startswith("/v1/job/"):
        return "read-job" if reading else "submit-job"
    if path == "/v1/allocations" or path.startswith("/v1/allocation/"):
        return "read-job" if reading else "alloc-lifecycle"
    if path.startswith("/v1/client/allocation/"):
        return "read-job" if path.endswith("/stats") else "alloc-lifecycle"
    if path.startswith("/v1/client/fs/logs/"):
        return "read-logs"
    if path.startswith("/v1/client/fs/"):
        return "read-fs"
    if path == "/v1/nodes" or path.startswith("/v1/node/") or path.startswith("/v1/client/"):
        return "node:read" if reading else "node:write"
    if path.startswith("/v1/agent/"):
        return "agent:read" if reading else "agent:write"
    if path == "/v1/event/stream":
        return "read-job (and node:read for the Node topic)"
    return None


def refusal_hint(method: str, path: str, body: str, token_set: bool) -> Optional[str]:
    """What to tell the operator about a 403/ACL 500 from Nomad: the missing capability when a known
    token was refused, else what is wrong with the token itself."""
    if not token_set:
        return "no token is set: set NOMAD_TOKEN"
    if "ermission denied" in body:
        capability = needed(method, path)
        if capability:
            return f"the token needs {capability}"
    return "check NOMAD_TOKEN"
