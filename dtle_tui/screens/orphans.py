"""Consul drift: what Consul keeps for jobs Nomad no longer has, and running jobs with no saved position.

dtle never deletes its Consul data when a job is deleted ("job删除后，dtle不会自动删除consul上的信息",
docs/reference/dtle.md §1), and a re-created job with the same name silently resumes from it
(docs/reference/dtle.md §10 #2). This screen lists `dtle/<job>/` trees and `dtleJobList/<job>` entries whose
job is gone from Nomad, plus running jobs without a saved position. The rows come from `Snapshot.orphans`
(the poller decides).

Cleaning up a leftover (`G` or `x`) is the Gtid reset of a job that no longer exists: the same
confirmation (type the job ID), the same backup of every key first, the same audit line, through the
same write key flow (screens/job_actions.py) and `Actions.reset_gtid`, which deletes `dtle/<job>/` with
the trailing slash (so `job1` never takes `job10`'s keys) and `dtleJobList/<job>` exactly
(docs/reference/dtle.md §4).
`U` restores the keys from that backup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from dtle_tui.clipboard import copy_and_notify
from dtle_tui.keys import write_key
from dtle_tui.live.snapshot import Orphan, Snapshot
from dtle_tui.screens.base import ConsoleScreen
from dtle_tui.text.textsafe import safe_text
from dtle_tui.widgets.keyed_table import KeyedTable
from dtle_tui.widgets.static_update import update_static

if TYPE_CHECKING:
    from dtle_tui.ops.report import ActionResult

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
        out.append("\nG or x removes them (backup first, audited; U restores); c copies the job ID.", style="dim")
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

    # Only the job writes that make sense for keys without a job: G/x clean up (the Gtid reset), U undoes
    # it from the backup. Delete/purge/re-add act on Nomad jobs, which these are not.
    KEYS_TITLE = "Orphans"
    CLEANUP = "clean up the leftover Consul keys (backup first, audited)"
    BINDINGS = [
        write_key("G", "reset-gtid", "Clean up", tooltip=CLEANUP, id="dtle.orphans.cleanup"),
        write_key("x", "reset-gtid", "Clean up", show=False, tooltip=CLEANUP, id="dtle.orphans.cleanup_x"),
        write_key("U", "restore-gtid", "Undo clean-up", show=False, tooltip="put back the keys of the last clean-up",
                  id="dtle.orphans.restore"),
        Binding("c", "copy_job_id", "Copy ID", tooltip="copy the job ID", id="dtle.orphans.copy"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.orphans: tuple = ()
        self.last_cleaned: Optional[str] = None  # what U undoes: the row is gone once cleaned

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
        if snapshot.consul.error:
            update_static(note, "Consul is unavailable: drift cannot be checked now.")
        elif not snapshot.rows and not snapshot.nomad.ok:
            update_static(note, "Waiting for Nomad's job list…")
        elif not self.orphans:
            update_static(note, NOTHING)
        note.display = not self.orphans
        self.table.display = bool(self.orphans)
        self._show_detail()

    def _show_detail(self) -> None:
        update_static(self.query_one("#orphans-detail", Static), orphan_detail(self.selected_orphan()))

    @on(DataTable.RowHighlighted, "#orphans-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def selected_orphan(self) -> Optional[Orphan]:
        key = self.table.selected_key
        return next((o for o in self.orphans if orphan_key(o) == key), None)

    def current_job_id(self) -> Optional[str]:
        orphan = self.selected_orphan()
        return orphan.job_id if orphan else None

    # ---- keys -----------------------------------------------------------------------------------
    def action_copy_job_id(self) -> None:
        copy_and_notify(self.app, self.current_job_id(), "job ID")

    def action_write(self, name: str) -> None:
        """G / x: the Gtid reset (confirm by typing the ID, backup, audit) of a leftover, never of a job
        listed for running without a position."""
        orphan = self.selected_orphan()
        if name == "reset-gtid" and orphan is None:
            self.flash("Nothing selected.", "warning")
            return
        if name == "reset-gtid" and orphan is not None and orphan.kind != KEYS_WITHOUT_JOB:
            self.flash(
                f"{orphan.job_id} has no Consul keys to clean up: it is listed because it runs "
                "without a saved position.",
                "warning",
            )
            return
        super().action_write(name)

    def write_target(self, name: str) -> Optional[str]:
        """U puts back the keys of the last clean-up (its row is gone), from the backup it wrote."""
        if name == "restore-gtid" and self.last_cleaned:
            return self.last_cleaned
        return self.current_job_id()

    def write_done(self, name: str, target: Any, result: ActionResult) -> None:
        if result.ok and name == "reset-gtid":
            self.last_cleaned = result.job_id
        elif result.ok and result.action == "restore-gtid" and result.job_id == self.last_cleaned:
            self.last_cleaned = None
