"""Allocation detail: task states, every event, node, reschedule history, and why a task failed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from dtle_tui.keys import ALLOC_WRITES
from dtle_tui.live.snapshot import Snapshot
from dtle_tui.model.allocations import Allocation
from dtle_tui.screens.base import ConsoleScreen
from dtle_tui.screens.job_detail import CLIENT_STYLE, event_columns, event_rows
from dtle_tui.screens.logs import LogsScreen
from dtle_tui.text import fmt
from dtle_tui.text.textsafe import safe_text
from dtle_tui.widgets.keyed_table import KeyedTable
from dtle_tui.widgets.resources import ResourcesPanel
from dtle_tui.widgets.static_update import update_static

if TYPE_CHECKING:
    from dtle_tui.ops.report import ActionResult


def allocation_text(alloc: Allocation) -> Text:
    out = Text()
    out.append(f"Allocation {alloc.id}", style="bold")
    out.append(f"\n{safe_text(alloc.name)}  job {safe_text(alloc.job_id)} v{alloc.job_version}  "
               f"group {safe_text(alloc.task_group)}")
    out.append(f"\nnode {safe_text(alloc.node_name)} ({alloc.node_id[:8]})   desired {alloc.desired_status}   client ")
    out.append(alloc.client_status, style=CLIENT_STYLE.get(alloc.client_status, ""))
    if alloc.client_description:
        out.append(f" ({safe_text(alloc.client_description)})")
    out.append(f"   created {fmt.ns_time(alloc.create_time_ns)}")
    error = alloc.error_text
    if error:
        out.append("\nError: ", style="bold red")
        out.append(safe_text(error, max_len=1000), style="red")
    for task in alloc.task_states:
        out.append(f"\nTask {safe_text(task.name)}: ", style="bold")
        out.append(task.state, style="green" if task.state == "running" else "red" if task.failed else "")
        out.append(f"  failed={str(task.failed).lower()}  restarts={task.restarts}"
                   f"  started {fmt.dt_text(task.started_at)}  finished {fmt.dt_text(task.finished_at)}")
        if task.last_restart:
            out.append(f"  last restart {fmt.dt_text(task.last_restart)}")
    if alloc.reschedule_events:
        out.append("\nReschedule history:", style="bold")
        for ev in alloc.reschedule_events:
            out.append(f"\n  {fmt.ns_time(ev.time_ns)}  from allocation {ev.prev_alloc_id[:8]} on node "
                       f"{ev.prev_node_id[:8]}  delay {fmt.duration(ev.delay_ns / 1e9)}")
    if alloc.previous_allocation:
        out.append(f"\nPrevious allocation {alloc.previous_allocation[:8]}")
    if alloc.next_allocation:
        out.append(f"\nReplaced by allocation {alloc.next_allocation[:8]}")
    return out


class AllocationScreen(ConsoleScreen):
    TITLE_TEXT = "allocation"
    KEYS_TITLE = "Allocation"

    BINDINGS = [Binding("escape", "back", "Back", tooltip="back to the job", id="dtle.allocation.back"),
                Binding("l", "logs", "Logs", tooltip="task logs (dtle's own lines for a dtle task, else stdout/stderr)",
                        id="dtle.allocation.logs"),
                *ALLOC_WRITES]

    def __init__(self, alloc_id: str) -> None:
        super().__init__()
        self.alloc_id = alloc_id
        self._follow_from: str = ""  # a stopped allocation whose replacement the screen moves to

    def compose(self) -> ComposeResult:
        yield from self.compose_banner()
        with VerticalScroll(id="alloc-body"):
            yield Static(Text("Loading allocation…"), id="alloc-summary")
            yield ResourcesPanel(id="alloc-resources")
            yield Static("All events, newest first", classes="section")
            yield KeyedTable(id="alloc-events", follow_top=True)
        yield from self.compose_status()

    def on_mount(self) -> None:
        super().on_mount()
        self.fit_columns(self.app.size.width)
        self.query_one("#alloc-events", KeyedTable).focus()

    def fit_columns(self, width: int) -> None:
        self.query_one("#alloc-events", KeyedTable).set_columns(event_columns(width))

    def show_snapshot(self, snapshot: Snapshot) -> None:
        super().show_snapshot(snapshot)
        alloc = snapshot.allocation
        summary = self.query_one("#alloc-summary", Static)
        if alloc is None or alloc.id != self.alloc_id:
            if snapshot.allocation_error:
                update_static(summary, Text(snapshot.allocation_error, style="bold red"))
            return
        if self._follow_from == alloc.id and alloc.next_allocation:
            self._follow(alloc.next_allocation)
        update_static(summary, allocation_text(alloc))
        troubles = snapshot.troubles
        self.query_one("#alloc-resources", ResourcesPanel).show([alloc], troubles.stats if troubles else {})
        self.query_one("#alloc-events", KeyedTable).sync(event_rows(alloc))

    def current_allocation(self):
        snap = self.snapshot
        alloc = snap.allocation if snap is not None else None
        return alloc if alloc is not None and alloc.id == self.alloc_id else None

    def write_target(self, name: str) -> Any:
        return self.current_allocation()

    def write_done(self, name: str, target: Any, result: ActionResult) -> None:
        """After K: follow the replacement once Nomad names it (NextAllocation)."""
        if name == "stop-alloc" and result.ok:
            self._follow_from = target.id
            if self.snapshot is not None:
                self.show_snapshot(self.snapshot)

    def _follow(self, new_id: str) -> None:
        """The stopped allocation was replaced (NextAllocation): show the replacement instead."""
        self._follow_from = ""
        self.flash(f"Allocation {self.alloc_id[:8]} was replaced by {new_id[:8]}: following it.")
        self.alloc_id = new_id
        self.console.follow_allocation(new_id)

    def action_logs(self) -> None:
        alloc = self.current_allocation()
        if alloc is None:
            self.flash("The allocation is not loaded yet.", "warning")
            return
        self.app.push_screen(LogsScreen.for_allocation(alloc))

    def action_back(self) -> None:
        self.console.go_back()
