"""Task states and task events of an allocation (model/allocations.py holds them).

Event fields and the server-side DisplayMessage rules: docs/reference/nomad-api.md §4.3. The client keeps
only the last 10 events per task, so the "why it failed" text is built from what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Optional

from dtle_tui.model.wire import (
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_str,
    go_duration,
    go_quote,
    ns_to_datetime,
    parse_time,
)


@dataclass(frozen=True)
class TaskEvent:
    type: str
    time_ns: int = 0
    message: str = ""
    display_message: str = ""
    driver_message: str = ""
    details: dict[str, str] = field(default_factory=dict, hash=False)
    exit_code: int = 0
    fails_task: bool = False
    restart_reason: str = ""
    signal: int = 0
    setup_error: str = ""
    driver_error: str = ""
    kill_error: str = ""
    kill_reason: str = ""
    kill_timeout_ns: int = 0
    start_delay_ns: int = 0
    download_error: str = ""
    validation_error: str = ""
    failed_sibling: str = ""
    vault_error: str = ""

    @property
    def time(self) -> Optional[datetime]:
        return ns_to_datetime(self.time_ns)

    @property
    def text(self) -> str:
        return self.display_message or self.driver_message or self.message


def display_message(ev: TaskEvent) -> str:
    """What Nomad puts in DisplayMessage (docs/reference/nomad-api.md §4.3); doc samples and 0.x agents omit it."""
    t = ev.type
    if t == "Received":
        return "Task received by client"
    if t == "Started":
        return "Task started by client"
    if t == "Driver":
        return ev.driver_message
    if t == "Terminated":
        text = f"Exit Code: {ev.exit_code}"
        if ev.signal:
            text += f", Signal: {ev.signal}"
        if ev.message:
            text += f", Exit Message: {go_quote(ev.message)}"
        return text
    if t == "Killing":
        wait = go_duration(ev.kill_timeout_ns)
        return ev.kill_reason or f"Sent interrupt. Waiting {wait} before force killing"
    if t == "Killed":
        return ev.kill_error or "Task successfully killed"
    if t == "Restarting":
        prefix = f"{ev.restart_reason} - " if ev.restart_reason else ""
        return f"{prefix}Task restarting in {go_duration(ev.start_delay_ns)}"
    if t == "Not Restarting":
        return ev.restart_reason or "Task exceeded restart policy"
    if t == "Driver Failure":
        return ev.driver_error or "Failed to start task"
    if t == "Sibling Task Failed":
        return f"Task's sibling {go_quote(ev.failed_sibling)} failed"
    if t == "Leader Task Dead":
        return "Leader Task in Group dead"
    # Beyond §4.3: an empty Message on a failure event still has its typed error field.
    return (ev.message or ev.setup_error or ev.validation_error or ev.download_error or ev.vault_error
            or ev.driver_error)


def _event(d: dict) -> TaskEvent:
    g = d.get
    details = g("Details")
    ev = TaskEvent(
        type=as_str(g("Type")), time_ns=as_int(g("Time")), message=as_str(g("Message")),
        display_message=as_str(g("DisplayMessage")), driver_message=as_str(g("DriverMessage")),
        details={str(k): as_str(v) for k, v in details.items()} if isinstance(details, dict) else {},
        exit_code=as_int(g("ExitCode")), fails_task=as_bool(g("FailsTask")),
        restart_reason=as_str(g("RestartReason")), signal=as_int(g("Signal")),
        setup_error=as_str(g("SetupError")), driver_error=as_str(g("DriverError")),
        kill_error=as_str(g("KillError")), kill_reason=as_str(g("KillReason")),
        kill_timeout_ns=as_int(g("KillTimeout")), start_delay_ns=as_int(g("StartDelay")),
        download_error=as_str(g("DownloadError")), validation_error=as_str(g("ValidationError")),
        failed_sibling=as_str(g("FailedSibling")), vault_error=as_str(g("VaultError")),
    )
    if not ev.display_message:
        computed = display_message(ev)
        if computed:
            object.__setattr__(ev, "display_message", computed)
    return ev


# Event types that say what went wrong (as opposed to the restart verdict that follows them).
_CAUSE_TYPES = frozenset({
    "Driver Failure", "Setup Failure", "Failed Validation", "Failed Artifact Download", "Task hook failed",
    "Failed Restoring Task", "Disk Resources Exceeded", "Sibling Task Failed", "Leader Task Dead",
    "Plugin became unhealthy",
})


def is_error_event(ev: TaskEvent) -> bool:
    if ev.type == "Terminated":
        # dtle exits 0 when done, 1 to be restarted, 2 when dead, with the error in Message (docs/reference/dtle.md §6).
        return bool(ev.exit_code or ev.signal or ev.message or ev.details.get("exit_message"))
    if ev.type == "Killed":
        return bool(ev.kill_error)
    return ev.type in _CAUSE_TYPES or (ev.fails_task and ev.type != "Not Restarting")


# What Nomad sends before it kills a task itself (a user restart, a stop, a drain): the Terminated that
# follows (137 after SIGKILL) is the kill's outcome, not the task failing.
_KILLS = frozenset({"Killing", "Restart Signaled", "Signaling"})


def error_events(events: Iterable[TaskEvent]) -> list:
    """The events that carry an error, in order, leaving out a Terminated that follows Nomad's own kill."""
    out = []
    before: Optional[TaskEvent] = None
    for ev in events:
        if is_error_event(ev) and not (ev.type == "Terminated" and before is not None and before.type in _KILLS):
            out.append(ev)
        before = ev
    return out


@dataclass(frozen=True)
class TaskState:
    name: str
    state: str = ""
    failed: bool = False
    restarts: int = 0
    last_restart: Optional[datetime] = None
    started_at: Optional[datetime] = None
    finished_at: Optional[datetime] = None
    events: tuple[TaskEvent, ...] = ()

    @property
    def last_error(self) -> Optional[str]:
        """The latest error-carrying event's text, joined with the Not Restarting verdict after it,
        e.g. `Exit Code: 2; Not Restarting: Exceeded allowed attempts 1 in interval 10m0s …`."""
        cause: Optional[TaskEvent] = None
        verdict: Optional[TaskEvent] = None
        errors = {id(ev) for ev in error_events(self.events)}
        for ev in self.events:
            if id(ev) in errors:
                cause, verdict = ev, None
            elif ev.type == "Not Restarting":
                verdict = ev
        if cause is not None and verdict is not None:
            return f"{cause.text or cause.type}; Not Restarting: {verdict.text}"
        if cause is not None:
            return cause.text or cause.type
        if verdict is not None:
            return f"Not Restarting: {verdict.text}"
        return None


def _task_state(name: str, d: Any) -> TaskState:
    if not isinstance(d, dict):
        return TaskState(name)
    events = [_event(e) for e in as_list(d.get("Events")) if isinstance(e, dict)]
    # The list is append-ordered on the wire; a stable sort by Time costs little and makes
    # "latest" mean latest even for hand-made data.
    events.sort(key=lambda e: e.time_ns)
    g = d.get
    return TaskState(
        name=name, state=as_str(g("State")), failed=as_bool(g("Failed")), restarts=as_int(g("Restarts")),
        last_restart=parse_time(g("LastRestart")), started_at=parse_time(g("StartedAt")),
        finished_at=parse_time(g("FinishedAt")), events=tuple(events),
    )


def parse_task_states(raw: Any) -> tuple[TaskState, ...]:
    """`TaskStates` map -> TaskStates sorted by task name (map order is random on the wire, §0)."""
    states = as_dict(raw)
    return tuple(_task_state(str(name), states[name]) for name in sorted(states, key=str))
