"""Nodes: status, eligibility, drain, Nomad version, and the dtle driver (docs/reference/dtle.md §8).

Every column at any width: `w` shows them all (the table then scrolls sideways with left/right); Enter opens
Node detail (screens/node_detail.py)."""

from __future__ import annotations

from typing import Any, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from dtle_tui.keys import NODE_WRITES
from dtle_tui.live.snapshot import Snapshot
from dtle_tui.model.nodes import Node
from dtle_tui.screens.base import ConsoleScreen
from dtle_tui.text import fmt
from dtle_tui.text.textsafe import safe_text
from dtle_tui.widgets.columns import Column, cells, fill_column, for_width, layout
from dtle_tui.widgets.keyed_table import KeyedTable
from dtle_tui.widgets.static_update import update_static

WIDE_FROM = 150  # the wide labels, and the driver's health text filling what is left
MIDDLE_FROM = 120  # Address, DC and Nomad version
NEVER = 10**6  # shown only with every column (`w`)


def driver_cell(node: Node, _: object = None) -> Text:
    driver = node.dtle
    if driver is None or not driver.detected:
        return Text("not detected", style="dim")
    if driver.healthy:
        return Text("healthy", style="green")
    return Text("UNHEALTHY", style="bold red")


def _eligible(node: Node) -> bool:
    return node.scheduling_eligibility == "eligible"


# The columns, in their order. A narrow terminal (80) shows those without `shown_from`, Drain included;
# from MIDDLE_FROM the address, DC and Nomad version; from WIDE_FROM the health text (the driver's own
# error) taking the room left. `w` shows every column whatever the width, full_version too.
COLUMNS: list[Column[Node]] = [
    Column("name", "Name", 14, lambda n, _: Text(safe_text(n.name), style="bold"), wide=("Name", 20)),
    Column("id", "ID", 8, lambda n, _: Text(n.short_id)),
    Column("address", "Address", 15, lambda n, _: Text(safe_text(n.address)), shown_from=MIDDLE_FROM),
    Column("dc", "DC", 8, lambda n, _: Text(safe_text(n.datacenter)), shown_from=MIDDLE_FROM),
    Column("status", "Status", 6, lambda n, _: Text(n.status, style="green" if n.status == "ready" else "bold red"),
           wide=("Status", 7)),
    Column("elig", "Elig", 5, lambda n, _: Text("yes", style="") if _eligible(n) else Text("no", style="yellow"),
           wide=("Eligibility", 11)),
    Column("drain", "Drain", 5, lambda n, _: Text("yes", style="bold yellow") if n.drain else Text("no")),
    Column("nomad", "Nomad", 7, lambda n, _: Text(safe_text(n.version)), shown_from=MIDDLE_FROM),
    Column("dtle", "dtle driver", 12, driver_cell),
    Column("version", "dtle version", 12, lambda n, _: Text(safe_text(n.dtle_version or "—"))),
    Column("full", "full_version", 28, lambda n, _: Text(safe_text(n.dtle_full_version or "—")), shown_from=NEVER),
    Column("health", "Health", 40, lambda n, _: Text(safe_text(n.dtle.health_description if n.dtle else "")),
           shown_from=WIDE_FROM),
]


def health_width(nodes: Any) -> int:
    """The health column's width with every column shown: its longest text, at least its label's."""
    return max([len("Health")] + [len(n.dtle.health_description) for n in nodes if n.dtle is not None])


def drain_note(node: Node) -> str:
    """Drain progress in words, and the reminder that a drained node stays ineligible until `e`."""
    if node.drain:
        text = f"{node.name}: draining"
        if node.drain_started is not None:
            text += f" since {fmt.dt_text(node.drain_started)}"
        if node.drain_deadline is not None:
            text += f", deadline {fmt.dt_text(node.drain_deadline)}"
        return text + "; after the drain it stays ineligible until e makes it eligible"
    if node.last_drain_status in ("complete", "canceled") and node.scheduling_eligibility != "eligible":
        when = f" at {fmt.dt_text(node.last_drain_updated)}" if node.last_drain_updated is not None else ""
        return f"{node.name}: drain {node.last_drain_status}{when}; still ineligible: e makes it eligible"
    return ""


class NodesScreen(ConsoleScreen):
    TITLE_TEXT = "nodes"
    KEYS_TITLE = "Nodes"

    BINDINGS = [Binding("escape", "back", "Jobs", show=False, tooltip="back to Jobs", id="dtle.nodes.back"),
                *NODE_WRITES,
                Binding("w", "all_columns", "All columns", tooltip="every column, whatever the width (left/right "
                        "scroll); again: the columns that fit", id="dtle.nodes.all_columns")]

    def __init__(self) -> None:
        super().__init__()
        self.all_columns = False

    def compose(self) -> ComposeResult:
        yield from self.compose_banner()
        yield KeyedTable(id="nodes-table", openable=True)
        yield Static("", id="node-detail", markup=False)
        yield from self.compose_status()

    def on_mount(self) -> None:
        super().on_mount()
        self._apply_columns()
        self.query_one(KeyedTable).focus()

    def fit_columns(self, width: int) -> None:
        self._apply_columns()

    def _shown(self) -> list[Column[Node]]:
        if self.all_columns:
            return list(COLUMNS)
        return for_width(COLUMNS, self.size.width or self.app.size.width)

    def _apply_columns(self) -> None:
        width = self.size.width or self.app.size.width
        wide = width >= WIDE_FROM or self.all_columns
        spec = layout(self._shown(), wide=wide)
        if self.all_columns:
            nodes = self.snapshot.nodes if self.snapshot is not None else ()
            spec = [(k, label, health_width(nodes) if k == "health" else w) for k, label, w in spec]
        elif width >= WIDE_FROM:
            spec = fill_column(spec, "health", width, minimum=20)
        table = self.query_one(KeyedTable)
        table.set_columns(spec)
        table.fixed_columns = 1 if self.all_columns else 0  # scrolled sideways, the name stays in view

    def action_all_columns(self) -> None:
        self.all_columns = not self.all_columns
        self._apply_columns()
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)
        self.flash("Every column: left and right scroll the table." if self.all_columns else
                   "The columns that fit the terminal.", timeout=3)

    def on_data_table_row_selected(self, event: Any) -> None:
        event.stop()
        node = self.current_node()
        if node is not None:
            self.console.open_node(node.id)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        super().show_snapshot(snapshot)
        if self.all_columns:  # the health column as wide as its longest text now
            self._apply_columns()
        shown = self._shown()
        nodes = sorted(snapshot.nodes, key=lambda n: n.name)
        self.query_one(KeyedTable).sync([(n.id, cells(shown, n)) for n in nodes])
        bad = [n for n in nodes if n.dtle is not None and n.dtle.detected and not n.dtle.healthy]
        note = Text()
        state = snapshot.nodes_state
        if state.refused:
            # Its own state: a namespace token without node:read still follows every job.
            note.append("Nodes: permission denied — the token needs node:read\n", style="bold yellow")
        elif state.error:
            shown = "shown as last read" if nodes else "nothing read yet"
            note.append(f"Nodes: {safe_text(state.error)} ({shown})\n", style="bold red")
        for node in nodes:
            progress = drain_note(node)
            if progress:
                note.append(safe_text(progress) + "\n", style="yellow")
        for node in bad:
            note.append(f"{safe_text(node.name)}: dtle driver unhealthy: "
                        f"{safe_text(node.dtle.health_description if node.dtle else '')}\n", style="red")
        update_static(self.query_one("#node-detail", Static), note)

    def write_target(self, name: str) -> Optional[Node]:
        return self.current_node()

    def current_node(self) -> Optional[Node]:
        key = self.query_one(KeyedTable).selected_key
        snap = self.snapshot
        return next((n for n in snap.nodes if n.id == key), None) if snap is not None else None

    def action_back(self) -> None:
        self.console.switch_to("jobs")
