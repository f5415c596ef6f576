"""`C`: pick another cluster (a `[contexts.<name>]` table of the config file)."""

from __future__ import annotations

from typing import Optional, Sequence

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from dtle_tui.text.textsafe import safe_text


def context_label(ctx, current: Optional[str]) -> Text:
    label = Text()
    label.append("● " if ctx.name == current else "  ", style="bold")
    label.append(safe_text(ctx.name), style="bold")
    if ctx.nomad_addr:
        label.append(f"  {safe_text(ctx.nomad_addr)}")
    if ctx.namespace:
        label.append(f"  ns {safe_text(ctx.namespace)}")
    if ctx.read_only:
        label.append("  read-only", style="yellow")
    if ctx.color:
        label.append("  ■", style=ctx.color if _is_style(ctx.color) else "")
    return label


def _is_style(color: str) -> bool:
    try:
        Style.parse(color)
        return True
    except Exception:
        return False


class ContextsScreen(ModalScreen):
    """Answers the chosen context's name, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dtle.contexts.cancel")]

    def __init__(self, contexts: Sequence, current: Optional[str]) -> None:
        super().__init__()
        self.contexts = list(contexts)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="contexts-box"):
            yield Static("Switch context — enter selects, escape cancels", classes="section")
            if not self.contexts:
                yield Static(Text("The config file has no [contexts.<name>] table: add one per cluster to "
                                  "switch between them."))
            yield OptionList(*[Option(context_label(c, self.current), id=c.name) for c in self.contexts],
                             id="contexts")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        names = [c.name for c in self.contexts]
        if self.current in names:
            options.highlighted = names.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
