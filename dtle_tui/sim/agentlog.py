"""The client agents' own logs, where dtle writes (docs/reference/agent-monitor.md, real-dtle.md §2).

A dtle task writes nothing to its stdout or stderr: the driver's lines go into the Nomad client agent's
log under `client.driver_mgr.dtle`, in hclog's text format, with dtle's own fields (`@module`, `job=`
or `jobName=`, `allocID=`, `ID=<alloc>/<task>/<8 hex>`, `taskID=`, `id=`) and a trailing `timestamp=`.
`GET /v1/agent/monitor` streams that log live (never its history): framed as
`{"Data":"<base64>","FileEvent":"log"}` objects with `{}` heartbeats and no separator, or the lines
themselves with `plain=true` (`log_json=true`: one JSON object a line). `node_id` picks the client (the
servers forward); without it the answering agent's own log streams. `log_level` is the minimum level.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from typing import Optional

from .gocompat import GoParseError, parse_bool, rfc3339nano
from .server import JSON, Request, Response, text

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
KEEP_LINES = 2000  # per node: enough for any stream that fell behind a little
HEARTBEAT_S = 1.0  # Nomad's monitor framer: a heartbeat each second, frames of at most 1024 bytes
FRAME_BYTES = 1024
SERVER_LOG = "server"  # the servers' own log (no dtle there)


def _stamp(ns: int) -> str:
    """hclog's time: milliseconds, UTC, `Z`."""
    text = rfc3339nano(ns - ns % 1_000_000) or ""
    head, _, frac = text.rstrip("Z").partition(".")
    return f"{head}.{(frac + '000')[:3]}Z"


def _value(value: str) -> str:
    """hclog quotes a value holding spaces, quotes or `=`; an empty one stays empty (`gtid= job=…`)."""
    return value if not any(c in value for c in ' "=\n\t') else json.dumps(value)


class AgentLogs:
    """Every node's agent log: numbered lines, a condition to wait on, and the dtle line writers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.grew = threading.Condition(self._lock)
        self._lines: dict[str, deque] = {}  # node -> (seq, level, text, json_record), oldest first
        self._seq = 0
        self._watchers: dict[str, int] = {}  # node -> open monitor streams

    def watch(self, node: str, delta: int) -> None:
        with self._lock:
            self._watchers[node] = self._watchers.get(node, 0) + delta

    def watched(self, node: str) -> bool:
        """Whether a monitor streams this node's log now: chatty periodic lines are written only then
        (nobody can read them otherwise, the monitor being live only), which keeps a big cluster cheap."""
        return self._watchers.get(node, 0) > 0

    def write(self, node: str, now_ns: int, level: str, module: str, message: str, fields: list) -> None:
        """One hclog line; `fields` ((key, value), …) in the order dtle writes them."""
        level = level.upper()
        pad = " " * (6 - len(level))
        pairs = " ".join(f"{k}={_value(str(v))}" for k, v in fields)
        line = f"{_stamp(now_ns)} [{level}]{pad}{module}: {message}" + (f": {pairs}" if pairs else "")
        record = {"@level": level.lower(), "@message": message, "@module": module,
                  "@timestamp": rfc3339nano(now_ns)}
        record.update({str(k): str(v) for k, v in fields})
        with self.grew:
            self._seq += 1
            lines = self._lines.get(node)
            if lines is None:
                lines = self._lines[node] = deque(maxlen=KEEP_LINES)
            lines.append((self._seq, level, line, json.dumps(record, separators=(",", ":"))))
            self.grew.notify_all()

    def dtle(self, node: str, now_ns: int, level: str, message: str, *fields) -> None:
        """A line of the dtle driver: `driver=dtle` first and dtle's `timestamp=` last, as recorded."""
        self.write(node, now_ns, level, "client.driver_mgr.dtle", message,
                   [("driver", "dtle"), *fields, ("timestamp", _stamp(now_ns))])

    def since(self, node: str, seq: int) -> list:
        with self._lock:
            out = []
            for entry in reversed(self._lines.get(node, ())):
                if entry[0] <= seq:
                    break
                out.append(entry)
            return out[::-1]

    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def lines(self, node: str) -> list[str]:
        """Every line still kept for a node (tests)."""
        with self._lock:
            return [entry[2] for entry in self._lines.get(node, ())]

    def wait(self, seq: int, timeout: float) -> None:
        with self.grew:
            if self._seq <= seq:
                self.grew.wait(timeout)

    # ---- what dtle writes at a task's start and failure (the recorded sequence, shortened) -------------
    def task_started(self, node: str, t: int, alloc_id: str, job_id: str, task: str, handle: str) -> None:
        ident = f"{alloc_id}/{task}/{handle}"
        self.dtle(node, t, "INFO", "StartTask", ("ID", ident), ("allocID", alloc_id), ("jobName", job_id),
                  ("taskName", task), ("@module", "dtle"))
        self.dtle(node, t, "DEBUG", "start dtle task 1", ("@module", "dtle"))
        if task == "src":
            self.dtle(node, t + 1_000_000, "INFO", "NewExtractor", ("@module", "dtle"), ("job", job_id))
            self.dtle(node, t + 3_000_000, "DEBUG", "consul put ReplChanBufferSize", ("job", job_id),
                      ("@module", "dtle.extractor"))
        else:
            self.dtle(node, t + 1_000_000, "INFO", "NewApplier", ("@module", "dtle"), ("job", job_id))
            self.dtle(node, t + 4_000_000, "INFO", "Got gtid from consul", ("@module", "dtle.applier"),
                      ("gtid", ""), ("job", job_id))
        self.dtle(node, t + 5_000_000, "INFO", "WaitTask", ("@module", "dtle"), ("taskID", ident))

    def task_failed(self, node: str, t: int, alloc_id: str, job_id: str, task: str, handle: str,
                    error: str) -> None:
        module = "dtle.extractor" if task == "src" else "dtle.applier"
        # dtle's error names the job only (real-dtle.md §2): a console matches on the job name too.
        self.dtle(node, t, "ERROR", "onError", ("@module", module), ("err", error), ("job", job_id))
        self.dtle(node, t, "INFO", "Shutting down", ("@module", module), ("job", job_id))
        self.dtle(node, t + 2_000_000, "INFO", "DestroyTask", ("@module", "dtle"),
                  ("id", f"{alloc_id}/{task}/{handle}"))

    def nats_wait(self, node: str, t: int) -> None:
        self.dtle(node, t, "INFO", "NatsAddr. got", ("value", "wait"), ("@module", "dtle"))


def monitor_endpoint(request: Request, logs: AgentLogs, node_log: Optional[str], known: bool,
                     stopping: threading.Event) -> Response:
    """Parameter checks in the order of command/agent/agent_endpoint.go AgentMonitor; `node_log` is the
    log to stream (None with `known` False: an unknown node_id)."""
    flags = {}
    for name, label in (("log_json", "log json"), ("plain", "plain")):
        raw = request.arg(name)
        try:
            flags[name] = parse_bool(raw) if raw else False
        except GoParseError as exc:
            return text(400, f"Unknown option for {label}: {exc}")
    if request.arg("node_id") and request.arg("server_id"):
        return text(400, "Cannot target node and server simultaneously")
    level = (request.arg("log_level") or "INFO").upper()
    if level not in LEVELS:
        return text(400, "Unknown log level")  # the RPC's error (nomad/client_agent_endpoint.go)
    if not known or node_log is None:
        return text(404, f'Unknown node "{request.arg("node_id")}"')
    plain = flags["plain"]
    ctype = "text/plain" if plain or flags["log_json"] else JSON
    seq = logs.last_seq()  # live only: the lines written from this request on
    return Response(200, b"", ctype, stream=_follow(logs, node_log, LEVELS.index(level), plain, flags["log_json"],
                                                     stopping, request, seq))


def _follow(logs: AgentLogs, node: str, minimum: int, plain: bool, as_json: bool, stopping, request, seq: int):
    """The lines written after `seq`, at `minimum` level or above."""
    last_beat = time.monotonic()
    logs.watch(node, 1)
    try:
        yield from _stream(logs, node, minimum, plain, as_json, stopping, request, seq, last_beat)
    finally:
        logs.watch(node, -1)


def _stream(logs: AgentLogs, node: str, minimum: int, plain: bool, as_json: bool, stopping, request, seq: int,
            last_beat: float):
    if not plain:
        yield b"{}"
    while not stopping.is_set() and not request.client_gone():
        fresh = logs.since(node, seq)
        if fresh:
            seq = fresh[-1][0]
            chosen = [(json_line if as_json else line) for _s, level, line, json_line in fresh
                      if LEVELS.index(level) >= minimum]
            if chosen:
                data = ("\n".join(chosen) + "\n").encode()
                if plain:
                    yield data
                else:  # Nomad's stream framer: frames of at most FRAME_BYTES, a line may span two
                    for cut in range(0, len(data), FRAME_BYTES):
                        piece = base64.b64encode(data[cut:cut + FRAME_BYTES]).decode()
                        yield json.dumps({"Data": piece, "FileEvent": "log"}, separators=(",", ":")).encode()
                last_beat = time.monotonic()
                continue
        if not plain and time.monotonic() - last_beat >= HEARTBEAT_S:
            yield b"{}"
            last_beat = time.monotonic()
        logs.wait(seq, 0.2)
