"""The Jobs screen's columns (issue 23): ID, verdict, stage reached, src, dest and the reason at 80 columns;
the figures, Nomad's status, rate, BinlogFilePos and dtle's Progress/Delay on wider terminals. Each
column is a Column record (widgets/columns.py): label, width, cell, sort key, from which width it shows.
"""

from __future__ import annotations

from typing import Sequence

from rich.text import Text

from dtle_tui.live.snapshot import JobRow
from dtle_tui.model.attention import ATTENTION_SORT, attention_order
from dtle_tui.model.stage import Stage
from dtle_tui.model.verdict import VerdictKind
from dtle_tui.text import clock, fmt
from dtle_tui.text.textsafe import safe_text
from dtle_tui.widgets.columns import Column

# From these widths the columns that give way at 80 columns come back (issue 23: at 80 the row is ID,
# verdict, stage reached, src, dest, reason).
FIGURES_FROM = 120  # Gtid txns, Age
WIDE_FROM = 160  # Nomad's status, Stage since, Rate
WIDEST_FROM = 180  # BinlogFilePos
# dtle's own Progress / Delay column (live/monitor.py), when the setting dtle_api is on and there is room.
DTLE_FROM = 150
ID_NARROW = 22  # the ID column's widest below FIGURES_FROM: the reason takes the rest
REASON_MIN = 14

_VERDICT_STYLE = {
    VerdictKind.FAILING: "bold red", VerdictKind.FAILED: "red", VerdictKind.STALLED: "bold yellow reverse",
    VerdictKind.QUEUED: "bold yellow", VerdictKind.STARTING: "yellow", VerdictKind.RUNNING: "green",
    VerdictKind.STOPPED: "dim", VerdictKind.DEAD: "dim",
}


def status_cell(row: JobRow) -> Text:
    style = {"running": "green", "pending": "yellow", "dead": "dim", "stopped": "dim"}.get(row.status, "")
    return Text(row.status, style=style)


def verdict_cell(row: JobRow) -> Text:
    verdict = row.verdict
    if verdict is None:
        return Text("—", style="dim")
    return Text(verdict.label, style=_VERDICT_STYLE.get(verdict.kind, ""))


def reached_stage(row: JobRow) -> Stage:
    """The stage the job has REACHED (never a current state of a failing, pending or dead job)."""
    return row.verdict.stage.stage if row.verdict is not None else row.stage


def stage_cell(row: JobRow) -> Text:
    stage = reached_stage(row)
    # Reached, not current: a job that does not run shows its milestone dimmed.
    running = row.verdict is None or row.verdict.kind in (VerdictKind.RUNNING, VerdictKind.STALLED)
    if stage is Stage.INCREMENTAL:
        return Text("incr", style="green" if running else "dim")
    if stage is Stage.FULL:
        return Text("full", style="cyan" if running else "dim")
    return Text("—", style="dim")


def alloc_cell(counts) -> Text:
    text = counts.describe()
    if not counts.healthy:
        return Text(text, style="bold red")
    if counts.queued:
        return Text(text, style="bold yellow")
    return Text(text, style="green" if counts.running else "dim")


def row_ages(row: JobRow, now: float) -> tuple[str, str]:
    """The two age texts a row shows (job age, stage age): they change with time, not with data, to the
    minute (a job's age in seconds would repaint its line every second)."""
    since = row.verdict.stage.since_ns if row.verdict is not None else row.stage_since_ns  # the stage REACHED
    return fmt.age_minutes(row.submit_time_ns, now), fmt.age_minutes(since, now)


def job_key(row: JobRow) -> str:
    return row.id


def job_ages(row: JobRow) -> tuple[str, str]:
    """What time changes in a row (its two ages): the table repaints a row in view when these change."""
    return row_ages(row, clock.now())


def runs(row: JobRow) -> bool:
    """The job's tasks run (dtle's figures mean something only then, issue 22 item 2)."""
    return row.verdict is None or row.verdict.kind in (VerdictKind.RUNNING, VerdictKind.STALLED)


def dtle_text(row: JobRow, stamp: tuple) -> Text:
    """dtle's figures: their text and style come in the stamp (JobsScreen._stamp), dtle's, not the row's;
    empty for a job that does not run."""
    plain, style = stamp[3] if len(stamp) > 3 else ("—", "dim")
    return Text(plain, style=style, justify="right")


def reason_text(row: JobRow, stamp: tuple) -> Text:
    reason = stamp[2] if len(stamp) > 2 else ""
    kind = row.verdict.kind if row.verdict is not None else None
    if not row.is_dtle and kind not in (VerdictKind.FAILING, VerdictKind.FAILED):
        return Text(safe_text(reason), style="dim")  # a job of another driver: its groups' counts (JobsScreen)
    style = "red" if kind in (VerdictKind.FAILING, VerdictKind.FAILED) else "yellow" if reason else ""
    return Text(safe_text(reason), style=style)


def attention_rank(row: JobRow) -> int:
    return row.verdict.rank if row.verdict is not None else 99


# The columns, in their order; a row's stamp is (job age, stage age, reason[, dtle's cell]) (JobsScreen._stamp).
# At 80 columns: ID, verdict, stage reached, src, dest and the reason, which takes what the ID leaves.
# Wider terminals get the others: from FIGURES_FROM, DTLE_FROM (with the dtle_api setting), WIDE_FROM, WIDEST_FROM.
COLUMNS: list[Column[JobRow]] = [
    Column("id", "ID", 0, lambda r, s: Text(safe_text(r.id), style="bold" if not r.stop else "dim"), lambda r: r.id),
    Column("verdict", "Verdict", 8, lambda r, s: verdict_cell(r), attention_rank),
    Column("status", "Status", 7, lambda r, s: status_cell(r), lambda r: r.status, WIDE_FROM),
    Column("stage", "Reached", 7, lambda r, s: stage_cell(r), lambda r: reached_stage(r).label),
    Column("since", "Stage since", 11, lambda r, s: Text(s[1]),
           lambda r: (r.verdict.stage.since_ns if r.verdict is not None else r.stage_since_ns) or 0, WIDE_FROM),
    Column("src", "Src", 8, lambda r, s: alloc_cell(r.src),
           lambda r: (r.src.failed + r.src.lost, r.src.queued, r.src.running)),
    Column("dest", "Dest", 8, lambda r, s: alloc_cell(r.dest),
           lambda r: (r.dest.failed + r.dest.lost, r.dest.queued, r.dest.running)),
    Column("gtid", "Gtid txns", 11, lambda r, s: Text(fmt.count(r.transactions), justify="right"),
           lambda r: r.transactions if r.transactions is not None else -1, FIGURES_FROM),
    Column("rate", "Rate", 9, lambda r, s: Text(fmt.rate(r.rate), justify="right"),
           lambda r: r.rate if r.rate is not None else -1.0, WIDE_FROM),
    Column("dtle", "Progress/Delay", 14, dtle_text, lambda r: r.stage.label, DTLE_FROM),
    Column("binlog", "BinlogFilePos", 24, lambda r, s: Text(safe_text(r.binlog or "—")), lambda r: r.binlog or "",
           WIDEST_FROM),
    Column("age", "Age", 5, lambda r, s: Text(s[0]), lambda r: -(r.submit_time_ns or 0), FIGURES_FROM),
    # The verdict's short reason (the full text is on Job detail); it takes the room the others leave.
    Column("reason", "Reason", 0, reason_text,
           lambda r: (r.verdict.reason if r.verdict is not None else "", r.last_error)),
]
BY_KEY = {c.key: c for c in COLUMNS}
SORT_NAMES = {ATTENTION_SORT: "attention (problems first)"}


def row_cells(row: JobRow, columns: tuple[str, ...], stamp: tuple) -> list[Text]:
    """The cells of a row; the table calls this only for rows it paints, and keeps the result while the
    row and its stamp stay the same."""
    return [BY_KEY[key].cell(row, stamp) for key in columns]


def sorted_label(label: str, width: int, mark: str) -> str:
    """`Status ▲`, or `Status▲` / `Stage sinc▲` where the column is too narrow: the mark stays visible.
    The ID column (width 0 here) takes the remaining room and always has space."""
    if not width or len(label) + 2 <= width:
        return f"{label} {mark}"
    return label[: width - 1] + mark


def sort_rows(rows: Sequence[JobRow], key: str, reverse: bool) -> list[JobRow]:
    """The rows in the order `key` names: ATTENTION_SORT (the verdicts' rank, then the ID), or a column."""
    if key == ATTENTION_SORT:
        ordered = attention_order(rows, lambda r: r.verdict, job_key)
        return ordered[::-1] if reverse else ordered
    keyfn = BY_KEY[key].sort
    return sorted(rows, key=lambda r: (keyfn(r), r.id), reverse=reverse)
