"""The drain dialog: the deadline (default 1 h, editable) and the node's name typed to confirm.

Dismisses with the deadline in nanoseconds (drain), -1 (stop a running drain) or None (cancelled).
The request shown is rebuilt from the deadline as typed, so what is read is what will be sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from dtle_tui.ops.repair import parse_deadline
from dtle_tui.screens.confirm import FittedDialog, Part, scroll_bindings, steady
from dtle_tui.text.textsafe import safe_text

if TYPE_CHECKING:
    from dtle_tui.model.nodes import Node
    from dtle_tui.ops.repair import Repairs

DEFAULT_DEADLINE = "1h"


class DrainScreen(FittedDialog[Optional[int]]):
    """The inputs and buttons always show; the request lines fit what is left, or scroll with a sign
    (FittedDialog). Styles: dtle_tui.tcss (The drain dialog)."""

    FIT = "drain"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dtle.drain.cancel"), *scroll_bindings("drain")]

    def __init__(self, node: Node, repairs: Repairs, moves: Sequence[str] = ()) -> None:
        super().__init__()
        self.node = node
        self.repairs = repairs
        self.moves = list(moves)  # the dtle tasks the drain would move (repairs.plan_drain_moves)
        self.stopping = bool(node.drain)

    def compose(self) -> ComposeResult:
        with Vertical(id="drain-dialog") as dialog:
            title = f"Stop the drain of node {self.node.name}" if self.stopping else f"Drain node {self.node.name}"
            dialog.border_title = Text(safe_text(title))
            with VerticalScroll(id="drain-lines", can_focus=False):
                yield Part("", id="drain-text", markup=False)
            yield Static("", id="drain-more", markup=False)
            if not self.stopping:
                with Horizontal(classes="drain-field"):
                    yield Static(Text("Deadline (1h, 30m, 90s):"))
                    yield steady(Input(DEFAULT_DEADLINE, id="drain-deadline", compact=True))
            yield Part(Text("Type the node's name and press Enter to confirm; escape cancels."))
            yield Part("", id="drain-message", markup=False)
            with Horizontal(id="drain-buttons"):
                yield steady(Input(placeholder="node name", id="drain-name", compact=True))
                yield Button("Cancel", id="drain-cancel", variant="primary", compact=True)
                yield Button("Stop drain" if self.stopping else "Drain", id="drain-ok", variant="error", compact=True)

    def on_mount(self) -> None:
        self._show_plan()
        self.start_fitting()
        self.query_one("#drain-name", Input).focus()

    def deadline_ns(self) -> Optional[int]:
        if self.stopping:
            return -1
        return parse_deadline(self.query_one("#drain-deadline", Input).value)

    def _show_plan(self) -> None:
        deadline = self.deadline_ns()
        if deadline is None:
            lines = ["The deadline is not understood: write it as 1h, 30m, 1h30m or a number of seconds."]
        else:
            plan = self.repairs.plan_drain(self.node.id, self.node.name, None if deadline < 0 else deadline)
            lines = [f"Node: {self.node.name} ({self.node.short_id})", *self.moves, *plan.lines()]
        self.query_one("#drain-text", Static).update(Text("\n".join(safe_text(x) for x in lines)))

    @on(Input.Changed, "#drain-deadline")
    def _deadline_changed(self, event: Input.Changed) -> None:
        self._show_plan()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._confirm()

    def _confirm(self) -> None:
        message = self.query_one("#drain-message", Static)
        message.display = True
        deadline = self.deadline_ns()
        typed = self.query_one("#drain-name", Input).value
        if deadline is None:
            message.update("The deadline is not understood. Nothing was sent.")
        elif typed != self.node.name:
            message.update("Type the node's name exactly (case included) to confirm. Nothing was sent."
                           if typed else "Nothing typed: type the node's name to confirm. Nothing was sent.")
        else:
            self.dismiss(deadline)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "drain-cancel":
            self.dismiss(None)
        else:
            self._confirm()
