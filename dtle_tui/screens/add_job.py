"""The `a` dialog: the path of a job.json to add (~ expanded). Errors stay on screen, verbatim.

The dialog does not send anything itself: `check(path)` (run in a worker) returns an error text to
show — unreadable file, invalid JSON with line and column, a job that may not be added — or None, and
then the dialog dismisses with the path for the caller's confirmation step.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from dtle_tui.text.textsafe import safe_text

Check = Callable[[str], Awaitable[Optional[str]]]


class AddJobScreen(ModalScreen[Optional[str]]):

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dtle.add.cancel")]

    def __init__(self, check: Optional[Check] = None, initial: str = "") -> None:
        super().__init__()
        self.check = check
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(id="add-dialog"):
            yield Static(Text("Add a job: POST /v1/jobs from a job.json"), id="add-title")
            yield Static(Text('The file holds {"Job": {...}} as in dtle\'s example; HCL needs '
                              "`nomad job run -output` first. Enter checks it; nothing is sent yet."))
            yield Input(value=self.initial, placeholder="~/jobs/job1.json", id="add-input")
            yield Static("", id="add-error", markup=False)
            with Horizontal(id="add-buttons"):
                yield Button("Cancel", id="add-cancel")
                yield Button("Check", id="add-ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#add-input", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_error(self, text: str) -> None:
        self.query_one("#add-error", Static).update(Text(safe_text(text, single_line=False)))

    @on(Input.Submitted, "#add-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._try(event.value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "add-cancel":
            self.dismiss(None)
        else:
            self._try(self.query_one("#add-input", Input).value)

    def _try(self, value: str) -> None:
        path = value.strip()
        if not path:
            self.show_error("Type the path of a job.json.")
            return
        self.show_error("Checking…")
        self._check(path)

    @work(exclusive=True, group="add-check")
    async def _check(self, path: str) -> None:
        error = await self.check(path) if self.check is not None else None
        if error:
            self.show_error(error)
        else:
            self.dismiss(path)
