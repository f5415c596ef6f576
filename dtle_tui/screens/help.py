"""`?`: every key, grouped by where it works."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("Anywhere", [
        ("1", "Jobs screen"), ("2", "Nodes screen"), ("3", "Orphans screen (Consul drift)"),
        ("ctrl+r", "refresh now (retries at once after an error)"), ("ctrl+p", "command palette"),
        ("?", "this help"), ("q", "quit"),
    ]),
    ("Jobs", [
        ("enter", "open the job"), ("/", "filter by substring"), ("escape", "clear the filter"),
        ("o / O", "sort by the next column / reverse (or click a header)"),
        ("d", "delete (stop) the job"), ("P", "purge the job"), ("G", "reset the job's Gtid in Consul"),
        ("U", "restore the job's last Gtid backup"), ("a", "add a job from a job.json file"),
        ("R", "re-add a deleted or purged job from its saved spec"), ("c", "copy the job ID"),
    ]),
    ("Job detail", [
        ("enter", "open the selected allocation"), ("s", "job spec (secrets masked)"),
        ("l", "logs of the selected allocation"), ("c", "copy the Gtid set"), ("escape", "back"),
    ]),
    ("Logs", [("tab", "stdout / stderr"), ("space", "pause / follow"), ("/", "search"), ("escape", "back")]),
]


def help_table(read_only: bool) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for section, keys in KEYS:
        table.add_row(f"[u]{section}[/u]", "")
        for key, what in keys:
            if read_only and key in ("d", "P", "G", "U", "a", "R"):
                what += " — refused: read-only"
            table.add_row(key, what)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss", "Close", show=False),
                Binding("q", "dismiss", "Close", show=False)]

    def __init__(self, read_only: bool = False) -> None:
        super().__init__()
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("dtle-tui keys — escape closes", classes="section")
            yield Static(help_table(self.read_only))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
