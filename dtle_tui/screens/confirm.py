"""The one confirmation modal for every write action.

Two modes, after k9s and the issue's rules:
- "yes_no" (delete, re-add, restore): Cancel has the focus, `y` confirms, `n` cancels;
- "type_id" (purge, Gtid reset): the operator types the job ID; Enter confirms only on an exact match.
`escape` always cancels. Everything from the wire (job IDs such as `mig-[b]ops`, request paths, Gtids)
is rendered as rich Text, never as markup. Dismisses with True, False, or "reset-first" (extra choice).

At 80x24 (and down to 60x20) a dialog shows everything it will do: FittedDialog gives the lines what the
title, hints, inputs and buttons leave of the terminal, and when they need more they scroll (↑ ↓ PgUp
PgDn) under a line saying how many are hidden above and below. The drain dialog (drain.py) is one too.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, ScreenResultType
from textual.widgets import Button, Input, Static

from dtle_tui.text.textsafe import safe_text

Answer = Union[bool, str]
RESET_FIRST = "reset-first"


class Part(Static):
    """A part of a dialog whose height decides the room left for its lines (the lines themselves, a
    title, a hint, a message): a new height, after a resize or a message, fits the lines again."""

    def on_resize(self) -> None:
        screen = self.screen
        if isinstance(screen, FittedDialog):
            screen.refit()


class FittedDialog(ModalScreen[ScreenResultType]):
    """A modal dialog `#<FIT>-dialog` whose lines (`#<FIT>-text`, what will be sent) sit in
    `#<FIT>-lines` (a VerticalScroll) above its inputs and buttons. Sized to the terminal: everything else
    always shows; the lines get the rows left and, when they need more, scroll with `#<FIT>-more` under
    them saying how many are above and below (a scrollbar alone is invisible without colours)."""

    FIT = ""

    def _part(self, name: str) -> Any:
        return self.query_one(f"#{self.FIT}-{name}")

    def start_fitting(self) -> None:
        self.watch(self._part("lines"), "scroll_y", self._show_more, init=False)
        self.refit()

    def on_resize(self) -> None:
        self.refit()

    def refit(self) -> None:
        """Fit the lines once the layout has settled (heights are known after a refresh)."""
        self.call_after_refresh(self._fit)

    def _rest_rows(self) -> int:
        """Rows of everything but the lines and the "more" line: border, title, hints, inputs, buttons."""
        dialog = self._part("dialog")
        rows = dialog.styles.gutter.height
        skip = (f"{self.FIT}-lines", f"{self.FIT}-more")
        for child in dialog.children:
            if child.id not in skip and child.display:
                rows += child.outer_size.height
        return rows

    def _fit(self) -> None:
        if not self.is_attached:
            return
        box, more = self._part("lines"), self._part("more")
        room = max(1, (self.size.height or self.app.size.height) - self._rest_rows())
        needed = self._part("text").outer_size.height
        overflow = needed > room
        height = max(1, room - 1) if overflow else max(1, needed)
        if box.styles.max_height != height or more.display != overflow:
            box.styles.max_height = height
            more.display = overflow
        self._show_more()
        # The box's scroll range follows its new height only after the next layout: count again then.
        self.call_after_refresh(self._show_more)

    def _show_more(self, *_: object) -> None:
        """The line under the requests: how many lines are hidden above and below, and the keys."""
        box, more = self._part("lines"), self._part("more")
        if not more.display:
            return
        above = round(box.scroll_y)
        below = max(0, box.max_scroll_y - above)
        parts = []
        if below:
            parts.append(f"↓ {below} more line{'s' if below != 1 else ''} below (↓ PgDn)")
        if above:
            parts.append(f"↑ {above} above (↑ PgUp)")
        more.update(" · ".join(parts) or "every line shown")

    def action_scroll_lines(self, step: int) -> None:
        box = self._part("lines")
        box.scroll_to(y=box.scroll_y + step, animate=False)

    def action_page_lines(self, step: int) -> None:
        box = self._part("lines")
        box.scroll_to(y=box.scroll_y + step * max(1, box.size.height - 1), animate=False)


def steady(box: Input) -> Input:
    """An input whose cursor does not blink: the dialog stays still on screen (and in its snapshots,
    which a blink would make differ by the half second they are taken in)."""
    box.cursor_blink = False
    return box


def scroll_bindings(where: str) -> list:
    """The keys that scroll a dialog's lines. Not letters: an input has the focus in most dialogs, and
    letters are what is being typed there."""
    return [
        Binding("down", "scroll_lines(1)", "Scroll down", show=False, id=f"dtle.{where}.scroll_down"),
        Binding("up", "scroll_lines(-1)", "Scroll up", show=False, id=f"dtle.{where}.scroll_up"),
        Binding("pagedown", "page_lines(1)", "Page down", show=False, id=f"dtle.{where}.page_down"),
        Binding("pageup", "page_lines(-1)", "Page up", show=False, id=f"dtle.{where}.page_up"),
    ]


class ConfirmScreen(FittedDialog[Answer]):
    """The job, the hint, the input and the buttons always show; the lines (what will be sent, the
    backup) fit what is left, or scroll with a sign (FittedDialog). Styles: dtle_tui.tcss."""

    FIT = "confirm"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="dtle.confirm.cancel"),
        Binding("y", "confirm", "Yes", id="dtle.confirm.yes"),
        Binding("n", "no", "No", show=False, id="dtle.confirm.no"),
        Binding("r", "extra", "Reset Gtid first", id="dtle.confirm.extra"),
        *scroll_bindings("confirm"),
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
        with Vertical(id="confirm-dialog") as dialog:
            # The title rides on the border: one row more for the lines at 80x24.
            dialog.border_title = Text(safe_text(self.title_text))
            if self.job_id is not None:
                job = Text("Job: ")
                job.append(safe_text(self.job_id), style="bold")
                yield Part(job, id="confirm-job")
            with VerticalScroll(id="confirm-lines", can_focus=False):
                yield Part(Text("\n".join(safe_text(line, single_line=False) for line in self.lines)),
                           id="confirm-text")
            yield Static("", id="confirm-more", markup=False)
            if self.mode == "type_id":
                yield Part(Text("Type the job ID exactly and press Enter to confirm; escape cancels."),
                           id="confirm-hint")
            yield Part("", id="confirm-message", markup=False)
            with Horizontal(id="confirm-buttons"):
                if self.mode == "type_id":
                    yield steady(Input(placeholder="job ID", id="confirm-input", compact=True))
                else:
                    yield Part(Text("y confirms, n or escape cancels."), id="confirm-hint")
                yield Button("Cancel", id="confirm-cancel", variant="primary", compact=True)
                if self.extra_choice:
                    yield Button(self.extra_choice, id="confirm-extra", variant="warning", compact=True)
                yield Button(self.confirm_label, id="confirm-ok", variant="error", compact=True)

    def on_mount(self) -> None:
        self.start_fitting()
        if self.mode == "type_id":
            self.query_one("#confirm-input", Input).focus()
        else:
            self.query_one("#confirm-cancel", Button).focus()

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
