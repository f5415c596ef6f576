"""Consul drift: what Consul keeps for jobs Nomad no longer has, and running jobs with no saved position.

dtle never deletes its Consul data when a job is deleted ("job删除后，dtle不会自动删除consul上的信息",
dtle.md §1), and a re-created job with the same name silently resumes from it (dtle.md §10 #2). This
screen lists `dtle/<job>/` trees and `dtleJobList/<job>` entries whose job is gone from Nomad, plus
running jobs without a saved position. The rows come from `Snapshot.orphans` (the poller decides).

Cleaning up a leftover (`G` or `x`) is the Gtid reset of a job that no longer exists: the same
confirmation (type the job ID), the same backup of every key first, the same audit line, through
`Actions.reset_gtid` — which deletes `dtle/<job>/` with the trailing slash (so `job1` never takes
`job10`'s keys) and `dtleJobList/<job>` exactly (dtle.md §4).
"""

from __future__ import annotations

import asyncio
from typing import Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from dtle_tui.clipboard import copy_and_notify
from dtle_tui.screens.base import ConsoleScreen
from dtle_tui.snapshot import Orphan, Snapshot
from dtle_tui.textsafe import safe_text
from dtle_tui.widgets.keyed_table import KeyedTable

KEYS_WITHOUT_JOB = "keys without job"
COLUMNS = [
    ("job", "Job", 22),
    ("kind", "Kind", 20),
    ("keys", "Consul keys", 21),
    ("gtid", "Gtid", None),
]
NOTHING = (
    "No Consul drift: every dtle/ and dtleJobList/ entry belongs to a Nomad job, and every running job "
    "has a saved position."
)


def orphan_key(orphan: Orphan) -> str:
    return f"{orphan.kind}\x00{orphan.job_id}"


def key_names(orphan: Orphan) -> str:
    """`dtle/ ×4, dtleJobList` style, short enough for a cell (full names in the detail pane)."""
    if not orphan.keys:
        return "—"
    tree = sum(1 for k in orphan.keys if k.startswith(f"dtle/{orphan.job_id}/"))
    parts = [f"dtle/ ×{tree}"] if tree else []
    if f"dtleJobList/{orphan.job_id}" in orphan.keys:
        parts.append("dtleJobList")
    return ", ".join(parts) or f"{len(orphan.keys)} keys"


def orphan_cells(orphan: Orphan) -> list:
    kind_style = "yellow" if orphan.kind == KEYS_WITHOUT_JOB else "cyan"
    return [
        Text(safe_text(orphan.job_id, max_len=22)),
        Text(orphan.kind, style=kind_style),
        Text(safe_text(key_names(orphan), max_len=21)),
        Text(safe_text(orphan.gtid_text or "—", max_len=80), style="" if orphan.gtid_text else "dim"),
    ]


def orphan_detail(orphan: Optional[Orphan]) -> Text:
    if orphan is None:
        return Text("")
    out = Text()
    out.append(safe_text(orphan.job_id), style="bold")
    if orphan.kind == KEYS_WITHOUT_JOB:
        out.append(
            ": no such job in Nomad (purged or never registered here). A job registered again under "
            "this name resumes from these keys, not from its config.\n"
        )
        out.append("Keys: ", style="bold")
        out.append(safe_text(", ".join(orphan.keys), max_len=600))
        out.append("\nG or x removes them (backup first, audited); c copies the job ID.", style="dim")
    else:
        out.append(
            ": running, but Consul holds no position for it (full copy not finished, or the "
            "applier cannot write to Consul). Nothing to clean up."
        )
    if orphan.gtid_text:
        out.append("\nGtid: ", style="bold")
        out.append(safe_text(orphan.gtid_text, max_len=600))
    return out


class OrphansScreen(ConsoleScreen):
    TITLE_TEXT = "orphans: Consul drift"

    DEFAULT_CSS = """
    OrphansScreen #orphans-body { height: 1fr; }
    OrphansScreen #orphans-table { height: 1fr; }
    OrphansScreen #orphans-detail { height: auto; max-height: 8; padding: 0 1; }
    OrphansScreen #orphans-note { padding: 1 2; color: $text-muted; }
    """

    BINDINGS = [
        Binding("G", "cleanup", "Clean up", id="orphans.cleanup"),
        Binding("x", "cleanup", "Clean up", show=False, id="orphans.cleanup_x"),
        Binding("c", "copy_job_id", "Copy ID", id="orphans.copy"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.orphans: tuple = ()

    def compose(self) -> ComposeResult:
        yield from self.compose_banner()
        with Vertical(id="orphans-body"):
            yield Static("Waiting for Nomad and Consul…", id="orphans-note", markup=False)
            yield KeyedTable(id="orphans-table")
            yield Static("", id="orphans-detail", markup=False)
        yield from self.compose_status()

    def on_mount(self) -> None:
        super().on_mount()
        self.table.set_columns(COLUMNS)
        self.table.focus()

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#orphans-table", KeyedTable)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        super().show_snapshot(snapshot)
        self.orphans = tuple(snapshot.orphans)
        self.table.sync([(orphan_key(o), orphan_cells(o)) for o in self.orphans])
        note = self.query_one("#orphans-note", Static)
        if not snapshot.consul_enabled or snapshot.consul.error:
            note.update("Consul is unavailable: drift cannot be checked now.")
        elif not snapshot.rows and not snapshot.nomad.ok:
            note.update("Waiting for Nomad's job list…")
        elif not self.orphans:
            note.update(NOTHING)
        note.display = not self.orphans
        self.table.display = bool(self.orphans)
        self._show_detail()

    def _show_detail(self) -> None:
        self.query_one("#orphans-detail", Static).update(orphan_detail(self.selected_orphan()))

    @on(DataTable.RowHighlighted, "#orphans-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def selected_orphan(self) -> Optional[Orphan]:
        key = self.table.selected_key
        return next((o for o in self.orphans if orphan_key(o) == key), None)

    def current_job_id(self) -> Optional[str]:
        """The job the action keys act on (the JobActionsMixin contract)."""
        orphan = self.selected_orphan()
        return orphan.job_id if orphan else None

    # ---- actions --------------------------------------------------------------------------------
    def action_copy_job_id(self) -> None:
        copy_and_notify(self.app, self.current_job_id(), "job ID")

    def action_cleanup(self) -> None:
        orphan = self.selected_orphan()
        if orphan is None:
            self.flash("Nothing selected.", "warning")
            return
        if orphan.kind != KEYS_WITHOUT_JOB:
            self.flash(
                f"{orphan.job_id} has no Consul keys to clean up: it is listed because it runs "
                "without a saved position.",
                "warning",
            )
            return
        # TODO(job_actions): once screens/job_actions.py lands, mix in JobActionsMixin and call its
        # Gtid-reset entry point here instead; this path uses the same pieces (ConfirmScreen in
        # type-the-ID mode, Actions.plan_reset_gtid / reset_gtid: backup, audit).
        self._cleanup(orphan.job_id)

    @work(exclusive=True, group="orphans-cleanup")
    async def _cleanup(self, job_id: str) -> None:
        from dtle_tui.actions import Actions
        from dtle_tui.screens.confirm import ConfirmScreen

        poller = getattr(self.app, "poller", None)
        if poller is None or poller.nomad is None or poller.consul is None:
            self.flash("Not connected yet.", "warning")
            return
        actions = Actions.from_poller(poller)
        try:
            plan = await asyncio.wrap_future(poller.submit(actions.plan_reset_gtid(job_id)))
        except Exception as exc:  # the plan only reads; say why and send nothing
            self.flash(f"Could not prepare the clean-up: {exc}", "error")
            return
        if plan.refusal:
            self.flash(f"Refused: {plan.refusal}", "error", timeout=10)
            return
        confirm = ConfirmScreen(
            f"Remove the Consul keys left by {job_id} (no such job in Nomad)?",
            job_id,
            plan.lines(),
            mode="type_id",
            confirm_label="Remove keys",
        )
        answer = await self.app.push_screen_wait(confirm)
        if answer is not True:
            self.flash("Cancelled: nothing was sent.")
            return
        result = await asyncio.wrap_future(poller.submit(actions.reset_gtid(job_id)))
        self.flash(result.text(), "information" if result.ok else "error", timeout=12)
        poller.refresh_now()
