"""The one confirmation modal for every write action.

Two modes, after k9s and the issue's rules:
- "yes_no" (delete, re-add, restore): Cancel has the focus, `y` confirms, `n` cancels;
- "type_id" (purge, Gtid reset): the operator types the job ID; Enter confirms only on an exact match.
`escape` always cancels. Everything from the wire (job IDs such as `mig-[b]ops`, request paths, Gtids)
is rendered as rich Text, never as markup. Dismisses with True, False, or "reset-first" (extra choice).
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from dtle_tui.text.textsafe import safe_text

Answer = Union[bool, str]
RESET_FIRST = "reset-first"


class ConfirmScreen(ModalScreen[Answer]):
    # Rows the dialog needs besides the request lines (border, title, job, hints, input, message,
    # buttons, margins): the lines get what is left, so the buttons stay on screen at 60x20.
    CHROME_ROWS = 10

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="dtle.confirm.cancel"),
        Binding("y", "confirm", "Yes", id="dtle.confirm.yes"),
        Binding("n", "no", "No", show=False, id="dtle.confirm.no"),
        Binding("r", "extra", "Reset Gtid first", id="dtle.confirm.extra"),
    ]

    def __init__(
        self,
        title: str,
        job_id: Optional[str],
        lines: Sequence[str],
        mode: str = "yes_no",
        extra_choice: Optional[str] = None,
        confirm_label: str = "Confirm",
    ) -> None:
        if mode not in ("yes_no", "type_id"):
            raise ValueError("mode must be 'yes_no' or 'type_id'")
        if mode == "type_id" and not job_id:
            raise ValueError("type_id needs a job ID to type")
        super().__init__()
        self.title_text = title
        self.job_id = job_id
        self.lines = list(lines)
        self.mode = mode
        self.extra_choice = extra_choice
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(Text(self.title_text), id="confirm-title")
            if self.job_id is not None:
                job = Text("Job: ")
                job.append(safe_text(self.job_id), style="bold")
                yield Static(job, id="confirm-job")
            with VerticalScroll(id="confirm-lines"):
                yield Static(Text("\n".join(safe_text(line, single_line=False) for line in self.lines)))
            if self.mode == "type_id":
                yield Static(Text("Type the job ID exactly and press Enter to confirm; escape cancels."))
                yield Input(placeholder="job ID", id="confirm-input", compact=True)
            else:
                yield Static(Text("y confirms, n or escape cancels."))
            yield Static("", id="confirm-message", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="confirm-cancel", variant="primary", compact=True)
                if self.extra_choice:
                    yield Button(self.extra_choice, id="confirm-extra", variant="warning", compact=True)
                yield Button(self.confirm_label, id="confirm-ok", variant="error", compact=True)

    def on_mount(self) -> None:
        self._fit()
        if self.mode == "type_id":
            self.query_one("#confirm-input", Input).focus()
        else:
            self.query_one("#confirm-cancel", Button).focus()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        height = self.size.height or self.app.size.height
        self.query_one("#confirm-lines").styles.max_height = max(2, min(12, height - self.CHROME_ROWS))

    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
        # While the ID is being typed, letters are text: y/n/r act only in yes_no mode.
        if self.mode == "type_id" and action in ("confirm", "no", "extra"):
            return False
        if action == "extra" and not self.extra_choice:
            return False
        return True

    # ---- outcomes ----------------------------------------------------------------------------------
    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_no(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        if self.mode == "type_id":
            self._confirm_typed()
        else:
            self.dismiss(True)

    def action_extra(self) -> None:
        if self.extra_choice:
            self.dismiss(RESET_FIRST)

    def _confirm_typed(self) -> None:
        typed = self.query_one("#confirm-input", Input).value
        message = self.query_one("#confirm-message", Static)
        message.display = True
        if typed == self.job_id:
            self.dismiss(True)
        elif not typed:
            message.update("Nothing typed: type the job ID to confirm. Nothing was sent.")
        else:
            message.update("That is not the job ID (it must match exactly, case included). Nothing was sent.")

    @on(Input.Submitted, "#confirm-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._confirm_typed()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "confirm-cancel":
            self.dismiss(False)
        elif event.button.id == "confirm-extra":
            self.action_extra()
        elif event.button.id == "confirm-ok":
            self.action_confirm()
