"""AgentMonitor: a client agent's log, live, from `GET /v1/agent/monitor` (both Nomad dialects).

dtle writes its lines into the Nomad client agent's log, not into the task's stdout or stderr; Nomad
streams that log live (never its history) at /v1/agent/monitor, `node_id` naming the client (the servers
forward), `log_level` the minimum level (docs/reference/agent-monitor.md). The answer never ends by
itself: iterate it in a task and cancel the task (or `aclose()`) to stop. Under ACLs the route needs
`agent:read`; a refusal is an ApiError whose one line names that capability.

    monitor = AgentMonitor(settings.nomad)
    async with monitor.follow(node_id, "debug") as stream:
        async for lines in stream:          # list[AgentLogLine], in order, as they arrive
            kept = AllocationLog(alloc_id, job_id, task).pick(lines)
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Optional

import httpx

from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.http import ServiceHttp, transport_error
from dtle_tui.model.agentlog import LEVELS, AgentLogLine, MonitorDecoder

if TYPE_CHECKING:
    from dtle_tui.config.settings import NomadSettings

SERVICE = "Nomad"
CAPABILITY = "agent:read"


def refusal_hint(method: str, path: str, body: str, token_set: bool) -> str:
    """The monitor needs agent:read: say so whatever the refusal (no token, or a token without it)."""
    if not token_set:
        return f"no token is set: set NOMAD_TOKEN to a token with {CAPABILITY}"
    if "ACL token not found" in body or "acl token lookup failed" in body:
        return "check NOMAD_TOKEN: Nomad does not know this token"
    return f"the token needs {CAPABILITY} (an agent {{ policy = \"read\" }} rule) to read the agent's log"


class AgentMonitor:
    """One HTTP client for the monitor streams of a cluster (the servers forward to each node)."""

    def __init__(self, settings: NomadSettings, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._http = ServiceHttp(SERVICE, settings, timeout, "X-Nomad-Token", None)
        self._http.hint_for = refusal_hint
        self._params = {"region": settings.region} if settings.region else {}

    @property
    def addr(self) -> str:
        return self._http.addr

    def follow(self, node_id: str, log_level: str = "info", *, plain: bool = False,
               read_timeout: Optional[float] = None) -> AgentLogStream:
        """The live log of the client `node_id` from `log_level` up. `plain`: ask for the lines as text
        instead of frames (the same lines either way). `read_timeout`: seconds of silence before a
        TIMEOUT ApiError; None (the default) waits for ever: an idle agent writes nothing, and a plain
        stream carries no heartbeat."""
        if log_level.lower() not in LEVELS:
            raise ValueError(f"log_level must be one of {', '.join(LEVELS)}")
        return AgentLogStream(self, node_id, log_level.lower(), plain, read_timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AgentMonitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AgentLogStream:
    """Async iterator of batches of AgentLogLine, each batch what one read of the stream completed.
    The iteration ends when the agent closes the stream (a restart, a proxy): open a new one to go on."""

    def __init__(self, monitor: AgentMonitor, node_id: str, log_level: str, plain: bool,
                 read_timeout: Optional[float]) -> None:
        self._monitor = monitor
        self.node_id, self.log_level, self.plain, self.read_timeout = node_id, log_level, plain, read_timeout
        self.decoder = MonitorDecoder(framed=not plain)
        self._response: Optional[httpx.Response] = None
        self._chunks = None
        self.closed = False

    def request(self) -> httpx.Request:
        """The request this stream sends (a dialog can print it)."""
        params = dict(self._monitor._params, node_id=self.node_id, log_level=self.log_level)
        if self.plain:
            params["plain"] = "true"
        return self._monitor._http.build("GET", "/v1/agent/monitor", params=params, read_timeout=self.read_timeout)

    async def open(self) -> None:
        """Connect now (iteration connects lazily): a refusal or an unknown node surfaces here."""
        if self._chunks is not None:
            return
        self._response = await self._monitor._http.send(self.request(), stream=True)
        self._chunks = self._response.aiter_bytes()

    def __aiter__(self) -> AgentLogStream:
        return self

    async def __anext__(self) -> list[AgentLogLine]:
        http = self._monitor._http
        while True:
            if self.closed:
                raise StopAsyncIteration
            await self.open()
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                rest = self.decoder.close()
                await self.aclose()
                if rest:
                    return rest
                raise
            except httpx.TimeoutException:
                await self.aclose()
                silence = f"nothing on the agent's log stream for {self.read_timeout:g}s"
                raise ApiError(SERVICE, ErrorKind.TIMEOUT, None, silence, addr=http.addr) from None
            except (httpx.HTTPError, ssl.SSLError) as exc:
                await self.aclose()
                raise transport_error(SERVICE, http.addr, exc, http.timeout) from None
            try:
                lines = self.decoder.feed(chunk)
            except ValueError as exc:
                await self.aclose()
                raise ApiError(SERVICE, ErrorKind.BAD_RESPONSE, 200, f"an unreadable agent log stream: {exc}",
                               addr=http.addr) from None
            if lines:
                return lines

    async def aclose(self) -> None:
        self.closed = True
        if self._response is not None:
            response, self._response = self._response, None
            await response.aclose()

    async def __aenter__(self) -> AgentLogStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
