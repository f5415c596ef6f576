"""dtle's own figures on screen: the Job detail panel and the Jobs screen's Progress / Delay cell.

Every figure says what it is: `≈` marks estimates (the row total is InnoDB's `table_rows`, dtle's ETA
extrapolates from it), a percentage over 100 is shown as such with the reason, and a delay that has not
moved while the Gtid stood still is marked FROZEN (dtle stops counting while its queue is stuck,
docs/reference/dtle-monitor.md §2.3). With the setting off the panel says how to turn it on; a failure is one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from rich.text import Text
from textual.widgets import Static

from dtle_tui.text import fmt
from dtle_tui.text.textsafe import safe_text

if TYPE_CHECKING:  # the Jobs screen shows this column: its first paint need not import the monitor model
    from dtle_tui.model.monitor import JobProgress

# One line at 80 columns: the README says the rest (a URL instead of `nodes`, the config key dtle_api).
HOW_TO_TURN_ON = "figures off: turn on with --dtle-api nodes or DTLE_API_ADDR=nodes"


def _pct(value: float) -> str:
    return f"{value:.1f} %"


def eta_text(seconds: float) -> str:
    """`45s`, `3m05s`, `2h07m`: an ETA needs its seconds while short, not once it is hours."""
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def _eta(p: JobProgress) -> str:
    if p.eta_s is None:
        return p.eta_text or "—"  # "N/A" below 1 %
    return "≈" + eta_text(p.eta_s) if p.eta_s else "0s"


def dtle_cell(p: Optional[JobProgress]) -> Text:
    """The Jobs column: `57.3% ≈3m`, `delay 2s`, `delay 265s!` (frozen); `—` when nothing is known."""
    if p is None:
        return Text("—", style="dim")
    if p.errors and p.percent is None and p.delay_s is None:
        return Text("error", style="red")
    if p.phase != "incr" and p.percent is not None:
        text = f"{p.percent:.1f}%"
        if p.eta_s:
            text += " " + _eta(p)
        return Text(text, style="yellow" if p.over_100 else "cyan")
    if p.delay_s is not None:
        if p.delay_frozen:
            return Text(f"delay {p.delay_s}s!", style="bold yellow")
        return Text(f"delay {p.delay_s}s", style="green" if p.delay_s < 60 else "yellow")
    return Text("—", style="dim")


def panel_text(p: Optional[JobProgress], setting: str, running: bool, statement: str = "",
               none_why: str = "") -> Text:
    """The Job detail panel: one or two lines of figures, then a line per failure and per caveat.
    `p` is what of dtle's figures means something now (model.monitor.meaningful_figures); `statement` the
    one line standing for dtle's all-zero answer; `none_why` why there are no figures when none are left."""
    out = Text()
    out.append("dtle ", style="bold")
    if not setting:
        out.append(HOW_TO_TURN_ON, style="dim")
        return out
    if statement:
        out.append(safe_text(statement.removeprefix("dtle "), max_len=240), style="yellow")
        return out
    if p is None:
        if none_why and running:
            out.append(none_why, style="dim")
        else:
            out.append("asking dtle's API…" if running else "no running task to ask", style="dim")
        return out
    if p.phase != "incr" and not p.kafka and p.percent is not None:
        out.append("full copy ", style="cyan")
        out.append(_pct(p.percent), style="bold yellow" if p.over_100 else "bold")
        out.append(f" ({p.percent_from})", style="dim")
        out.append(f"  ETA {_eta(p)}")
        if p.backlog is not None:
            out.append(f"  backlog {p.backlog[0]}/{p.backlog[1]}")
        if p.rows_estimated:
            out.append(f"\n  rows {fmt.count(p.rows_done)} of ≈{fmt.count(p.rows_estimated)}")
            out.append(" (total: InnoDB's table_rows estimate)", style="dim")
    elif p.delay_s is not None or p.kafka or p.phase == "incr":
        out.append("incremental " if not p.kafka else "kafka ", style="green")
        if p.delay_s is not None:
            out.append("delay ")
            out.append(f"{p.delay_s} s", style="bold yellow" if p.delay_frozen or p.delay_s >= 60 else "bold")
            if p.delay_frozen:
                since = fmt.hms(p.delay_frozen_since)
                # Frozen or growing (model.monitor.frozen_since): either way nothing is applied.
                out.append(f" FROZEN (Gtid not moving since {since})", style="bold yellow")
        if p.backlog is not None and not p.kafka:
            out.append(f"  backlog {p.backlog[0]}/{p.backlog[1]}")
        if p.file:
            out.append(f"  applied {safe_text(p.file)}:{p.position}")
    else:
        out.append(none_why or "no figures yet", style="dim")
    for note in p.notes:
        out.append(f"\n  {safe_text(note)}", style="yellow" if "over 100" in note or "negative" in note else "dim")
    for error in p.errors[:2]:
        out.append(f"\n  {safe_text(error, max_len=200)}", style="red")
    return out


class DtleProgressPanel(Static):
    """Job detail's dtle panel; repaints only when its text changes."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self._shown: Optional[Text] = None

    def show(self, p: Optional[JobProgress], setting: str, running: bool, statement: str = "",
             none_why: str = "") -> None:
        text = panel_text(p, setting, running, statement, none_why)
        if self._shown is None or text.plain != self._shown.plain or text.spans != self._shown.spans:
            self._shown = text
            self.update(text)
