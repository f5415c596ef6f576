"""A small modal list: pick one item by its ID (enter), or cancel (escape)."""

from __future__ import annotations

from typing import Optional, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class PickScreen(ModalScreen):
    """Answers the chosen item's ID, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dtle.pick.cancel")]

    def __init__(self, title: str, items: Sequence[tuple[str, Text]], highlighted: Optional[str] = None,
                 empty: str = "Nothing to pick.") -> None:
        super().__init__()
        self.title_text = title
        self.items = list(items)
        self.highlighted_id = highlighted
        self.empty = empty

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-box"):
            yield Static(Text(f"{self.title_text} — enter selects, escape cancels"), classes="section")
            if not self.items:
                yield Static(Text(self.empty))
            yield OptionList(*[Option(label, id=item_id) for item_id, label in self.items], id="pick")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        ids = [item_id for item_id, _ in self.items]
        if self.highlighted_id in ids:
            options.highlighted = ids.index(self.highlighted_id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
