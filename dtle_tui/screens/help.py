"""`?`: every key of the screen in front, then those that work anywhere, from the bindings themselves.

Nothing here lists keys by hand: the lines come from the screen's and the app's `Binding`s (keys.py), with
the config file's `[keys]` remaps applied, so help can no longer drift from what the keys do.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from dtle_tui.keys import KeyLine, bindings_of, key_lines, remapped

Section = tuple[str, Sequence[KeyLine]]


def help_sections(app: Any, screen: Any, keymap: Mapping[str, str]) -> list[Section]:
    """The screen's own keys, its focused table's, then the app's, then those Textual adds (focus, copy,
    ctrl+q), as remapped."""
    display = app.get_key_display
    own = remapped(bindings_of(type(screen)), keymap)
    everywhere = remapped(bindings_of(type(app)), keymap)
    focused = screen.focused
    widget = remapped(bindings_of(type(focused)), keymap) if focused is not None else []
    title = getattr(screen, "KEYS_TITLE", "") or "This screen"
    taken = {b.key for b in own}  # a screen's key wins over its table's (Logs' tab, Job detail's enter)
    return [
        (title, key_lines([b for b in own if b.id], display)),
        ("Table", key_lines([b for b in widget if b.id and b.key not in taken], display)),
        ("Anywhere", key_lines([b for b in everywhere if b.id], display)),
        ("Also", key_lines([b for b in own + everywhere if not b.id], display)),
    ]


def help_table(sections: Sequence[Section], read_only: bool) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for title, lines in sections:
        if not lines:
            continue
        table.add_row(Text(title, style="underline"), "")
        for line in lines:
            what = line.text + (" — refused: read-only" if read_only and line.writes else "")
            table.add_row(Text(" / ".join(line.keys)), Text(what))
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="dtle.help.close")]

    def __init__(self, sections: Sequence[Section] = (), read_only: bool = False) -> None:
        super().__init__()
        self.sections = list(sections)
        self.read_only = read_only

    @classmethod
    def of(cls, app: Any, screen: Any, keymap: Mapping[str, str], read_only: bool) -> HelpScreen:
        """Help for `screen`, as remapped by `keymap`."""
        return cls(help_sections(app, screen, keymap), read_only)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("dtle-tui keys — escape closes", classes="section")
            yield Static(help_table(self.sections, self.read_only))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
