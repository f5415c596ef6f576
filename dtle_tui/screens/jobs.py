"""Jobs (home): one row per dtle job, the jobs that need the operator first (issue 23): verdict, stage
reached, allocation health, reason; counts of what needs attention; `!` for only those."""

from __future__ import annotations

from typing import Optional

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from dtle_tui.clipboard import copy_and_notify
from dtle_tui.keys import job_writes
from dtle_tui.live.snapshot import JobRow, Snapshot
from dtle_tui.model.attention import (
    ATTENTION_SORT,
    attention_counts,
    counts_text,
    needing_attention,
    reason_now,
)
from dtle_tui.model.stage import Stage
from dtle_tui.model.verdict import fit
from dtle_tui.screens.base import ConsoleScreen
from dtle_tui.text import clock
from dtle_tui.widgets.columns import fill_column, for_width, layout
from dtle_tui.widgets.dtle_progress import dtle_cell
from dtle_tui.widgets.job_columns import (
    BY_KEY,
    COLUMNS,
    DTLE_FROM,
    FIGURES_FROM,
    ID_NARROW,
    REASON_MIN,
    SORT_NAMES,
    job_ages,
    job_key,
    row_cells,
    runs,
    sort_rows,
    sorted_label,
)
from dtle_tui.widgets.virtual_table import VirtualTable


class JobsScreen(ConsoleScreen):
    TITLE_TEXT = "dtle jobs"
    KEYS_TITLE = "Jobs"
    READD_PICKS_SAVED = True  # `R` offers every saved spec, a purged job's too (job_actions.readd)

    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="open the job", id="dtle.jobs.open"),
        Binding("slash", "filter", "Filter", tooltip="filter by substring", id="dtle.jobs.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, tooltip="clear the filter",
                id="dtle.jobs.clear_filter"),
        Binding("o", "sort_next", "Sort", show=False,
                tooltip="sort by the next column, then back to attention order (or click a header)",
                id="dtle.jobs.sort"),
        Binding("O", "sort_reverse", "Reverse", show=False, tooltip="reverse the sort", id="dtle.jobs.sort_reverse"),
        Binding("exclamation_mark", "toggle_attention", "Attention", show=False,
                tooltip="only the jobs that need attention (again: every job)", id="dtle.jobs.attention"),
        Binding("c", "copy_job_id", "Copy ID", show=False,
                tooltip="copy the job ID (OSC 52: works over SSH and in tmux)", id="dtle.jobs.copy"),
        *job_writes(),
    ]

    def __init__(self) -> None:
        super().__init__()
        # The sort and `!` hold for the session: this screen lives as long as the app (a context switch
        # keeps it), so what the operator chose stays while they visit details and other clusters.
        self.sort_key, self.sort_reverse = ATTENTION_SORT, False
        self.only_attention = False
        self.filter_text = ""
        self._counts_text: Optional[str] = None
        self.columns: tuple[str, ...] = tuple(c.key for c in for_width(COLUMNS, 0))
        self._empty_note: Optional[str] = None
        self._sorted_rows: Optional[tuple[tuple[JobRow, ...], str, bool, list[JobRow]]] = None
        self._reason_width = REASON_MIN
        self._id_width = 0
        self._longest_of: tuple = ()
        self._longest = 12
        self._pinned = True  # the cursor stays on the first row until it is moved from there

    def compose(self) -> ComposeResult:
        yield from self.compose_banner()
        with Vertical(id="jobs-body"):
            # How many jobs need attention, and whether only those are shown (`!`): live, at 80 columns.
            yield Static("", id="jobs-counts", markup=False)
            # Virtualised: at 5,000 jobs only the rows in view are formatted and painted.
            yield VirtualTable(job_key, row_cells, self._stamp, id="jobs-table", openable=True)
            yield Static("", id="jobs-empty", classes="empty-note", markup=False)
        yield from self.compose_status()

    def on_mount(self) -> None:
        super().on_mount()
        self._apply_columns()
        self.table.focus()
        # Scrolling changes the rows in view without a snapshot (asks nothing while the column is off).
        self.set_interval(2.0, self._report_rows_in_view)

    def fit_columns(self, width: int) -> None:
        self._apply_columns()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#jobs-table", VirtualTable)

    def _apply_columns(self) -> None:
        width = self.size.width or self.app.size.width
        dtle = bool(self.console.settings.dtle_api)
        shown = [c for c in for_width(COLUMNS, width) if c.key != "dtle" or dtle]
        self.columns = tuple(c.key for c in shown)
        spec = []
        for key, label, w in layout(shown):
            if key == self.sort_key:
                label = sorted_label(label, w, "▼" if self.sort_reverse else "▲")
            spec.append((key, label, w))
        # The ID as wide as the longest one (job names are at most 64 characters, docs/reference/dtle.md §1),
        # narrower below FIGURES_FROM; the reason takes the rest.
        id_width = self._id_width_for(self.snapshot.rows if self.snapshot is not None else (), width)
        spec = [(k, label, id_width if k == "id" else w) for k, label, w in spec]
        spec = fill_column(spec, "reason", width, minimum=REASON_MIN)
        self._reason_width = next(w for k, _l, w in spec if k == "reason")
        self._id_width = id_width
        self.table.set_columns(spec)

    def _id_width_for(self, rows: tuple, width: int) -> int:
        if rows is not self._longest_of:  # once per new tuple of rows (the same tuple when none changed)
            self._longest_of, self._longest = rows, max((len(r.id) for r in rows), default=12)
        return max(12, min(self._longest, ID_NARROW if width < FIGURES_FROM else 64))

    def visible_rows(self, snapshot: Snapshot) -> list[JobRow]:
        rows = self._sorted(snapshot)
        if self.only_attention:
            rows = needing_attention(rows, lambda r: r.verdict)
        if self.filter_text:
            needle = self.filter_text.lower()
            rows = [r for r in rows if needle in r.id.lower()]
        return rows

    def _sorted(self, snapshot: Snapshot) -> list[JobRow]:
        """Every row in the sort order, kept for the snapshot: a filter keystroke then only filters
        (filtering keeps the order), it does not sort 5,000 rows again."""
        cached = self._sorted_rows
        if cached is not None and cached[0] is snapshot.rows and cached[1:3] == (self.sort_key, self.sort_reverse):
            return cached[3]
        rows = sort_rows(snapshot.rows, self.sort_key, self.sort_reverse)
        self._sorted_rows = (snapshot.rows, self.sort_key, self.sort_reverse, rows)
        return rows

    # ---- dtle's Progress / Delay column ------------------------------------------------------------
    def _stamp(self, row: JobRow) -> tuple:
        """What changes a row's texts without changing the row: its ages and, with the column shown, dtle's
        figures (the table repaints a row in view when this changes)."""
        reason = reason_now(row.verdict, int(clock.now() * 1e9), row.stalled_since_ns, self._reason_width)
        if not reason and not row.is_dtle:
            # A job of another driver: its groups' counts under their names (Src and Dest are dtle's roles).
            reason = fit(f"not dtle: {row.others_text()}", self._reason_width)
        ages = job_ages(row) + (reason,)
        if "dtle" not in self.columns:
            return ages
        if not runs(row) or not row.is_dtle:
            return ages + (("", ""),)  # dtle's figures of a job that does not run, or not dtle's, mean nothing
        snapshot = self.snapshot
        cell = dtle_cell(snapshot.dtle.get(row.id) if snapshot is not None else None)
        return ages + ((cell.plain, str(cell.style)),)

    def _report_rows_in_view(self) -> None:
        """Tell the poller which running jobs are in view, whose dtle figures to read. Without the column (a
        narrow terminal), only those in the incremental stage: dtle's frozen delay is how their stall is
        known at once (model/stall.py), at 80 columns too."""
        ids: tuple = ()
        shown = "dtle" in self.columns
        if (shown or self.console.settings.dtle_api) and self.is_current:
            table = self.table
            top = int(table.scroll_y)
            rows = table.rows[top: top + max(0, table.size.height - 1)]
            ids = tuple(r.id for r in rows if r.status == "running" and r.dest.running and r.is_dtle
                        and (shown or r.stage is Stage.INCREMENTAL))
        if ids != getattr(self, "_dtle_rows", None):
            self._dtle_rows = ids
            self.console.watch_dtle_rows(ids)

    def on_screen_suspend(self) -> None:
        self._report_rows_in_view()  # covered by another screen: its rows are not in view

    def show_snapshot(self, snapshot: Snapshot) -> None:
        super().show_snapshot(snapshot)
        rows = self.visible_rows(snapshot)
        width = self.size.width or self.app.size.width
        if snapshot.rows and self._id_width_for(snapshot.rows, width) != self._id_width:
            self._apply_columns()  # the ID column follows the longest ID (the reason takes the rest)
        table = self.table
        if table.cursor_row:
            self._pinned = False  # moved away from the first row
        table.set_rows(rows)
        if self._pinned and rows and table.cursor_row:
            # Until the operator moves, the cursor stays on the first row: the verdicts arrive with the
            # allocations, after the first rows were painted, and reorder them.
            table.move_cursor(row=0)
        self._show_counts(snapshot)
        wanted = bool(self.console.settings.dtle_api) and (self.size.width or self.app.size.width) >= DTLE_FROM
        if wanted != ("dtle" in self.columns):
            self._apply_columns()  # another context, with or without dtle's API
        if self.console.settings.dtle_api:
            self.call_after_refresh(self._report_rows_in_view)
        empty = self.query_one("#jobs-empty", Static)
        if rows:
            note = ""
        elif self.filter_text:
            note = f"No job matches the filter {self.filter_text!r} (escape clears it)."
        elif self.only_attention and snapshot.rows:
            note = "No job needs attention (! shows every job)."
        elif snapshot.nomad.ok_at is None and snapshot.nomad.error:
            note = f"No data yet: {snapshot.nomad.error}"
        elif snapshot.nomad.ok_at is None:
            note = "Connecting to Nomad…"
        else:
            note = "Nomad has no jobs."
        if note != self._empty_note:  # Static.update costs a layout pass: only when the note changes
            self._empty_note = note
            empty.display = bool(note)
            empty.update(note)

    # ---- keys ---------------------------------------------------------------------------------
    @property
    def selected_job(self) -> Optional[str]:
        return self.table.selected_key

    def current_job_id(self) -> Optional[str]:
        return self.selected_job

    def write_target(self, name: str) -> Optional[str]:
        return None if name == "add" else self.selected_job

    def action_copy_job_id(self) -> None:
        copy_and_notify(self.app, self.selected_job, "job ID")

    def action_open(self) -> None:
        job = self.selected_job
        if job:
            self.console.open_job(job)

    @on(VirtualTable.RowSelected, "#jobs-table")
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(VirtualTable.HeaderSelected, "#jobs-table")
    def _header_selected(self, event: VirtualTable.HeaderSelected) -> None:
        key = event.column_key
        if key == self.sort_key:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_key, self.sort_reverse = key, False
        self._resort()

    def action_sort_next(self) -> None:
        """The next column, and after the last one the attention order again."""
        order = [ATTENTION_SORT, *self.columns]
        i = order.index(self.sort_key) if self.sort_key in order else 0
        self.sort_key = order[(i + 1) % len(order)]
        self.sort_reverse = False
        self._resort()

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._resort()

    def _resort(self) -> None:
        self._apply_columns()
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)
        name = SORT_NAMES.get(self.sort_key) or BY_KEY[self.sort_key].label
        self.flash(f"sorted by {name}{' (reversed)' if self.sort_reverse else ''}", timeout=2)

    def action_toggle_attention(self) -> None:
        self.only_attention = not self.only_attention
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    def _show_counts(self, snapshot: Snapshot) -> None:
        """`1 failing · 2 not placed · 1 stalled`, and while `!` is on, that only those are shown."""
        counts = attention_counts(r.verdict for r in snapshot.rows)
        text = counts_text(counts)
        # One line that fits 80 columns: the sort is marked in its column's header, not here.
        if snapshot.nomad.ok_at is None and not snapshot.rows:
            line = ""
        elif self.only_attention:
            line = f"Showing only: {text or 'nothing needs attention'}  (! shows all)"
        elif text:
            line = f"Needs attention: {text}"
        else:
            line = "Nothing needs attention."
        if line != self._counts_text:
            self._counts_text = line
            box = self.query_one("#jobs-counts", Static)
            box.display = bool(line)
            # Coloured by class (dtle_tui.tcss), so NO_COLOR's rule keeps it bold on the foreground.
            box.set_class(bool(text), "-attention")
            box.update(line)

    def _filter_box(self) -> Optional[Input]:
        boxes = self.query("#filter")
        return boxes.first(Input) if boxes else None

    async def action_filter(self) -> None:
        box = self._filter_box()
        if box is None:
            # Mounted at the first `/`, not with the screen: the job list's first paint does without it.
            box = Input(placeholder="filter jobs (substring), enter to apply, escape to clear", id="filter")
            await self.query_one("#jobs-body").mount(box, before=self.table)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self._filter_box()
        if not self.filter_text and (box is None or not box.display):
            return
        if box is not None:
            box.value = ""
            box.display = False
        self.filter_text = ""
        self.table.focus()
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()
        if not self.filter_text:
            event.input.display = False
