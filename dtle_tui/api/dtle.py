"""DtleClient: dtle's own API (`GET /v2/monitor/task`, docs/reference/dtle-monitor.md §1) and the way to each node's.

Two ways, from the setting `dtle_api` (config/sources.py):
- a URL: every request goes to that one API (a single-node cluster, or a proxy). dtle looks the
  allocation up in Nomad itself and forwards to the right node when it must (§1.3).
- `nodes` / `nodes:PORT`: ask the dtle API of the node that runs the allocation, at the host of the
  node's `HTTPAddr` (/v1/node/<id>) and the port given, or the port of `api_addr` in that node's
  `/v1/agent/self` dtle plugin config, 8190 by default (§5). `nomad_http_address` is passed as that dtle's
  own `nomad_addr`, so dtle answers locally and never forwards: its forwarding loops (and hangs) on
  multi-host clusters whose `nomad_addr` is the default 127.0.0.1:4646 (§1.3).

TLS and timeouts are Nomad's settings. The Nomad token goes to a node's Nomad agent (agent/self, an
`agent:read` call) but never to dtle unless `send_nomad_token_to_dtle` is set: dtle 3.21.08+ wants none.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import httpx

from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.http import build_ssl_context, decode_json, looks_like_html, status_error, transport_error
from dtle_tui.model.monitor import (
    DEFAULT_DTLE_API_PORT,
    DtlePluginConfig,
    TaskMonitor,
    dtle_plugin_config,
    error_message,
    host_of,
    node_http_addr,
    parse_task_monitor,
)
from dtle_tui.model.wire import ParseError
from dtle_tui.text.secrets import add_secret

if TYPE_CHECKING:
    from dtle_tui.api.nomad import NomadClient
    from dtle_tui.config.settings import Settings

SERVICE = "dtle API"
NODE_CACHE_S = 300.0  # a node's address and plugin config hardly change: look them up again after this


@dataclass(frozen=True)
class Target:
    """Where to ask about one allocation: the API's base URL and the `nomad_http_address` to pass."""

    base: str
    nomad_http_address: Optional[str] = None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class DtleClient:
    def __init__(self, settings: Settings, nomad: NomadClient) -> None:
        mode = settings.dtle_api or ""
        self.nodes_mode = mode == "nodes" or mode.startswith("nodes:")
        self.fixed_port = int(mode[6:]) if mode.startswith("nodes:") else None
        self.url = None if self.nodes_mode else mode.rstrip("/")
        self.nomad = nomad
        self.timeout = settings.timeout
        self.nomad_scheme = "https" if settings.nomad.addr.startswith("https:") else "http"
        tls = settings.nomad.tls
        uses_tls = (self.url or "").startswith("https:") or self.nomad_scheme == "https"
        verify = build_ssl_context(tls) if uses_tls else False
        self._extensions = {"sni_hostname": tls.server_name} if tls.server_name and uses_tls else {}
        headers = {"User-Agent": "dtle-tui"}
        token = settings.nomad.token
        add_secret(token)
        if token and settings.dtle_api_nomad_token:
            headers["X-Nomad-Token"] = token
        # Both clients talk to addresses learnt from the cluster or the setting: no HTTP(S)_PROXY games.
        self._dtle = httpx.AsyncClient(headers=headers, verify=verify, timeout=httpx.Timeout(self.timeout),
                                       follow_redirects=False, trust_env=False,
                                       limits=httpx.Limits(max_connections=16, max_keepalive_connections=8))
        agent_headers = {"User-Agent": "dtle-tui"}
        if token:
            agent_headers["X-Nomad-Token"] = token  # a Nomad agent: the token it needs for agent/self
        self._agents = httpx.AsyncClient(headers=agent_headers, verify=verify, timeout=httpx.Timeout(self.timeout),
                                         follow_redirects=False, trust_env=False)
        self._nodes: dict[str, tuple[float, Target]] = {}  # node ID -> (looked up at, target)
        self._locks: dict[str, asyncio.Lock] = {}

    # ---- where -------------------------------------------------------------------------------------
    async def target(self, node_id: str) -> Target:
        """Where to ask about an allocation on `node_id` (cached per node; `forget` after a failure)."""
        if not self.nodes_mode:
            assert self.url is not None
            return Target(self.url)
        lock = self._locks.setdefault(node_id, asyncio.Lock())
        async with lock:  # the tasks of one node wait for one lookup instead of each making its own
            held = self._nodes.get(node_id)
            if held is not None and time.monotonic() - held[0] < NODE_CACHE_S:
                return held[1]
            return await self._look_up(node_id)

    async def _look_up(self, node_id: str) -> Target:
        node = (await self.nomad.node(node_id)).value
        http_addr = node_http_addr(node)
        if not http_addr:
            raise ApiError(SERVICE, ErrorKind.BAD_RESPONSE, None, f"node {node_id[:8]} has no HTTPAddr in Nomad")
        plugin = await self._plugin_config(http_addr)
        port = self.fixed_port or plugin.api_port or DEFAULT_DTLE_API_PORT
        target = Target(f"http://{_url_host(host_of(http_addr))}:{port}", plugin.nomad_addr)
        self._nodes[node_id] = (time.monotonic(), target)
        return target

    async def _plugin_config(self, http_addr: str) -> DtlePluginConfig:
        """The node's dtle plugin config; dtle's defaults when its agent cannot tell (no agent:read, an
        older agent): with `nodes:PORT` the port is known anyway, and 8190 is dtle's documented one."""
        url = f"{self.nomad_scheme}://{http_addr}/v1/agent/self"
        try:
            response = await self._agents.get(url, extensions=dict(self._extensions))
        except (httpx.HTTPError, ssl.SSLError):
            return DtlePluginConfig()
        if response.status_code != 200 or looks_like_html(response, response.content):
            return DtlePluginConfig()
        try:
            return dtle_plugin_config(response.json())
        except ValueError:
            return DtlePluginConfig()

    def forget(self, node_id: str) -> None:
        self._nodes.pop(node_id, None)

    # ---- the call ----------------------------------------------------------------------------------
    async def monitor_task(self, target: Target, alloc_id: str, task: str) -> TaskMonitor:
        """GET /v2/monitor/task for one task. ApiError for every failure, with dtle's own message."""
        params = {"allocation_id": alloc_id, "task_name": task}
        if target.nomad_http_address:
            params["nomad_http_address"] = target.nomad_http_address
        url = f"{target.base}/v2/monitor/task"
        try:
            response = await self._dtle.get(url, params=params, extensions=dict(self._extensions))
        except (httpx.HTTPError, ssl.SSLError) as exc:
            raise transport_error(SERVICE, target.base, exc, self.timeout) from None
        if response.status_code != 200:
            body = response.content
            if not looks_like_html(response, body):
                try:
                    message = error_message(decode_json(SERVICE, response))
                except ApiError:
                    message = ""
                if message:  # every dtle error is {"message": …} (§1.5)
                    raise ApiError(SERVICE, ErrorKind.SERVER_ERROR if response.status_code >= 500
                                   else ErrorKind.BAD_REQUEST, response.status_code, message)
            raise status_error(SERVICE, response, body, None)
        try:
            return parse_task_monitor(decode_json(SERVICE, response, dict))
        except ParseError as exc:
            raise ApiError(SERVICE, ErrorKind.BAD_RESPONSE, 200, f"an unexpected answer: {exc}") from None

    async def aclose(self) -> None:
        await self._dtle.aclose()
        await self._agents.aclose()
