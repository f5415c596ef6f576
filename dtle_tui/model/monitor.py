"""dtle's own view of a task (`GET /v2/monitor/task`, docs/reference/dtle-monitor.md §1.4) and what the console
makes of it.

`parse_task_monitor` reads one answer; `job_progress` combines the src and dest answers of a job into the
figures an operator watches: in the full copy the percentage (the dest's, exact in rows; the src's as a
fallback), rows done of the estimate and dtle's ETA; in the incremental the delay (the larger of src and
dest, as dtle's docs ask, §2.3), the dest's backlog and its applied position. Several fields lie (§2):
the src percentage freezes after the full copy, the src tx counters count loop ticks, the delay freezes
while an applier is stuck, the row total is InnoDB's `table_rows` estimate. Each figure therefore carries
a note saying what it is when it is not what it looks like.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional

from dtle_tui.model.stall import queue_stuck
from dtle_tui.model.wire import ParseError, as_int, as_str
from dtle_tui.text.durations import parse_go_duration

# Below this the timestamp is seconds (the Kafka dest), above it nanoseconds (MySQL src and dest), §1.4.
_NS_TIMESTAMP_FROM = 10**14
FROZEN_AFTER_S = 20.0  # delay and Gtid unchanged this long (dtle resets an idle delay every 15 s): frozen
FULL_BACKLOG_CAP = 16  # the dest's fullBytesQueue (§2.2): a dest backlog `n/16` is the full copy


@dataclass(frozen=True)
class TaskMonitor:
    """One task's answer, typed. Text fields are kept as dtle wrote them."""

    progress_text: str = ""  # "57.3", "" for a Kafka dest or a task without runner
    exec_rows: int = 0
    read_rows: int = 0
    exec_tx: int = 0
    read_tx: int = 0
    eta_text: str = ""  # "N/A", "0s", "3m0s", ""
    backlog_text: str = ""  # "3/96", ""
    delay_s: Optional[int] = None  # None when dtle sent no delay_count
    stage: str = ""
    file: str = ""
    position: int = 0
    gtid_set: str = ""
    timestamp: int = 0
    has_runner: bool = True  # False: current_coordinates null (the task started while paused)

    @property
    def progress(self) -> Optional[float]:
        try:
            return float(self.progress_text) if self.progress_text else None
        except ValueError:
            return None

    @property
    def eta_s(self) -> Optional[float]:
        return parse_eta(self.eta_text)

    @property
    def backlog(self) -> Optional[tuple[int, int]]:
        return parse_backlog(self.backlog_text)

    @property
    def not_started(self) -> bool:
        """dtle's answer for a task that has not begun copying: `stage ""`, "0.0", "N/A" and zeros (a src
        that runs but never connected, docs/reference/real-dtle.md §6). Kafka's blanks are not this."""
        return (self.has_runner and not self.stage.strip() and self.progress_text in ("0.0", "0")
                and self.eta_text in ("N/A", "") and not (self.exec_rows or self.read_rows or self.exec_tx
                                                         or self.read_tx) and not self.file and not self.gtid_set)

    @property
    def kafka_like(self) -> bool:
        """A Kafka dest: no percentage, no ETA, no backlog, a timestamp in seconds (§1.6)."""
        return self.has_runner and self.progress_text == "" and 0 < self.timestamp < _NS_TIMESTAMP_FROM


def parse_eta(text: str) -> Optional[float]:
    """Seconds in dtle's ETA (a Go duration without fractions, §2.1); None for "N/A", "" or garbage."""
    try:
        return parse_go_duration(text)
    except ValueError:
        return None


def parse_backlog(text: str) -> Optional[tuple[int, int]]:
    n, sep, cap = text.partition("/")
    if not sep or not n.strip().isdigit() or not cap.strip().isdigit():
        return None
    return int(n), int(cap)


def parse_task_monitor(body: Any) -> TaskMonitor:
    """The `tasks_status` of a 200 answer. ParseError when it is not one (an error body has only `message`)."""
    if not isinstance(body, dict):
        raise ParseError(f"expected an object, got {type(body).__name__}")
    status = body.get("tasks_status")
    if not isinstance(status, dict):
        message = as_str(body.get("message"))
        raise ParseError(f"no tasks_status in the answer{': ' + message if message else ''}")
    coords = status.get("current_coordinates")
    delay = status.get("delay_count")
    return TaskMonitor(
        progress_text=as_str(status.get("progress_PCT")).strip(),
        exec_rows=as_int(status.get("exec_master_row_count")),
        read_rows=as_int(status.get("read_master_row_count")),
        exec_tx=as_int(status.get("exec_master_tx_count")),
        read_tx=as_int(status.get("read_master_tx_count")),
        eta_text=as_str(status.get("ETA")).strip(),
        backlog_text=as_str(status.get("backlog")).strip(),
        delay_s=as_int(delay.get("time")) if isinstance(delay, dict) and "time" in delay else None,
        stage=as_str(status.get("stage")),
        file=as_str(coords.get("file")) if isinstance(coords, dict) else "",
        position=as_int(coords.get("position")) if isinstance(coords, dict) else 0,
        # The src's set may hold ",\n" between UUIDs (§2.4): one line, as a set would print.
        gtid_set=",".join(p.strip() for p in as_str(coords.get("gtid_set")).split(",") if p.strip())
        if isinstance(coords, dict) else "",
        timestamp=as_int(status.get("timestamp")),
        has_runner=isinstance(coords, dict),
    )


def error_message(body: Any) -> str:
    """dtle's error text from a `{"message": …}` body (§1.5), one line; "" when there is none."""
    if isinstance(body, dict):
        return " ".join(as_str(body.get("message")).split())
    return ""


# ---- one job ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskReading:
    """The latest of one task: its answer (or the one line of why there is none) and its age."""

    task: str  # "src" / "dest" (the TaskStates key)
    monitor: Optional[TaskMonitor] = None
    error: Optional[str] = None
    at: float = 0.0  # time.time() of the last answer or failure
    still_since: Optional[float] = None  # since when delay (above 0) and Gtid have stayed the same
    # By dtle's clock (taken_s): since when the delay (above 0) and the Gtid have been exactly these, and
    # when this answer was taken (model.stall.queue_stuck).
    same_since: Optional[float] = None
    taken: Optional[float] = None


@dataclass(frozen=True)
class JobProgress:
    """What the Job detail panel and the Jobs column show for one job."""

    phase: str  # "full", "incr" or "" (not known)
    kafka: bool = False
    percent: Optional[float] = None
    percent_from: str = ""  # "dest" or "src"
    rows_done: Optional[int] = None
    rows_estimated: Optional[int] = None
    eta_text: str = ""
    eta_s: Optional[float] = None
    delay_s: Optional[int] = None
    delay_frozen_since: Optional[float] = None  # the delay has not changed, nor the Gtid, since then
    # dtle's queue is stuck (model.stall.queue_stuck): the delay has stayed exactly delay_s over readings
    # STUCK_WINDOW_S apart with the Gtid still, since then (dtle's clock, epoch s).
    queue_stuck_since: Optional[float] = None
    backlog: Optional[tuple[int, int]] = None
    file: str = ""
    position: int = 0
    gtid_set: str = ""
    notes: tuple[str, ...] = ()  # what a figure is when it is not what it looks like
    errors: tuple[str, ...] = ()  # one line per task that could not be read
    # What each task's answer said (`said`): "stage" (dtle reports a stage, or Kafka's figures), "zero"
    # (dtle's all-zero answer: not started copying), "none" (an answer without a stage), "" (no answer).
    src_said: str = ""
    dest_said: str = ""

    @property
    def delay_frozen(self) -> bool:
        return self.delay_frozen_since is not None

    @property
    def over_100(self) -> bool:
        return self.percent is not None and self.percent > 100.0

    def markdown(self) -> str:
        """A Markdown table of the figures, for the incident report (ops/incident.py renders `markdown()`)."""
        def cell(value: object) -> str:
            return " ".join(str(value).split()).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")

        rows = [("stage (dtle's view)", {"full": "full copy", "incr": "incremental"}.get(self.phase, "unknown"))]
        if self.kafka:
            rows.append(("destination", "Kafka (no percentage, ETA nor backlog)"))
        if self.percent is not None:
            rows.append(("full copy", f"{self.percent:.1f} % (from {self.percent_from})"))
        if self.rows_estimated:
            rows.append(("rows", f"{self.rows_done} of about {self.rows_estimated} (InnoDB table_rows estimate)"))
        if self.eta_text:
            rows.append(("ETA (dtle's estimate)", self.eta_text))
        if self.delay_s is not None:
            frozen = " (frozen: unchanged while the Gtid stood still)" if self.delay_frozen else ""
            rows.append(("delay", f"{self.delay_s} s{frozen}"))
        if self.backlog is not None:
            rows.append(("backlog", f"{self.backlog[0]}/{self.backlog[1]}"))
        if self.file:
            rows.append(("applied position", f"{self.file}:{self.position}"))
        if self.gtid_set:
            rows.append(("applied Gtid set", self.gtid_set))
        rows += [("note", n) for n in self.notes] + [("error", e) for e in self.errors]
        return "\n".join(["| Figure | Value |", "|---|---|"] + [f"| {cell(k)} | {cell(v)} |" for k, v in rows])


def _phase(stage_label: str, dest: Optional[TaskMonitor]) -> str:
    if stage_label in ("full", "incr"):
        return stage_label
    # No stage event (they are pushed out after 10 events, docs/reference/dtle.md §5): the dest's backlog says it.
    backlog = dest.backlog if dest is not None else None
    if backlog is not None:
        return "full" if backlog[1] == FULL_BACKLOG_CAP else "incr"
    return ""


def job_progress(stage_label: str, src: Optional[TaskReading], dest: Optional[TaskReading],
                 kafka_dest: bool = False, now: float = 0.0) -> JobProgress:
    """Combine the two tasks' readings. `stage_label` is Nomad's stage ("full", "incr", other: unknown),
    which is reliable where dtle's `stage` text is not (§2.5); `kafka_dest` comes from the job spec."""
    s = src.monitor if src is not None else None
    d = dest.monitor if dest is not None else None
    errors = tuple(f"{r.task}: {r.error}" for r in (dest, src) if r is not None and r.error)
    kafka = kafka_dest or (d is not None and d.kafka_like)
    phase = _phase(stage_label, None if kafka else d)
    notes: list[str] = []
    out: dict[str, Any] = {"src_said": said(src), "dest_said": said(dest)}
    # Delay: the larger of src and dest (§2.3), shown in the incremental only (0 during the full copy).
    delays = [m.delay_s for m in (s, d) if m is not None and m.delay_s is not None]
    # Frozen once delay and Gtid have stood still FROZEN_AFTER_S (dtle resets an idle delay every 15 s).
    stills = [r.still_since for r in (src, dest) if r is not None and r.monitor is not None and r.still_since]
    frozen = min(stills) if stills and now - min(stills) >= FROZEN_AFTER_S else None
    if phase != "full" and delays:
        out["delay_s"] = max(delays)
        if frozen is not None and out["delay_s"] > 0:
            out["delay_frozen_since"] = frozen
        # The task whose delay is the job's (the larger): has it stayed exactly so over dtle's ticks?
        stuck = [queue_stuck(r.monitor.delay_s, r.same_since, r.taken) for r in (src, dest)
                 if r is not None and r.monitor is not None and r.monitor.delay_s == out["delay_s"]]
        if any(t is not None for t in stuck):
            out["queue_stuck_since"] = min(t for t in stuck if t is not None)
        if out["delay_s"] < 0:
            notes.append("negative delay: the dtle host's clock is behind the source MySQL's")
    applied = d if d is not None and (d.file or d.gtid_set) else None
    if applied is not None:
        out.update(file=applied.file, position=applied.position, gtid_set=applied.gtid_set)
    for name, m in (("dest", d), ("src", s)):
        if m is not None and m.stage == "TODO":  # dtle 4.22.11+ answers dummy zeros (§1.1)
            notes.append(f"{name}: dtle 4.x does not implement /v2/monitor/task (its figures are zeros)")
        elif m is not None and not m.has_runner:
            notes.append(f"{name}: dtle holds no runner for this task (it started while the job was paused)")
    if kafka:
        return JobProgress(phase=phase, kafka=True, notes=tuple(notes), errors=errors, **out)
    if phase == "full" or phase == "":
        # The dest is exact in rows; the src stands in when the dest has no figures, or only old ones
        # (kept through a failure) while the src's are fresh.
        dest_ok = d is not None and d.progress is not None
        src_fresh = s is not None and s.progress is not None and src is not None and not src.error
        use_src = not dest_ok or (dest is not None and dest.error is not None and src_fresh)
        source, which = (s, "src") if use_src else (d, "dest")
        if source is not None and source.progress is not None:
            out.update(percent=source.progress, percent_from=which, eta_text=source.eta_text, eta_s=source.eta_s)
            if source.read_rows or source.exec_rows:
                out.update(rows_done=source.exec_rows, rows_estimated=source.read_rows)
            if source.progress > 100.0:
                notes.append("over 100 %: the row total is InnoDB's table_rows estimate, which was low")
            if which == "src":
                why = "dest not readable" if dest is not None else "no running dest"
                notes.append(f"from src ({why}): rows sent, not rows applied")
            if not source.read_rows and source.progress == 0.0:
                notes.append("no row estimate (SkipCreateDbTable, or an incremental-only job)")
    if d is not None and d.backlog is not None:
        out["backlog"] = d.backlog
    elif s is not None and s.backlog is not None and phase == "full":
        out["backlog"] = s.backlog
    return JobProgress(phase=phase, notes=tuple(notes), errors=errors, **out)


@dataclass(frozen=True)
class FiguresView:
    """What of dtle's figures means something now (issue 22 item 2): the figures, or one statement instead,
    or neither (the job does not run: nothing to show)."""

    progress: Optional[JobProgress] = None
    statement: str = ""


_FULL_NOTES = ("over 100 %", "from src", "no row estimate")


def said(reading: Optional[TaskReading]) -> str:
    """What a task's last answer said: "stage", "zero", "none", or "" without an answer (JobProgress)."""
    m = reading.monitor if reading is not None else None
    if m is None:
        return ""
    if m.not_started:
        return "zero"
    return "stage" if m.stage.strip() or m.kafka_like else "none"


def _reports(what: str, running: bool) -> bool:
    """The task runs and dtle reports a stage for it (Kafka's dest reports none but its figures hold)."""
    return running and what == "stage"


def meaningful_figures(progress: Optional[JobProgress], src: Optional[TaskReading] = None,
                       dest: Optional[TaskReading] = None, *, stage_reached: str, src_running: bool,
                       dest_running: bool, why: str = "") -> FiguresView:
    """Keep dtle's figures only while they mean something:
    - none unless a task runs; dtle's all-zero answer (`stage ""`) becomes one statement that dtle has not
      started copying, with `why` (from the task events: the verdict's reason) when known;
    - progress %, ETA and rows only while the dest runs, the job has not reached the incremental and the
      task they come from reports a stage; the delay only while a task that reports a stage runs.
    `stage_reached` is model.stage.stage_reached's label ("full", "incr", other: none reached). Without
    the readings, what the progress kept of them (`src_said`, `dest_said`) stands in."""
    if not (src_running or dest_running):
        return FiguresView()
    src_said = said(src) if src is not None else (progress.src_said if progress is not None else "")
    dest_said = said(dest) if dest is not None else (progress.dest_said if progress is not None else "")
    running = [what for what, on in ((src_said, src_running), (dest_said, dest_running)) if on and what]
    if running and all(what == "zero" for what in running):
        reason = why or ("its dest is not running" if not dest_running else "it has not connected to MySQL yet")
        return FiguresView(statement=f"dtle has not started copying: {reason}")
    if progress is None:
        return FiguresView()
    p = progress
    from_src = p.percent_from == "src"
    full_ok = dest_running and stage_reached != "incr" and p.phase != "incr" and _reports(
        src_said if from_src else dest_said, src_running if from_src else dest_running)
    if not full_ok:
        p = replace(p, percent=None, percent_from="", rows_done=None, rows_estimated=None, eta_text="", eta_s=None,
                    notes=tuple(n for n in p.notes if not n.startswith(_FULL_NOTES)))
    if not (_reports(src_said, src_running) or _reports(dest_said, dest_running)):
        p = replace(p, delay_s=None, delay_frozen_since=None, queue_stuck_since=None,
                    backlog=None if not dest_running else p.backlog)
    if not dest_running:
        p = replace(p, backlog=None)
    return FiguresView(progress=p)


def frozen_since(previous: Optional[TaskMonitor], current: TaskMonitor, previous_since: Optional[float],
                 previous_at: float) -> Optional[float]:
    """Since when the Gtid has stood still while the delay (above 0) did not shrink: frozen (§2.3: a stuck
    queue freezes the delay instead of letting it grow) or growing (nothing applied while the source
    writes; issue 22 item 3). None while the Gtid moves, the delay shrinks or is 0."""
    if previous is None or not current.delay_s or current.delay_s <= 0:
        return None
    same = previous.delay_s is not None and current.delay_s >= previous.delay_s \
        and previous.gtid_set == current.gtid_set and previous.position == current.position
    if not same:
        return None
    return previous_since if previous_since is not None else previous_at


def taken_s(monitor: TaskMonitor, at: float) -> float:
    """When dtle took the figures, in epoch seconds by dtle's clock (its `timestamp`: ns for MySQL tasks,
    s for a Kafka dest, §1.4); `at` (the console's clock) when it sent none."""
    ts = monitor.timestamp
    if ts <= 0:
        return at
    return ts / 1e9 if ts >= _NS_TIMESTAMP_FROM else float(ts)


def same_since(previous: Optional[TaskMonitor], current: TaskMonitor, previous_since: Optional[float],
               previous_taken: Optional[float], taken: float) -> Optional[float]:
    """Since when (dtle's clock) the delay has been exactly `current.delay_s`, above 0, with the same Gtid
    and position: `previous_since` (or the previous reading's time) when the previous reading said the
    same, `taken` when this one starts a new run, None while the delay is 0 or unknown."""
    if current.delay_s is None or current.delay_s <= 0:
        return None
    same = previous is not None and previous.delay_s == current.delay_s \
        and previous.gtid_set == current.gtid_set and previous.position == current.position
    if not same:
        return taken
    return previous_since if previous_since is not None else (previous_taken if previous_taken is not None else taken)


# ---- where each node's dtle API is (§5) ------------------------------------------------------------

DEFAULT_DTLE_API_PORT = 8190
DEFAULT_DTLE_NOMAD_ADDR = "127.0.0.1:4646"  # dtle's own default for its plugin config `nomad_addr`


@dataclass(frozen=True)
class DtlePluginConfig:
    """What `/v1/agent/self` of a client says of its dtle plugin: `api_addr`'s port and `nomad_addr`."""

    api_port: Optional[int] = None  # None: no api_addr key (dtle's API is off there, or not written)
    nomad_addr: str = DEFAULT_DTLE_NOMAD_ADDR
    found: bool = False  # a dtle plugin entry was there at all


def _port_of(addr: str) -> Optional[int]:
    host, sep, port = addr.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return int(port)


def dtle_plugin_config(agent_self: Any) -> DtlePluginConfig:
    """`config.Plugins[] {Name:"dtle", Config:{api_addr, nomad_addr, …}}` (§5, checked on live agents §7).
    Only keys written in the client's HCL appear: a missing `nomad_addr` is dtle's default."""
    config = agent_self.get("config") if isinstance(agent_self, dict) else None
    plugins = config.get("Plugins") if isinstance(config, dict) else None
    for plugin in plugins if isinstance(plugins, list) else ():
        if isinstance(plugin, dict) and plugin.get("Name") == "dtle":
            conf = plugin.get("Config") if isinstance(plugin.get("Config"), dict) else {}
            api = as_str(conf.get("api_addr"))
            nomad = as_str(conf.get("nomad_addr")).strip() or DEFAULT_DTLE_NOMAD_ADDR
            return DtlePluginConfig(_port_of(api) if api else None, nomad, True)
    return DtlePluginConfig()


def node_http_addr(node: Any) -> str:
    """`HTTPAddr` of `/v1/node/<id>` (host:port of the node's Nomad agent; not in the list stubs, §7)."""
    return as_str(node.get("HTTPAddr")).strip() if isinstance(node, dict) else ""


def host_of(addr: str) -> str:
    """The host of `host:port` or `[v6]:port`."""
    host = addr.rsplit(":", 1)[0] if ":" in addr else addr
    return host.strip("[]")
