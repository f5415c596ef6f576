"""The drain dialog: the deadline (default 1 h, editable) and the node's name typed to confirm.

Dismisses with the deadline in nanoseconds (drain), -1 (stop a running drain) or None (cancelled).
The request shown is rebuilt from the deadline as typed, so what is read is what will be sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from dtle_tui.ops.repair import parse_deadline
from dtle_tui.text.textsafe import safe_text

if TYPE_CHECKING:
    from dtle_tui.model.nodes import Node
    from dtle_tui.ops.repair import Repairs

DEFAULT_DEADLINE = "1h"


class DrainScreen(ModalScreen[Optional[int]]):
    # Styles: dtle_tui.tcss (The drain dialog).
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dtle.drain.cancel")]
    # Rows besides the request lines (border, title, inputs and their labels, message, buttons): the lines
    # get what is left and scroll, so the inputs and buttons stay on screen at 80x24.
    CHROME_ROWS = 15

    def __init__(self, node: Node, repairs: Repairs) -> None:
        super().__init__()
        self.node = node
        self.repairs = repairs
        self.stopping = bool(node.drain)

    def compose(self) -> ComposeResult:
        with Vertical(id="drain-dialog"):
            title = f"Stop the drain of node {self.node.name}" if self.stopping else f"Drain node {self.node.name}"
            yield Static(Text(safe_text(title)), id="drain-title")
            with VerticalScroll(id="drain-box"):
                yield Static("", id="drain-lines", markup=False)
            if not self.stopping:
                yield Static(Text("Deadline (1h, 30m, 90s): then what is left is stopped"))
                yield Input(DEFAULT_DEADLINE, id="drain-deadline", compact=True)
            yield Static(Text("Type the node's name and press Enter to confirm; escape cancels."))
            yield Input(placeholder="node name", id="drain-name", compact=True)
            yield Static("", id="drain-message", markup=False)
            with Horizontal(id="drain-buttons"):
                yield Button("Cancel", id="drain-cancel", variant="primary", compact=True)
                yield Button("Stop drain" if self.stopping else "Drain", id="drain-ok", variant="error", compact=True)

    def on_mount(self) -> None:
        self._fit()
        self._show_plan()
        self.query_one("#drain-name", Input).focus()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        height = self.size.height or self.app.size.height
        self.query_one("#drain-box").styles.max_height = max(2, min(12, height - self.CHROME_ROWS))

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
            lines = [f"Node: {self.node.name} ({self.node.short_id})", *plan.lines()]
        self.query_one("#drain-lines", Static).update(Text("\n".join(safe_text(x) for x in lines)))

    @on(Input.Changed, "#drain-deadline")
    def _deadline_changed(self, event: Input.Changed) -> None:
        self._show_plan()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._confirm()

    def _confirm(self) -> None:
        message = self.query_one("#drain-message", Static)
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
