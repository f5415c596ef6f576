"""Node detail (Enter on Nodes): the node's eligibility and drain, its drivers with their health
description, its allocations grouped by job (src/dest, status), its events. The data is the snapshot's
`open.node` (live/opennode.py): /v1/node/<id> and /v1/node/<id>/allocations, read only while this screen
is open. `e` and `D` act on this node as on Nodes; the drain dialog lists the dtle tasks a drain moves.
Styles: dtle_tui.tcss (Node detail).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from dtle_tui.keys import NODE_WRITES
from dtle_tui.live.snapshot import Snapshot
from dtle_tui.model.allocations import Allocation
from dtle_tui.model.nodes import Node
from dtle_tui.screens.base import ConsoleScreen
from dtle_tui.screens.nodes import drain_note
from dtle_tui.text import fmt
from dtle_tui.text.textsafe import safe_text
from dtle_tui.widgets.columns import fill_column
from dtle_tui.widgets.keyed_table import KeyedTable
from dtle_tui.widgets.static_update import update_static

if TYPE_CHECKING:
    from dtle_tui.live.snapshot import NodeView

GROUP_ORDER = {"src": 0, "dest": 1}  # a dtle job's two task groups, in the order data flows


def status_text(alloc: Allocation) -> Text:
    """`run running`, `stop complete`: what Nomad wants, then what the client reports."""
    style = {"running": "green", "failed": "bold red", "lost": "bold red", "pending": "yellow"}.get(
        alloc.client_status, "dim" if alloc.desired_status != "run" else "")
    return Text(f"{alloc.desired_status} {alloc.client_status}".strip(), style=style)


def allocation_rows(allocs: tuple[Allocation, ...], dtle: frozenset) -> list[tuple[str, list[Text]]]:
    """Rows grouped by job (its name on the first row of each group), src before dest, newest first."""
    ordered = sorted(allocs, key=lambda a: (a.job_id, GROUP_ORDER.get(a.task_group, 2), a.task_group,
                                            -a.create_index))
    rows = []
    last_job: Optional[str] = None
    for alloc in ordered:
        job = Text(safe_text(alloc.job_id), style="bold") if alloc.job_id != last_job else Text("")
        last_job = alloc.job_id
        rows.append((alloc.id, [job, Text(safe_text(alloc.task_group)), Text(alloc.short_id), status_text(alloc),
                                Text("dtle" if alloc.id in dtle else "", style="dim")]))
    return rows


def driver_rows(node: Node) -> list[tuple[str, list[Text]]]:
    rows = []
    for name, driver in sorted(node.drivers.items(), key=lambda kv: (kv[0] != "dtle", kv[0])):
        if not driver.detected:
            health = Text("not detected", style="dim")
        elif driver.healthy:
            health = Text("healthy", style="green")
        else:
            health = Text("UNHEALTHY", style="bold red")
        rows.append((name, [Text(safe_text(name), style="bold" if name == "dtle" else ""), health,
                            Text(safe_text(driver.health_description))]))
    return rows


def event_rows(view: NodeView) -> list[tuple[str, list[Text]]]:
    return [(f"{i}", [Text(fmt.dt_text(e.time) if e.time else "—"), Text(safe_text(e.subsystem)),
                      Text(safe_text(e.message))]) for i, e in enumerate(view.events)]


def summary_text(node: Node, view: NodeView) -> Text:
    text = Text()
    text.append(safe_text(node.name), style="bold")
    text.append(f"  {node.short_id}  {safe_text(node.address)}  {safe_text(node.datacenter)}")
    if node.version:
        text.append(f"  Nomad {safe_text(node.version)}")
    text.append("  ")
    text.append(node.status or "?", style="green" if node.status == "ready" else "bold red")
    text.append("\nEligibility: ")
    eligible = node.scheduling_eligibility == "eligible"
    text.append(node.scheduling_eligibility or "?", style="" if eligible else "yellow")
    text.append("   Drain: ")
    text.append("yes" if node.drain else "no", style="bold yellow" if node.drain else "")
    if view.allocations is not None:
        active = [a for a in view.allocations if a.desired_status == "run" and not a.is_terminal]
        moving = [a for a in active if a.id in view.dtle]
        text.append(f"   Allocations: {len(active)} active ({len(moving)} dtle) of {len(view.allocations)}")
    note = drain_note(node)
    if note:
        text.append("\n" + safe_text(note), style="yellow")
    return text


class NodeDetailScreen(ConsoleScreen):
    TITLE_TEXT = "node"
    KEYS_TITLE = "Node detail"

    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="back to Nodes", id="dtle.node.back"),
        Binding("enter", "open_job", "Job", tooltip="open the job of the selected allocation", id="dtle.node.open_job"),
        Binding("tab", "focus_next", "Next pane", show=False, tooltip="next pane (allocations, drivers, events)",
                id="dtle.node.next_pane"),
        *NODE_WRITES,
    ]

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id

    def compose(self) -> ComposeResult:
        yield from self.compose_banner()
        yield Static(Text("Loading node…"), id="node-summary")
        yield Static("Allocations, by job", classes="section")
        yield KeyedTable(id="node-allocs", openable=True)
        yield Static("Drivers", classes="section")
        yield KeyedTable(id="node-drivers")
        yield Static("Events, newest first", classes="section")
        yield KeyedTable(id="node-events", follow_top=True)
        yield from self.compose_status()

    def on_mount(self) -> None:
        super().on_mount()
        self.fit_columns(self.app.size.width)
        self.query_one("#node-allocs", KeyedTable).focus()

    def fit_columns(self, width: int) -> None:
        self.query_one("#node-allocs", KeyedTable).set_columns(
            [("job", "Job", 20), ("group", "Group", 6), ("alloc", "Alloc", 8), ("status", "Status", 16),
             ("dtle", "Driver", 6)])
        self.query_one("#node-drivers", KeyedTable).set_columns(
            fill_column([("driver", "Driver", 10), ("health", "Health", 12), ("description", "Description", 30)],
                        "description", width, minimum=30))
        self.query_one("#node-events", KeyedTable).set_columns(
            fill_column([("time", "Time", 19), ("subsystem", "Subsystem", 10), ("message", "Message", 30)],
                        "message", width, minimum=30))

    def view(self, snapshot: Optional[Snapshot]) -> Optional[NodeView]:
        view = snapshot.node_view if snapshot is not None else None
        return view if view is not None and view.node_id == self.node_id else None

    def show_snapshot(self, snapshot: Snapshot) -> None:
        super().show_snapshot(snapshot)
        view = self.view(snapshot)
        summary = self.query_one("#node-summary", Static)
        if view is None:
            return
        node = view.node
        if node is None:
            if view.error:
                update_static(summary, Text(view.error, style="bold red"))
            return
        update_static(summary, summary_text(node, view))
        self.query_one("#node-drivers", KeyedTable).sync(driver_rows(node))
        self.query_one("#node-events", KeyedTable).sync(event_rows(view))
        if view.allocations is not None:
            self.query_one("#node-allocs", KeyedTable).sync(allocation_rows(view.allocations, view.dtle))

    def current_node(self) -> Optional[Node]:
        """The node as last read whole, else as the Nodes list has it."""
        snap = self.snapshot
        view = self.view(snap)
        if view is not None and view.node is not None:
            return view.node
        return next((n for n in snap.nodes if n.id == self.node_id), None) if snap is not None else None

    def write_target(self, name: str) -> Any:
        return self.current_node()

    def selected_allocation(self) -> Optional[Allocation]:
        view = self.view(self.snapshot)
        key = self.query_one("#node-allocs", KeyedTable).selected_key
        if view is None or view.allocations is None or key is None:
            return None
        return next((a for a in view.allocations if a.id == key), None)

    def action_open_job(self) -> None:
        alloc = self.selected_allocation()
        if alloc is None:
            self.flash("No allocation selected.", "warning")
            return
        self.console.open_job(alloc.job_id)

    def on_data_table_row_selected(self, event: Any) -> None:
        if getattr(event, "data_table", None) is self.query_one("#node-allocs", KeyedTable):
            event.stop()
            self.action_open_job()

    def action_back(self) -> None:
        self.console.go_back()
