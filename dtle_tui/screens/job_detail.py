"""Job detail: summary (status, stage and since when, endpoints, Gtid), allocations, task events."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, Optional

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Sparkline, Static

from dtle_tui.clipboard import copy_and_notify
from dtle_tui.keys import ALLOC_WRITES, job_writes, write_name
from dtle_tui.live.snapshot import JobDetail, Snapshot
from dtle_tui.model.allocations import Allocation, alloc_role
from dtle_tui.model.monitor import JobProgress, meaningful_figures
from dtle_tui.model.stats import memory_limits
from dtle_tui.ops.incident import ReportError, report_job
from dtle_tui.screens.base import ConsoleScreen
from dtle_tui.screens.logs import LogsScreen
from dtle_tui.screens.spec import SpecScreen
from dtle_tui.text import clock, fmt
from dtle_tui.text.textsafe import safe_text
from dtle_tui.widgets.columns import fill_column
from dtle_tui.widgets.dtle_progress import DtleProgressPanel
from dtle_tui.widgets.job_summary import gtid_moved_text, summary_text
from dtle_tui.widgets.keyed_table import KeyedTable
from dtle_tui.widgets.not_placed import NotPlacedPanel
from dtle_tui.widgets.resources import ResourcesPanel
from dtle_tui.widgets.static_update import update_static

if TYPE_CHECKING:
    from dtle_tui.ops.report import ActionResult

log = logging.getLogger(__name__)

ALLOC_COLUMNS = [("id", "Alloc", 9), ("group", "Group", 6), ("node", "Node", 14), ("desired", "Desired", 8),
                 ("client", "Client", 9), ("restarts", "Restarts", 8), ("age", "Age", 6)]
EVENT_COLUMNS = [("time", "Time", 19), ("task", "Task", 5), ("type", "Type", 16), ("message", "Message", 60)]


def event_columns(width: int) -> list:
    """The event message takes the width left by the other columns."""
    return fill_column(EVENT_COLUMNS, "message", width, minimum=20)

CLIENT_STYLE = {"running": "green", "pending": "yellow", "failed": "bold red", "lost": "bold red",
                "complete": "dim"}


def alloc_cells(alloc: Allocation, now: float) -> list[Text]:
    return [
        Text(alloc.short_id),
        Text(safe_text(alloc.task_group)),
        Text(safe_text(alloc.node_name or alloc.node_id[:8])),
        Text(alloc.desired_status),
        Text(alloc.client_status, style=CLIENT_STYLE.get(alloc.client_status, "")),
        Text(str(alloc.restarts), justify="right"),
        Text(fmt.age_minutes(alloc.create_time_ns, now)),
    ]


def event_rows(alloc: Allocation) -> list[tuple[str, list[Text]]]:
    """Every task's events, newest first."""
    events = []
    for task in alloc.task_states:
        seen: dict = {}
        for ev in task.events:
            # Keyed by what the event is, not by its place in the list: a slim allocation holds only the
            # stage events, the whole one every event, and the cursor must stay on the same event.
            n = seen[(ev.time_ns, ev.type)] = seen.get((ev.time_ns, ev.type), -1) + 1
            events.append((ev.time_ns, f"{task.name}-{ev.time_ns}-{ev.type}-{n}", task.name, ev))
    events.sort(key=lambda e: e[0], reverse=True)
    rows = []
    for time_ns, key, task, ev in events:
        style = "bold red" if ev.type in ("Terminated", "Not Restarting", "Driver Failure", "Setup Failure") \
            and (ev.exit_code or ev.type != "Terminated") else ""
        if ev.driver_message.startswith("job_stage_"):
            style = "cyan"
        rows.append((key, [Text(fmt.ns_time(time_ns)), Text(safe_text(task)), Text(safe_text(ev.type), style=style),
                           Text(safe_text(ev.text))]))
    return rows


WHY_KINDS = frozenset({"failing", "failed", "queued", "starting"})


def tasks_running(allocs: tuple[Allocation, ...]) -> tuple[bool, bool]:
    """Whether a src task and a dest task run now (an allocation Nomad runs, its task state running);
    a group that is not named as a dtle role is neither."""
    src = dest = False
    for a in allocs:
        role = alloc_role(a)
        if a.client_status != "running" or a.desired_status not in ("run", "") or not role:
            continue
        on = any(t.state == "running" for t in a.task_states) if a.task_states else True
        if role == "src":
            src = src or on
        else:
            dest = dest or on
    return src, dest


ALLOC_WRITE_NAMES = frozenset(write_name(b.action) for b in ALLOC_WRITES)


class JobDetailScreen(ConsoleScreen):
    TITLE_TEXT = "job detail"
    KEYS_TITLE = "Job detail"
    AUTO_FOCUS = "#allocs"  # the allocations, not the summary above them (l, r and K act on their row)

    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="back to the list", id="dtle.detail.back"),
        Binding("enter", "open_alloc", "Allocation", tooltip="open the selected allocation",
                id="dtle.detail.open_alloc"),
        Binding("s", "spec", "Spec", tooltip="the job spec (secrets masked)", id="dtle.detail.spec"),
        Binding("l", "logs", "Logs", id="dtle.detail.logs",
                tooltip="task logs of the selected allocation (dtle's own lines for a dtle task, else stdout/stderr)"),
        Binding("c", "copy_gtid", "Copy Gtid", show=False, tooltip="copy the Gtid set (OSC 52)", id="dtle.detail.copy"),
        Binding("E", "incident_report", "Report", show=False,
                tooltip="write the job's incident report (Markdown for a ticket; allowed in read-only mode)",
                id="dtle.detail.report"),
        *job_writes(without=("add",)),
        *ALLOC_WRITES,
        Binding("x", "raw_placement", "Raw placement", show=False,
                tooltip="show / hide the raw FailedTGAllocs of the Not placed section", id="dtle.detail.raw_placement"),
        Binding("tab", "focus_next", "Next pane", show=False, tooltip="next pane (summary, allocations, events)",
                id="dtle.detail.next_pane"),
    ]

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id

    def compose(self) -> ComposeResult:
        yield from self.compose_banner()
        with Vertical(id="detail-body"):
            # What the job is, capped at half the screen and scrolled within (issue 26 item 4): at 80x24 the
            # allocations and the events keep their rows whatever the summary holds (`x`'s raw placement
            # included), so `l`, `r` and `K` act on a row the operator sees.
            with VerticalScroll(id="detail-top"):
                yield Static("", id="summary", markup=False)
                yield NotPlacedPanel(id="not-placed")
                yield ResourcesPanel(id="detail-resources")
                with Horizontal(id="rate-row"):
                    yield Static("Gtid rate ", id="rate-label", markup=False)
                    yield Sparkline([], id="rate-spark")
                yield DtleProgressPanel(id="dtle-progress")
            yield Static("Allocations", classes="section")
            yield KeyedTable(id="allocs", openable=True)
            yield Static("Events of the selected allocation, newest first", classes="section", id="events-title")
            yield KeyedTable(id="events", cursor_type="row", follow_top=True)
        yield from self.compose_status()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#allocs", KeyedTable).set_columns(ALLOC_COLUMNS)
        self.fit_columns(self.app.size.width)
        self.query_one("#allocs", KeyedTable).focus()

    def fit_columns(self, width: int) -> None:
        self.query_one("#events", KeyedTable).set_columns(event_columns(width))

    @property
    def allocs_table(self) -> KeyedTable:
        return self.query_one("#allocs", KeyedTable)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        super().show_snapshot(snapshot)
        detail = snapshot.detail
        if detail is None or detail.job_id != self.job_id:
            return
        progress = detail.progress  # taken on the poller's thread: nothing here reads its live arrays
        # To the minute: the summary is redrawn with every snapshot (the event stream's heartbeats too),
        # and a text in seconds would then be written again each time (issue 15).
        rate_text = f"{fmt.rate(progress.rate)}  {gtid_moved_text(progress, time.time())}" if progress else ""
        update_static(self.query_one("#summary", Static), summary_text(detail, snapshot, rate_text))
        spark = self.query_one("#rate-spark", Sparkline)
        history = list(progress.buckets) if progress else []
        self.query_one("#rate-row").display = len(history) > 1
        if history and list(spark.data or []) != history:
            spark.data = history
        setting = self.console.settings.dtle_api or ""
        self._show_figures(detail, snapshot.dtle.get(self.job_id), setting)
        now = clock.now()
        self.allocs_table.sync([(a.id, alloc_cells(a, now)) for a in detail.allocations])
        self._select_replacement(detail)
        self._show_events(detail)
        self._show_troubles(detail, snapshot)

    def _show_figures(self, detail: JobDetail, progress: Optional[JobProgress], setting: str) -> None:
        """dtle's figures only while they mean something (issue 22 item 2): the tasks that run, the stage
        the job reached; dtle's all-zero answer becomes one line saying why nothing is copied."""
        panel = self.query_one(DtleProgressPanel)
        if detail.job is not None and not any(t.driver == "dtle" for g in detail.job.task_groups for t in g.tasks):
            panel.show(None, setting, True, "", "none: not a dtle job (its tasks run under another driver)")
            return
        src_running, dest_running = tasks_running(detail.allocations)
        verdict = detail.verdict
        reached = verdict.stage.stage.value if verdict is not None else ""
        why = ""
        if verdict is not None and verdict.kind.value in WHY_KINDS:
            why = f"{verdict.task or 'a task'} fails: {verdict.last_error}" if verdict.last_error else verdict.reason
            if verdict.next_try_ns is not None:
                why += f", next try at {fmt.short_time(verdict.next_try_ns)}"
        view = meaningful_figures(progress, stage_reached=reached, src_running=src_running,
                                  dest_running=dest_running, why=why)
        figures = view.progress if dest_running else None  # a src alone copies nowhere: its figures mislead
        none_why = "" if dest_running else "no copy figures while the dest does not run"
        panel.show(figures, setting, src_running or dest_running, view.statement, none_why)

    def _show_troubles(self, detail: JobDetail, snapshot: Snapshot) -> None:
        """Why a group is not placed, and what the running tasks use (live/troubleshoot.py)."""
        row = snapshot.row(self.job_id)
        queued = None if row is None or row.src.queued or row.dest.queued else {}
        troubles = snapshot.troubles
        self.query_one("#not-placed", NotPlacedPanel).show(self.job_id, detail.job, troubles, snapshot.nodes, queued)
        raw = detail.job.raw if detail.job is not None else {}
        limits = {a.id: memory_limits(raw, a.task_group) for a in detail.allocations}
        self.query_one("#detail-resources", ResourcesPanel).show(
            detail.allocations, troubles.stats if troubles is not None else {}, limits)

    def current_allocation(self) -> Optional[Allocation]:
        return self.selected_allocation()

    def write_target(self, name: str) -> Any:
        """The selected allocation for r / K, the job for the job's keys."""
        return self.current_allocation() if name in ALLOC_WRITE_NAMES else self.job_id

    def write_done(self, name: str, target: Any, result: ActionResult) -> None:
        """After K: select the replacement when it is listed (list stubs carry no NextAllocation: the
        newest allocation of the same group created after the stopped one)."""
        if name != "stop-alloc" or not result.ok:
            return
        detail = self.own_detail()
        old = next((a for a in detail.allocations if a.id == target.id), None) if detail else None
        self._follow = (old.task_group, old.create_index) if old is not None else None

    def _select_replacement(self, detail: JobDetail) -> None:
        follow = getattr(self, "_follow", None)
        if follow is None:
            return
        group, after = follow
        new = [a for a in detail.allocations if a.task_group == group and a.create_index > after
               and a.desired_status == "run"]
        if new:
            self._follow = None
            table = self.allocs_table
            keys = table.row_keys
            newest = max(new, key=lambda a: a.create_index)
            if newest.id in keys:
                table.move_cursor(row=keys.index(newest.id))
                self.flash(f"Replacement allocation {newest.short_id} selected.")

    def action_raw_placement(self) -> None:
        panel = self.query_one("#not-placed", NotPlacedPanel)
        if not panel.report:
            self.flash("Every task group is placed: no FailedTGAllocs to show.")
            return
        panel.raw = not panel.raw
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    def _show_events(self, detail: JobDetail) -> None:
        alloc = self.selected_allocation(detail)
        rows = event_rows(alloc) if alloc else []
        self.query_one("#events", KeyedTable).sync(rows)
        title = f"Events of allocation {alloc.short_id} ({safe_text(alloc.task_group)}), newest first" if alloc \
            else "No allocation"
        update_static(self.query_one("#events-title", Static), Text(title))

    def own_detail(self) -> Optional[JobDetail]:
        """The poller's job detail if it is this screen's job. Until this job's arrives it may still be the
        job of a Job detail opened before (from the palette or Node detail, over another): its allocations,
        spec and events must not pass for this job's, nor `l`, `r` or `K` act on them."""
        detail = self.snapshot.detail if self.snapshot else None
        return detail if detail is not None and detail.job_id == self.job_id else None

    def selected_allocation(self, detail: Optional[JobDetail] = None) -> Optional[Allocation]:
        detail = detail or self.own_detail()
        if detail is None or detail.job_id != self.job_id:
            return None
        key = self.allocs_table.selected_key
        for alloc in detail.allocations:
            if alloc.id == key:
                return alloc
        return detail.allocations[0] if detail.allocations else None

    @on(DataTable.RowHighlighted, "#allocs")
    def _alloc_highlighted(self, event: DataTable.RowHighlighted) -> None:
        detail = self.own_detail()
        if detail is not None:
            self._show_events(detail)

    @on(DataTable.RowSelected, "#allocs")
    def _alloc_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_alloc()

    def action_open_alloc(self) -> None:
        alloc = self.selected_allocation()
        if alloc is not None:
            self.console.open_allocation(alloc.id)

    def action_logs(self) -> None:
        alloc = self.selected_allocation()
        if alloc is None:
            self.flash("No allocation selected.", "warning")
            return
        self.app.push_screen(LogsScreen.for_allocation(alloc))

    def action_copy_gtid(self) -> None:
        pos = self.snapshot.positions.get(self.job_id) if self.snapshot else None
        copy_and_notify(self.app, pos.gtid_text if pos else None, "Gtid set")

    def action_back(self) -> None:
        self.console.go_back()

    def action_spec(self) -> None:
        detail = self.own_detail()
        if detail is None or detail.job is None:
            self.flash("The job spec is not loaded yet (or the job was purged).", "warning")
            return
        self.app.push_screen(SpecScreen(self.job_id, detail.job.raw))

    def action_incident_report(self) -> None:
        """`E`: a Markdown report of this job under the state directory (it changes nothing on the
        cluster, so read-only allows it); written off the UI thread, then the path is shown."""
        snapshot = self.snapshot
        if snapshot is None:
            self.flash("Nothing loaded yet: try again in a moment.", "warning")
            return
        detail = self.own_detail()
        progress = detail.progress if detail is not None else None
        rate = progress.rate if progress else None
        advanced = progress.advanced_s(time.time()) if progress else None
        settings, job_id = self.console.settings, self.job_id

        async def write() -> None:
            try:
                path = await asyncio.to_thread(report_job, settings, snapshot, job_id, rate, advanced)
            except ReportError as exc:
                self.app.notify(f"Incident report: {exc}", severity="error", timeout=8, markup=False)
            except Exception:  # a bug must not take the console down with it: the log has the traceback
                log.exception("incident report of %s failed", job_id)
                self.app.notify(f"Incident report failed; details in {settings.log_file}", severity="error",
                                timeout=8, markup=False)
            else:
                self.app.notify(f"Incident report written: {path}", timeout=12, markup=False)

        self.app.run_worker(write(), group="incident-report")
