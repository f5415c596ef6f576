"""The Nomad client agent's log as `GET /v1/agent/monitor` streams it, and dtle's lines in it.

dtle writes nothing to a task's stdout or stderr: its lines go into the Nomad client agent's own log
under `client.driver_mgr.dtle`, which the agent streams live (not its history) at /v1/agent/monitor
(docs/reference/agent-monitor.md). The stream comes framed (`{"Data": base64, "FileEvent": "log"}`
objects with `{}` heartbeats, no separator between objects) or, with `plain=true`, as the lines
themselves. `MonitorDecoder` turns either into `AgentLogLine`s as the bytes arrive; `AllocationLog`
keeps the lines of one allocation.

dtle names an allocation in varying fields (`allocID=<id>`, `ID=<id>/<task>/<n>`, `taskID=<id>/…`,
`id=<id>/…`) and many of its lines, its errors among them, name only the job (`job=<job>` or
`jobName=<job>`) with the module telling the side (`dtle.extractor` src, `dtle.applier` dest);
docs/reference/real-dtle.md §2.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Iterable, Optional

LEVELS = ("trace", "debug", "info", "warn", "error")
_LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}

# `2026-12-07T14:22:18.630Z [ERROR] client.driver_mgr.dtle: onError: driver=dtle …` (hclog's format). The
# agent's own stdout indents every line by four spaces; the monitor stream does not: both are accepted.
_HEAD = re.compile(
    r"^\s*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+\[(TRACE|DEBUG|INFO|WARN|ERROR)\]\s?\s*(.*)$"
)
_MODULE = re.compile(r"^([A-Za-z0-9_.@/-]+): (.*)$", re.S)
_PAIR = re.compile(r'\s*([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]\S*|(?=\s|$))')
_OPEN_PAIR = re.compile(r'\s*([^\s="]+)="((?:[^"\\]|\\.)*)$', re.S)
# dtle's side by module: the extractor (and its inspector) reads the source, the applier writes the dest.
MODULE_TASK = {"dtle.extractor": "src", "inspector": "src", "dtle.applier": "dest", "dtle.kafka": "dest"}
MESSAGE_TASK = {"NewExtractor": "src", "NewApplier": "dest"}  # logged under @module=dtle, with job= only
_ALLOC_FIELDS = ("allocID", "alloc_id", "ID", "id", "taskID", "task_id", "AllocID")
_JOB_FIELDS = ("job", "jobName", "job_id", "JobID")
_TASK_FIELDS = ("taskName", "task_name", "task")


@dataclass(frozen=True)
class AgentLogLine:
    """One line of the agent's log, as written (wire text: escape it before it reaches markup)."""

    text: str
    level: str = ""  # trace … error; a continuation line carries its entry's level
    time_text: str = ""  # "2026-12-07T14:22:18.630Z" as the agent wrote it
    module: str = ""  # "client.driver_mgr.dtle", "http", "client.alloc_runner.task_runner" …
    message: str = ""  # "onError", "StartTask" …
    fields: tuple = ()  # ((key, value), …) in the order written, values unquoted
    continuation: bool = False  # a later line of a multi-line entry (a value holding newlines)

    def field(self, name: str) -> Optional[str]:
        return next((v for k, v in self.fields if k == name), None)

    @property
    def is_dtle(self) -> bool:
        return self.module.startswith("client.driver_mgr.dtle")

    @property
    def dtle_module(self) -> str:
        """dtle's own `@module` field (`dtle.extractor`, `dtle.applier`, `inspector`, `http_api.…`)."""
        return self.field("@module") or ""


def level_at_least(level: str, minimum: str) -> bool:
    """Whether `level` passes a `log_level=minimum` filter (unknown levels pass)."""
    return _LEVEL_RANK.get(level.lower(), len(LEVELS)) >= _LEVEL_RANK.get(minimum.lower(), 0)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)  # Go's strconv.Quote is JSON for everything dtle writes
            return decoded if isinstance(decoded, str) else value[1:-1]
        except ValueError:
            return value[1:-1]
    return value


def _pairs(text: str) -> Optional[tuple]:
    """`k=v k="v w"` to the end of `text` as pairs, or None when the text is not only pairs. A quoted
    value left open runs to the end: its entry goes on over the next lines (a multi-line error)."""
    out, pos = [], 0
    while pos < len(text):
        open_value = _OPEN_PAIR.match(text, pos)
        if open_value is not None:
            out.append((open_value.group(1), open_value.group(2)))
            return tuple(out)
        match = _PAIR.match(text, pos)
        if match is None or match.end() == pos:
            return None if text[pos:].strip() else tuple(out)
        out.append((match.group(1), _unquote(match.group(2))))
        pos = match.end()
    return tuple(out)


def _split_message(rest: str) -> tuple[str, tuple]:
    """hclog writes `message: k=v …`, and a message may hold ": " itself (`invoke nomad api begin :
    nodesUrl: driver=dtle …`): the first ": " after which only pairs follow ends the message."""
    start = 0
    while True:
        cut = rest.find(": ", start)
        if cut < 0:
            return rest.rstrip(":"), ()
        pairs = _pairs(rest[cut + 2:])
        if pairs:
            return rest[:cut], pairs
        start = cut + 1


def parse_line(text: str, previous_level: str = "") -> AgentLogLine:
    """One line: hclog text, a `log_json=true` object, or the continuation of a multi-line entry."""
    text = text.rstrip("\r")
    head = _HEAD.match(text)
    if head is not None:
        stamp, level, rest = head.groups()
        module_match = _MODULE.match(rest)
        module, body = (module_match.group(1), module_match.group(2)) if module_match else ("", rest)
        message, fields = _split_message(body)
        return AgentLogLine(text.strip(), level.lower(), stamp, module, message.strip(), fields)
    if text.lstrip().startswith('{"@'):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            fields = tuple((str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in obj.items()
                           if not str(k).startswith("@"))
            return AgentLogLine(text, str(obj.get("@level", "")).lower(), str(obj.get("@timestamp", "")),
                                str(obj.get("@module", "")), str(obj.get("@message", "")), fields)
    return AgentLogLine(text, previous_level, continuation=True)


class MonitorDecoder:
    """Bytes of a /v1/agent/monitor answer in, lines out, as they arrive (chunks may cut anything).

    framed: the default answer, JSON frames concatenated without separators; `{}` is a heartbeat.
    Otherwise (`plain=true`) the bytes are the log itself. A line is handed out once its newline came;
    `close()` hands out the last one without. Raises ValueError on a framed stream that is not frames.
    """

    def __init__(self, framed: bool = True) -> None:
        self.framed = framed
        self.heartbeats = 0
        self.frames = 0
        self._text = ""  # framed: undecoded JSON text
        self._scan = 0  # how far _text was scanned
        self._depth = 0
        self._in_string = False
        self._start = -1
        self._bytes = b""  # log bytes not yet ended by a newline
        self._level = ""

    def feed(self, chunk: bytes) -> list[AgentLogLine]:
        data = self._unframe(chunk) if self.framed else chunk
        return self._lines(data)

    def close(self) -> list[AgentLogLine]:
        rest, self._bytes = self._bytes, b""
        return [self._line(rest)] if rest.strip() else []

    # ---- frames ---------------------------------------------------------------------------------------
    def _unframe(self, chunk: bytes) -> bytes:
        self._text += chunk.decode("utf-8", "replace")
        out = bytearray()
        text, i = self._text, self._scan
        while i < len(text):
            ch = text[i]
            if self._in_string:
                stop = _STRING_STOP.search(text, i)
                if stop is None:
                    i = len(text)
                    break
                if stop.group() == "\\":
                    if stop.end() >= len(text):
                        i = stop.start()  # the escaped character has not come yet
                        break
                    i = stop.end() + 1
                    continue
                self._in_string = False
                i = stop.end()
                continue
            if ch == '"' and self._depth:
                self._in_string = True
            elif ch == "{":
                if self._depth == 0:
                    self._start = i
                self._depth += 1
            elif ch == "}" and self._depth:
                self._depth -= 1
                if self._depth == 0:
                    out += self._frame(text[self._start: i + 1])
            elif self._depth == 0 and not ch.isspace():
                raise ValueError(f"not a monitor frame at {text[i:i + 20]!r}")
            i += 1
        keep = self._start if self._depth else i
        self._text, self._scan = text[keep:], i - keep
        if self._depth:
            self._start = 0
        return bytes(out)

    def _frame(self, text: str) -> bytes:
        frame = json.loads(text)
        if not isinstance(frame, dict) or not frame:
            self.heartbeats += 1
            return b""
        self.frames += 1
        data = frame.get("Data")
        if not isinstance(data, str) or not data:
            return b""
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a monitor frame whose Data is not base64") from None

    # ---- lines ----------------------------------------------------------------------------------------
    def _lines(self, data: bytes) -> list[AgentLogLine]:
        if not data:
            return []
        self._bytes += data
        *complete, self._bytes = self._bytes.split(b"\n")
        return [self._line(raw) for raw in complete if raw.strip()]

    def _line(self, raw: bytes) -> AgentLogLine:
        line = parse_line(raw.decode("utf-8", "replace"), self._level)
        self._level = line.level
        return line


_STRING_STOP = re.compile(r'["\\]')


def decode_monitor(body: bytes, framed: bool = True) -> list[AgentLogLine]:
    """A whole recorded answer at once (tests, the incident report)."""
    decoder = MonitorDecoder(framed)
    return decoder.feed(body) + decoder.close()


# ---- one allocation's lines ------------------------------------------------------------------------------


def _names_alloc(value: str, alloc_id: str) -> bool:
    return value == alloc_id or value.startswith(alloc_id + "/")


def _looks_like_alloc_id(value: str) -> bool:
    head = value.split("/", 1)[0]
    return len(head) == 36 and head.count("-") == 4


def line_task(line: AgentLogLine) -> str:
    """The task a line is about, from taskName or from dtle's module; "" when it does not say."""
    for name in _TASK_FIELDS:
        value = line.field(name)
        if value:
            return value
    for name in ("ID", "id", "taskID"):
        value = line.field(name) or ""
        parts = value.split("/")
        if len(parts) >= 2 and _looks_like_alloc_id(value):
            return parts[1]
    return MODULE_TASK.get(line.dtle_module, "") or MESSAGE_TASK.get(line.message, "")


def belongs_to(line: AgentLogLine, alloc_id: str, job_id: str, task: str) -> bool:
    """Whether a head line is about this allocation: its ID in any of dtle's fields, or (no other
    allocation named) its job with a task that is this one or not said."""
    named_other = False
    for name, value in line.fields:
        if name in _ALLOC_FIELDS and _looks_like_alloc_id(value):
            if _names_alloc(value, alloc_id):
                return True
            named_other = True
    if named_other or not job_id:
        return False
    if not any(line.field(name) == job_id for name in _JOB_FIELDS):
        return False
    said = line_task(line)
    return not said or not task or said == task


_DTLE_MODULE = re.compile(r"^(\S+\s+\[\w+\]\s+)client\.driver_mgr\.dtle: ")
_DRIVER_FIELD = re.compile(r"(: )driver=dtle(?: |$)")
_TIMESTAMP_FIELD = re.compile(r" timestamp=\S+$")


def short_text(line: AgentLogLine, today: str = "") -> str:
    """A dtle line for a narrow view: without the module's name and the `driver=dtle` and `timestamp=`
    fields every dtle line carries, and without the date when it is `today` ("YYYY-MM-DD", UTC as the
    agent writes). Other lines, and the later lines of a multi-line entry, as written."""
    text = line.text
    if line.continuation or not line.is_dtle:
        return text
    text = _DTLE_MODULE.sub(r"\1", text, count=1)
    text = _DRIVER_FIELD.sub(r"\1", text, count=1)
    text = _TIMESTAMP_FIELD.sub("", text).rstrip()
    if text.endswith(":"):
        text = text[:-1]  # no field left after the message
    if today and text.startswith(today + "T"):
        text = text[len(today) + 1:]
    return text


class AllocationLog:
    """Picks the lines of one allocation out of the agent's log; a continuation line follows the
    decision taken on its entry's head line."""

    def __init__(self, alloc_id: str, job_id: str, task: str = "") -> None:
        self.alloc_id, self.job_id, self.task = alloc_id, job_id, task
        self._keeping = False

    def pick(self, lines: Iterable[AgentLogLine]) -> list[AgentLogLine]:
        out = []
        for line in lines:
            if not line.continuation:
                self._keeping = belongs_to(line, self.alloc_id, self.job_id, self.task)
            if self._keeping:
                out.append(line)
        return out
