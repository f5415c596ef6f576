"""Simulated Nomad HTTP API, 0.11.1 and 1.1.2 dialects (nomad-api.md §0-§9)."""

from __future__ import annotations

import random
import re
import threading
import time

from . import acl, shapes
from . import register as reg
from .agentlog import SERVER_LOG, monitor_endpoint
from .gocompat import GoParseError, parse_bool, parse_duration, parse_int, parse_uint
from .logs import logs_endpoint
from .server import JSON, Request, Response, json_response, text
from .state import dumps

UUID_RE = re.compile(r"^[0-9a-fA-F-]{36}$")
DEFAULT_WAIT, MAX_WAIT = 300.0, 600.0
NAMESPACES_112 = (b'[{"CreateIndex":1,"Description":"Default shared namespace",'
                  b'"Hash":"C7UbjDwBK0dK8wQq7Izg7SJIzaV+lIo2X7wRtzY3pSw=","ModifyIndex":1,"Name":"default",'
                  b'"Quota":""}]')


class NomadApi:
    def __init__(self, cluster, acl_token: str | None, stopping: threading.Event) -> None:
        self.cluster = cluster
        self.state = cluster.state
        self.dialect = cluster.state.dialect
        self.acl_token = acl_token
        # secret -> kind (acl.py: read, write, management); the plain `acl_token` is a management token
        self.acl_tokens: dict[str, str] = {acl_token: "management"} if acl_token else {}
        self.stopping = stopping
        self._jitter = random.Random(11)
        self.heartbeat_s = 30.0
        self._stream_generation = 0
        from .troubleshoot import TroubleshootApi

        self.troubleshoot = TroubleshootApi(self)

    # ---- plumbing ----------------------------------------------------------------------------------
    def meta(self, *tables: str) -> dict:
        return {"X-Nomad-Index": str(self.state.table_index(*tables)), "X-Nomad-Knownleader": "true",
                "X-Nomad-Lastcontact": "0"}

    def fault_body(self, status: int) -> Response:
        if status == 403:
            return text(403, "Permission denied")
        if status == 404:
            return Response(404, b"", None)
        if status == 500:
            return text(500, "rpc error: No cluster leader")
        return text(status, f"Unexpected response code: {status}")

    @property
    def acl_enabled(self) -> bool:
        return bool(self.acl_tokens)

    def _acl(self, request: Request) -> Response | None:
        """The token's check (acl.py): who it is, then whether its policy has the capability."""
        if not self.acl_tokens:
            return None
        token = request.headers.get("X-Nomad-Token") or ""
        if not token:
            return text(403, acl.DENIED)
        if len(token) != 36:
            return text(500, acl.MALFORMED)
        kind = self.acl_tokens.get(token)
        if kind is None:
            return text(403, acl.NOT_FOUND)
        if not acl.allows(kind, acl.needed(request.method, request.path)):
            return text(403, acl.DENIED)
        return None

    def _block(self, request: Request, *tables: str) -> Response | None:
        """index=&wait=: hold until the table index passes `index`, else time out with the same data (§3)."""
        wait = DEFAULT_WAIT
        if request.arg("wait") is not None:
            try:
                wait = parse_duration(request.arg("wait")) / 1e9
            except GoParseError:
                return text(400, "Invalid wait time")
        index = 0
        if request.arg("index") is not None:
            try:
                index = parse_uint(request.arg("index"))
            except GoParseError:
                return text(400, "Invalid index")
        if index > 0:
            wait = min(wait, MAX_WAIT) if wait > 0 else DEFAULT_WAIT
            wait += self._jitter.random() * wait / 16
            self.state.wait(tables, index, wait, self.stopping)
        return None

    def _read(self, request: Request, tables: tuple, build) -> Response:
        blocked = self._block(request, *tables)
        if blocked is not None:
            return blocked
        with self.state.lock:
            meta = self.meta(*tables)
            result = build()
        if isinstance(result, Response):
            result.headers.update(meta)
            return result
        return Response(200, result, JSON, meta)

    def _namespace_ok(self, request: Request) -> bool:
        ns = request.arg("namespace") or "default"
        if ns == "*":
            return self.dialect == "1.1.2"  # 0.11 OSS has no namespaces: `*` matches nothing (§3)
        return ns == "default"

    # ---- routing -----------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/":
            return Response(307, b"", None, {"Location": "/ui/"})
        routed = self.troubleshoot.route(request)  # evaluations, stats, restart/stop, eligibility, drain
        if routed is not None:
            return routed
        if path == "/v1/status/leader":
            return json_response("127.0.0.1:4647")
        if path == "/v1/regions":
            return json_response(["global"])
        if path == "/v1/jobs":
            if method == "GET":
                return self._guard(request) or self.jobs(request)
            if method in ("PUT", "POST"):
                return self._guard(request) or self.register(request, None)
            return text(405, "Invalid method")
        if path.startswith("/v1/job/"):
            return self.job_routes(request, path[len("/v1/job/"):])
        if path == "/v1/allocations":
            return self._get_only(request) or self.allocations(request)
        if path.startswith("/v1/allocation/"):
            return self._get_only(request) or self.allocation(request, path[len("/v1/allocation/"):])
        if path == "/v1/nodes":
            return self._get_only(request) or self.nodes(request)
        if path.startswith("/v1/node/"):
            return self._get_only(request) or self.node(request, path[len("/v1/node/"):])
        if path == "/v1/agent/self":
            return self._get_only(request) or json_response(self.cluster.agent_self())
        if path == "/v1/agent/monitor":
            return self._get_only(request) or self.agent_monitor(request)
        if path == "/v1/namespaces":
            if self.dialect == "0.11.1":
                return text(501, "Nomad Enterprise only endpoint")
            return self._get_only(request) or Response(200, NAMESPACES_112, JSON, dict(
                self.meta("jobs"), **{"X-Nomad-Index": "1"}))  # the namespace table, written once
        if path == "/v1/event/stream" and self.dialect == "1.1.2":
            return self._get_only(request) or self.event_stream(request)
        if path.startswith("/v1/client/fs/logs/"):
            return self._get_only(request) or logs_endpoint(
                request, path[len("/v1/client/fs/logs/"):], self.state, self.cluster.logs, self.stopping)
        return Response(404, b"", None)  # unrouted: 404 with an empty body (§2)

    def _guard(self, request: Request) -> Response | None:
        return self._acl(request)

    def _get_only(self, request: Request) -> Response | None:
        if request.method != "GET":
            return text(405, "Invalid method")
        return self._acl(request)

    def job_routes(self, request: Request, rest: str) -> Response:
        for suffix in ("/allocations", "/summary"):
            if rest.endswith(suffix):
                job_id = rest[: -len(suffix)]
                denied = self._get_only(request)
                if denied:
                    return denied
                return self.job_allocations(request, job_id) if suffix == "/allocations" else \
                    self.job_summary(request, job_id)
        method = request.method
        if method not in ("GET", "PUT", "POST", "DELETE"):
            return text(405, "Invalid method")
        denied = self._acl(request)
        if denied:
            return denied
        if method == "GET":
            return self.job(request, rest)
        if method == "DELETE":
            return self.deregister(request, rest)
        return self.register(request, rest)

    # ---- reads -------------------------------------------------------------------------------------
    def jobs(self, request: Request) -> Response:
        prefix = request.arg("prefix", "")

        def build():
            if not self._namespace_ok(request):
                return b"[]"
            key = ("jobs", prefix)
            return self.state.cached(key, lambda: b"[" + b",".join(
                self.state.job_stub_bytes(r) for jid, r in sorted(self.state.jobs.items())
                if jid.startswith(prefix)) + b"]")
        return self._read(request, ("jobs", "job_summary"), build)

    def job(self, request: Request, job_id: str) -> Response:
        def build():
            record = self.state.jobs.get(job_id)
            return self.state.job_bytes(record) if record else text(404, "job not found")
        return self._read(request, ("jobs",), build)

    def job_summary(self, request: Request, job_id: str) -> Response:
        def build():
            record = self.state.jobs.get(job_id)
            return dumps(self.state.summary(record)) if record else text(404, "job not found")
        return self._read(request, ("job_summary",), build)

    def job_allocations(self, request: Request, job_id: str) -> Response:
        def build():
            record = self.state.jobs.get(job_id)
            if record is None:
                return b"[]"  # unknown job: 200 [] (§2)
            try:
                include_old = parse_bool(request.arg("all", "false"))
            except GoParseError:
                include_old = False  # `all=` treats bad values as false (§3)
            current = record.job["CreateIndex"]
            allocs = [a for a in record.allocs if include_old or a.job["CreateIndex"] == current]
            return b"[" + b",".join(a.stub_bytes() for a in allocs) + b"]"
        return self._read(request, ("allocs",), build)

    def allocations(self, request: Request) -> Response:
        prefix = request.arg("prefix", "")
        if len(prefix) % 2:
            prefix = prefix[:-1]  # nomad/alloc_endpoint.go: UUID prefixes are used at even length

        def build():
            if not self._namespace_ok(request):
                return b"[]"
            return self.state.cached(("allocs", prefix), lambda: b"[" + b",".join(
                a.stub_bytes() for a in sorted(self.state.allocs.values(), key=lambda a: a.id)
                if a.id.startswith(prefix)) + b"]")
        return self._read(request, ("allocs",), build)

    def allocation(self, request: Request, rest: str) -> Response:
        alloc_id, _, sub = rest.partition("/")
        if sub:
            return text(404, "resource not found")
        if len(alloc_id) != 36:
            return text(500, "alloc lookup failed: index error: UUID must be 36 characters")

        def build():
            alloc = self.state.allocs.get(alloc_id)
            return alloc.full_bytes() if alloc else text(404, "alloc not found")
        return self._read(request, ("allocs",), build)

    def nodes(self, request: Request) -> Response:
        prefix = request.arg("prefix", "")

        def build():
            return dumps([shapes.node_stub(self.dialect, n) for n in sorted(self.state.nodes, key=lambda n: n.id)
                          if n.id.startswith(prefix)])
        return self._read(request, ("nodes",), build)

    def node(self, request: Request, rest: str) -> Response:
        node_id, _, sub = rest.partition("/")

        def build():
            node = next((n for n in self.state.nodes if n.id == node_id), None)
            if node is None:
                return text(404, "node not found")
            if sub == "allocations":
                return b"[" + b",".join(a.full_bytes() for a in self.state.allocs.values() if a.node is node) + b"]"
            if sub:
                return Response(404, b"", None)
            return dumps(shapes.node_full(self.dialect, node))
        return self._read(request, ("nodes",) if not sub else ("allocs",), build)

    def agent_monitor(self, request: Request) -> Response:
        """The servers forward a `node_id` to that client; without one, their own log (no dtle in it)."""
        node_id = request.arg("node_id") or ""
        with self.state.lock:
            node = next((n for n in self.state.nodes if n.id == node_id), None)
        if node_id and node is not None and node.status == "down":
            return text(404, "No path to node")  # no client connection (nomad/client_agent_endpoint.go)
        log = node.id if node is not None else (None if node_id else SERVER_LOG)
        return monitor_endpoint(request, self.cluster.agent_logs, log, not node_id or node is not None,
                                self.stopping)

    # ---- writes ------------------------------------------------------------------------------------
    def register(self, request: Request, path_id: str | None) -> Response:
        try:
            payload = reg.parse_body(request.body, self.dialect)
            spec = payload["Job"]
            if path_id is not None and spec["ID"] != path_id:
                raise reg.RegisterError(400, "Job ID does not match name")
            if request.arg("region"):
                spec["Region"] = request.arg("region")
            job = shapes.canonical_job(self.dialect, spec)
            if self.dialect == "1.1.2" and self.acl_tokens:  # the registering token's accessor
                job["NomadTokenID"] = acl.accessor(request.headers.get("X-Nomad-Token") or "")
            reg.validate(job)
            body = reg.register(self.state, self.cluster.driver, job, self.cluster.node_for)
        except reg.RegisterError as exc:
            return text(exc.status, exc.message)
        return json_response(body, headers={"X-Nomad-Index": str(body["Index"])})

    def deregister(self, request: Request, job_id: str) -> Response:
        purge = False
        if request.arg("purge") is not None:
            raw = request.arg("purge")
            try:
                purge = parse_bool(raw)
            except GoParseError as exc:
                return text(500, f'Failed to parse value of "purge" ("{raw}") as a bool: {exc}')
        body = reg.deregister(self.state, self.cluster.driver, job_id, purge)
        return json_response(body, headers={"X-Nomad-Index": str(body["Index"])})

    # ---- event stream (1.1.2 only, §6) ---------------------------------------------------------------
    def event_stream(self, request: Request) -> Response:
        """command/agent/event_endpoint.go@v1.1.2: `index` (Atoi), repeated `topic=Topic[:key]`, namespace."""
        raw = request.arg("index") or "0"
        try:
            start = parse_int(raw)
        except GoParseError as exc:
            return text(400, f"Unable to parse index: {str(exc).replace('ParseInt', 'Atoi')}")
        topics: dict[str, list[str]] = {}
        for topic in request.query.get("topic", []):
            parts = topic.split(":")
            if len(parts) > 2:
                return text(400, "Invalid topic query: error parsing topics: Invalid key value pair for topic, "
                                 f"topic: {topic}")
            topics.setdefault(parts[0], []).append(parts[1] if len(parts) == 2 else "*")
        if not topics:
            topics = {"*": ["*"]}
        kind = self.acl_tokens.get(request.headers.get("X-Nomad-Token") or "") if self.acl_tokens else None
        if kind is not None and not acl.stream_allows(kind, topics):
            return text(500, acl.DENIED)  # the subscription's ACL check fails inside the RPC: a 500
        namespace = request.arg("namespace") or "default"
        return Response(200, b"", JSON, {"Cache-Control": "no-cache"},
                        stream=self._events(start % 2**64, topics, namespace))  # uint64(index), as Go does

    def drop_event_streams(self) -> None:
        """End every open event stream (tests: a proxy or a leader change cutting the connection)."""
        with self.state.changed:
            self._stream_generation += 1
            self.state.changed.notify_all()

    def _events(self, start: int, topics: dict, namespace: str):
        generation = self._stream_generation
        yield b"{}\n"  # at open, then every heartbeat_s (nomad/stream/ndjson.go)
        last_beat = time.monotonic()
        sent: int | None = None
        with self.state.lock:
            frames = self.state.events
            # EventBroker.Subscribe: from the frame at `index`, else the closest one after it, else (the
            # index is past the newest) the newest; index 0 starts at the oldest frame still buffered. An
            # empty buffer (a server just started) hands out whatever comes next, whatever its index.
            if start and frames and not any(i >= start for i, _ in frames):
                sent = frames[-2][0] if len(frames) > 1 else -1
            elif start and frames:
                sent = start - 1
        while not self.stopping.is_set() and generation == self._stream_generation:
            with self.state.changed:
                fresh = [(i, evs) for i, evs in self.state.events if sent is None or i > sent]
                if not fresh:
                    self.state.changed.wait(0.5)
            for index, events in fresh:
                sent = index
                chosen = [e.body for e in events if _matches(e, topics, namespace)]
                if chosen:
                    yield b'{"Events":[' + b",".join(chosen) + b'],"Index":%d}\n' % index
            if time.monotonic() - last_beat >= self.heartbeat_s:
                last_beat = time.monotonic()
                yield b"{}\n"


def _matches(event, topics: dict, namespace: str) -> bool:
    """nomad/stream/subscription.go@v1.1.2 filter(): namespace, then topic and key (or a filter key)."""
    if namespace and event.namespace and event.namespace != namespace:
        return False
    keys = list(topics.get("*", [])) + list(topics.get(event.topic, []))
    return any(key == "*" or key == event.key or key in event.filter_keys for key in keys)
