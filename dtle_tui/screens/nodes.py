"""Nodes: status, eligibility, drain, Nomad version, and the dtle driver (docs/reference/dtle.md §8)."""

from __future__ import annotations

from typing import Optional

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
from dtle_tui.widgets.columns import fill_column
from dtle_tui.widgets.keyed_table import KeyedTable
from dtle_tui.widgets.static_update import update_static

NARROW = [("name", "Name", 14), ("id", "ID", 8), ("status", "Status", 6), ("elig", "Elig", 5),
          ("dtle", "dtle driver", 12), ("version", "dtle version", 12)]
WIDE = [("name", "Name", 20), ("id", "ID", 8), ("address", "Address", 15), ("dc", "DC", 8),
        ("status", "Status", 7), ("elig", "Eligibility", 11), ("drain", "Drain", 5), ("nomad", "Nomad", 7),
        ("dtle", "dtle driver", 12), ("version", "dtle version", 12), ("full", "full_version", 28),
        ("health", "Health", 40)]
WIDE_FROM = 150


def driver_cell(node: Node) -> Text:
    driver = node.dtle
    if driver is None or not driver.detected:
        return Text("not detected", style="dim")
    if driver.healthy:
        return Text("healthy", style="green")
    return Text("UNHEALTHY", style="bold red")


def node_cells(node: Node, keys: list[str]) -> list[Text]:
    driver = node.dtle
    values = {
        "name": Text(safe_text(node.name), style="bold"),
        "id": Text(node.short_id),
        "address": Text(safe_text(node.address)),
        "dc": Text(safe_text(node.datacenter)),
        "status": Text(node.status, style="green" if node.status == "ready" else "bold red"),
        "elig": Text("yes" if node.scheduling_eligibility == "eligible" else "no",
                     style="" if node.scheduling_eligibility == "eligible" else "yellow"),
        "drain": Text("yes" if node.drain else "no", style="yellow" if node.drain else ""),
        "nomad": Text(safe_text(node.version)),
        "dtle": driver_cell(node),
        "version": Text(safe_text(node.dtle_version or "—")),
        "full": Text(safe_text(node.dtle_full_version or "—")),
        "health": Text(safe_text(driver.health_description if driver else "")),
    }
    return [values[k] for k in keys]


def drain_note(node: Node) -> str:
    """Drain progress in words, and the reminder that a drained node stays ineligible until `e`."""
    if node.drain:
        text = f"{node.name}: draining"
        if node.drain_started is not None:
            text += f" since {fmt.dt_text(node.drain_started)}"
        if node.drain_deadline is not None:
            text += f", deadline {fmt.dt_text(node.drain_deadline)}"
        return text + "; after the drain it stays ineligible until e"
    if node.last_drain_status in ("complete", "canceled") and node.scheduling_eligibility != "eligible":
        when = f" at {fmt.dt_text(node.last_drain_updated)}" if node.last_drain_updated is not None else ""
        return f"{node.name}: drain {node.last_drain_status}{when}; still ineligible: e makes it eligible"
    return ""


class NodesScreen(ConsoleScreen):
    TITLE_TEXT = "nodes"
    KEYS_TITLE = "Nodes"

    BINDINGS = [Binding("escape", "back", "Jobs", show=False, tooltip="back to Jobs", id="dtle.nodes.back"),
                *NODE_WRITES]

    def compose(self) -> ComposeResult:
        yield from self.compose_banner()
        yield KeyedTable(id="nodes-table")
        yield Static("", id="node-detail", markup=False)
        yield from self.compose_status()

    def on_mount(self) -> None:
        super().on_mount()
        self._apply_columns()
        self.query_one(KeyedTable).focus()

    def fit_columns(self, width: int) -> None:
        self._apply_columns()

    def _columns(self) -> list:
        width = self.size.width or self.app.size.width
        if width < WIDE_FROM:
            return NARROW
        # The health text (the driver's own error) takes whatever room is left.
        return fill_column(WIDE, "health", width, minimum=20)

    def _apply_columns(self) -> None:
        self.query_one(KeyedTable).set_columns(self._columns())

    def show_snapshot(self, snapshot: Snapshot) -> None:
        super().show_snapshot(snapshot)
        keys = [c[0] for c in self._columns()]
        nodes = sorted(snapshot.nodes, key=lambda n: n.name)
        self.query_one(KeyedTable).sync([(n.id, node_cells(n, keys)) for n in nodes])
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
