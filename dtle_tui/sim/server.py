"""HTTP plumbing shared by the simulated Nomad and Consul: real sockets on 127.0.0.1, faults, request log.

Both real servers are Go net/http: HTTP/1.1 with keep-alive, Content-Length on plain answers and chunked
encoding on streams (logs with follow, the event stream).
"""

from __future__ import annotations

import json
import random
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from .faults import Faults

PLAIN = "text/plain; charset=utf-8"
JSON = "application/json"
PROXY_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
             b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
             b"</body>\r\n</html>\r\n")


class Request:
    def __init__(self, method: str, target: str, headers, body: bytes) -> None:
        parts = urlsplit(target)
        self.method = method
        self.raw_path = parts.path
        self.path = unquote(parts.path)  # Go's req.URL.Path is the decoded path
        self.raw_query = parts.query
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.client_gone: Callable[[], bool] = lambda: False

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def has(self, name: str) -> bool:
        return name in self.query


class Response:
    def __init__(self, status: int = 200, body: bytes = b"", content_type: str | None = PLAIN,
                 headers: dict | None = None, stream: Iterator[bytes] | None = None) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})
        self.stream = stream
        self.after: Callable[[], None] | None = None  # run once the answer is written


def text(status: int, body: str, headers: dict | None = None) -> Response:
    """Go http.Error-style plain text (no trailing newline: Nomad writes the bytes itself, §2)."""
    return Response(status, body.encode(), PLAIN, headers)


def json_response(payload, status: int = 200, headers: dict | None = None, sort: bool = True) -> Response:
    body = json.dumps(payload, sort_keys=sort, separators=(",", ":")).encode()
    return Response(status, body, JSON, headers)


class RequestLog:
    """Thread-safe log of (service, method, path, query) for request counting in tests and benchmarks,
    and of the requests in flight: `peak(service, path)` is the most requests for one path that clients
    were waiting for at once, counting only requests that arrived after the last reset. A request whose
    client has hung up (a timeout) no longer counts there, even while its handler has not yet noticed:
    a handler looks every 50 ms, and on a busy machine the client's retry can come first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[tuple[str, str, str, str]] = []
        # id -> (service, path, generation, has its client hung up)
        self._live: dict[int, tuple[str, str, int, Callable[[], bool]]] = {}
        self._generation = 0
        self._next_id = 0
        self._peak: dict[tuple[str, str], int] = {}

    def begin(self, service: str, path: str, client_gone: Callable[[], bool] | None = None) -> int:
        with self._lock:
            self._next_id += 1
            self._live[self._next_id] = (service, path, self._generation, client_gone or (lambda: False))
            now = sum(1 for s, p, g, gone in self._live.values()
                      if s == service and p == path and g == self._generation and not gone())
            key = (service, path)
            self._peak[key] = max(self._peak.get(key, 0), now)
            return self._next_id

    def end(self, token: int) -> None:
        with self._lock:
            self._live.pop(token, None)

    def in_flight(self, service: str | None = None, path_prefix: str | None = None) -> int:
        """Requests being answered now that arrived after the last reset."""
        with self._lock:
            return sum(1 for s, p, g, _ in self._live.values() if g == self._generation
                       and (service is None or s == service) and (path_prefix is None or p.startswith(path_prefix)))

    def peak(self, service: str | None = None, path_prefix: str | None = None) -> int:
        """The highest concurrency seen on any one path (matching the filters) since the last reset."""
        with self._lock:
            return max([n for (s, p), n in self._peak.items()
                        if (service is None or s == service) and (path_prefix is None or p.startswith(path_prefix))],
                       default=0)

    def add(self, service: str, method: str, path: str, query: str) -> None:
        with self._lock:
            self._entries.append((service, method, path, query))

    def entries(self) -> list[tuple[str, str, str, str]]:
        with self._lock:
            return list(self._entries)

    def count(self, service: str | None = None, path_prefix: str | None = None) -> int:
        with self._lock:
            return sum(1 for s, _m, p, _q in self._entries
                       if (service is None or s == service) and (path_prefix is None or p.startswith(path_prefix)))

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._peak.clear()
            self._generation += 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self):
        return iter(self.entries())


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5. A console reconnecting after an outage opens more connections than
    # that at once, and on a busy machine the accepting thread falls behind: the kernel then drops the
    # extra connection attempts, the client's retry comes 1 s later, and a 1 s connect timeout fails
    # against a server that is up. Go's net.Listen (Nomad, Consul) takes the system's somaxconn.
    request_queue_size = 1024

    def __init__(self, address, handler, owner: SimServer) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        self.owner._track(request, True)
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        """Clients (pollers, tests) hang up mid-answer all the time; that is not worth a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def shutdown_request(self, request):
        self.owner._track(request, False)
        super().shutdown_request(request)


class SimServer:
    """One HTTP service (Nomad or Consul) with its fault knobs; `app` maps a Request to a Response."""

    def __init__(self, service: str, app: Callable[[Request], Response], faults: Faults, log: RequestLog,
                 fault_body: Callable[[int], Response], seed: int = 1, host: str = "127.0.0.1") -> None:
        self.service = service
        self.host = host  # a simulated node listens on its own loopback address (127.x.y.z)
        self.app = app
        self.faults = faults
        self.log = log
        self.fault_body = fault_body
        self.port = 0
        self.stopping = threading.Event()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._listener: _Listener | None = None
        self._thread: threading.Thread | None = None
        self._connections: set = set()
        self.peers: dict[str, Faults] = {}
        self.restarts: dict[str, Callable[[], None]] = {}  # PUT /_sim/restart/<nomad|consul>
        faults.on_down_change(self._set_down)

    @property
    def addr(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, port: int = 0) -> None:
        self.port = port
        if not self.faults.down:
            self._open()

    def stop(self) -> None:
        self.stopping.set()
        self._close()

    def _open(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = _Listener((self.host, self.port), _make_handler(self), self)
            self.port = listener.server_address[1]
            self._listener = listener
            self._thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.1},
                                            name=f"sim-{self.service}", daemon=True)
            self._thread.start()

    def _close(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = list(self._connections), set()
        if listener is not None:
            listener.shutdown()
            listener.server_close()
        for conn in connections:  # a stopped agent also drops its keep-alive connections
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _set_down(self, down: bool) -> None:
        if self.stopping.is_set():
            return
        if down:
            self._close()
        else:
            self._open()

    def _track(self, conn, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def roll_error(self) -> bool:
        rate = self.faults.error_rate
        if rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate

    def control(self, request: Request, faults: Faults) -> Response:
        """GET/PUT /_sim/faults[/nomad|/consul]: flip knobs from a shell (`curl -XPUT -d '{"html":true}'`)."""
        if request.method == "PUT":
            try:
                payload = json.loads(request.body or b"{}")
                if not isinstance(payload, dict):
                    raise ValueError("body must be a JSON object")
                faults.update(payload)
            except ValueError as exc:
                return text(400, str(exc))
        elif request.method != "GET":
            return text(405, "Invalid method")
        return json_response(faults.to_dict())

    def restart(self, request: Request, restart: Callable[[], None]) -> Response:
        """PUT /_sim/restart/nomad|consul: the agent comes back with fresh state (sim/restart.py), once
        this answer is written (the restart cuts every open connection, this one too)."""
        if request.method != "PUT":
            return text(405, "Invalid method")
        response = json_response({"restarting": True})
        response.after = threading.Thread(target=restart, name="sim-restart", daemon=True).start
        return response

    def handle(self, request: Request) -> Response | None:
        """Apply faults, then the service. None means: drop the connection without answering."""
        if request.path == "/_sim/faults":
            return self.control(request, self.faults)
        if request.path.startswith("/_sim/faults/") and request.path[13:] in self.peers:
            return self.control(request, self.peers[request.path[13:]])  # e.g. re-open a `down` peer
        if request.path.startswith("/_sim/restart/") and request.path[14:] in self.restarts:
            return self.restart(request, self.restarts[request.path[14:]])
        if self.faults.down:
            return None
        self.log.add(self.service, request.method, request.path, request.raw_query)
        token = self.log.begin(self.service, request.path, request.client_gone)
        try:
            return self._answer(request)
        finally:
            self.log.end(token)

    def _answer(self, request: Request) -> Response | None:
        if self.faults.hang:
            self.faults.wait_while_hanging(self.stopping, request.client_gone)
            if self.stopping.is_set() or request.client_gone():
                return None
        if self.faults.latency > 0:
            self.faults.wait_latency(self.stopping, request.client_gone)
            if request.client_gone():
                return None
        if self.faults.html:
            return Response(502, PROXY_502, "text/html")
        if self.faults.status is not None:
            return self.fault_body(self.faults.status)
        if self.roll_error():
            return self.fault_body(500)
        response = self.app(request)
        if self.faults.garbage and response.stream is None:
            body = response.body or b'[{"ID":"'
            response = Response(200, body[: max(1, len(body) // 2)] + b"\x00}", JSON, response.headers)
        elif self.faults.garbage and response.content_type == JSON:  # a JSON stream: its first line cut
            response.stream = _cut_stream(response.stream)
        return response


def _cut_stream(stream) -> Iterator[bytes]:
    for chunk in stream:
        yield chunk[: max(1, len(chunk) // 2)] + b"\x00}\n"
        break
    close = getattr(stream, "close", None)
    if close:
        close()


def _make_handler(server: SimServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "sim"
        sys_version = ""
        timeout = 120

        def log_message(self, format, *args):  # noqa: A002 - silence stderr access log
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(self.command, self.path, self.headers, body)
            request.client_gone = lambda: _peer_closed(self.connection)
            try:
                response = server.handle(request)
            except Exception as exc:  # a simulator bug must look like a server error, not hang the client
                response = text(500, f"simulator error: {exc!r}")
            if response is None:
                self.close_connection = True
                return
            self._write(response)
            if response.after is not None:
                response.after()

        def _write(self, response: Response) -> None:
            self.send_response_only(response.status)
            self.send_header("Date", self.date_time_string())
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.stream is None:
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for chunk in response.stream:
                    if server.stopping.is_set() or server.faults.down:
                        break
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True
            finally:
                close = getattr(response.stream, "close", None)
                if close:
                    close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _serve

    return Handler


def _peer_closed(conn: socket.socket) -> bool:
    """True once the client has hung up (EOF waiting on the socket); a request body never follows here."""
    try:
        readable, _, _ = select.select([conn], [], [], 0)
        return bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def wait_until(deadline: float, stopping: threading.Event) -> None:
    """Sleep helper for streams: returns early on server stop."""
    remaining = deadline - time.monotonic()
    if remaining > 0:
        stopping.wait(remaining)


def stop_together(servers: Iterable) -> None:
    """Stop each of `servers` (anything with .stop()) at once: a listener takes up to its poll interval
    to notice, and a cluster has eight of them, one after another a noticeable wait at every stop."""
    threads = [threading.Thread(target=server.stop, name="sim-stop", daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
