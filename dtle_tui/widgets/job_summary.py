"""Job detail's summary, read top down: the verdict first (failing — restarting in 9m (4 restarts), last
error …), the stage as what the job REACHED, the endpoints, the Gtid and since when it stands still, the
stage timeline as transitions (issue 22 items 1 and 3)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from rich.text import Text

from dtle_tui.live.snapshot import JobDetail, ProgressView, Snapshot
from dtle_tui.model.stage import Stage
from dtle_tui.text import clock, fmt
from dtle_tui.text.textsafe import safe_text

VERDICT_STYLE = {"failing": "bold red", "failed": "bold red", "stalled": "bold yellow reverse",
                 "queued": "bold yellow", "starting": "yellow", "running": "bold green", "stopped": "dim",
                 "dead": "dim"}


def clock_text(ts: float) -> str:
    """`09:14` today, `11-26 09:14` another day (local time)."""
    when, today = datetime.fromtimestamp(ts), datetime.fromtimestamp(clock.now())
    return when.strftime("%H:%M") if when.date() == today.date() else when.strftime("%m-%d %H:%M")


def verdict_text(detail: JobDetail, status: str) -> Text:
    """The first line: the job and its verdict (failing — restarting in 9m (4 restarts), last error …)."""
    out = Text()
    out.append(safe_text(detail.job_id, max_len=64), style="bold")
    out.append("  ")
    verdict = detail.verdict
    if verdict is None:
        out.append(status or "?")
        return out
    word, rest = verdict.label, verdict.detail
    if rest.startswith(word):
        rest = rest[len(word):]
    out.append(word.upper(), style=VERDICT_STYLE.get(word, ""))
    out.append(safe_text(rest, max_len=300))
    return out


def reached_text(detail: JobDetail, gtid_saved: bool = False) -> Text:
    """The stage as what the job has REACHED, never as what it is doing now (a failing, pending or dead
    job has not "running full"): `reached incr at 14:23`, `reached no stage yet`."""
    out = Text()
    out.append("Reached ", style="bold")
    if detail.verdict is None:  # until the job's own allocations are read (the list's lack the failures)
        out.append("reading the allocations…", style="dim")
        return out
    stage = detail.verdict.stage
    if stage.stage is Stage.UNKNOWN and gtid_saved:
        # Nomad keeps a task's last 10 events: a crash loop pushes out the stage events of an earlier copy,
        # whose Gtid Consul still holds.
        out.append("no stage in the events Nomad still holds (a Gtid is saved: it copied before)", style="dim")
    elif stage.stage is Stage.UNKNOWN:
        out.append("no stage yet", style="dim")
    else:
        out.append("incremental" if stage.stage is Stage.INCREMENTAL else "full copy",
                   style="green" if stage.stage is Stage.INCREMENTAL else "cyan")
        if stage.since_ns:
            out.append(f" at {fmt.short_time(stage.since_ns)} ({fmt.age_minutes(stage.since_ns)} ago)")
    return out


def steps_text(detail: JobDetail) -> Text:
    """The stage timeline as transitions: a crash loop's `full` of every start is one step with a count."""
    out = Text()
    out.append("Stages ", style="bold")
    if not detail.steps:
        out.append("no stage events", style="dim")
    for n, step in enumerate(detail.steps[-3:]):
        if n:
            out.append(" → ")
        out.append(step.stage.label, style="" if step.reached else "dim")
        if step.count > 1:
            out.append(f" ×{step.count}")
        when = fmt.short_time(step.first_ns)
        if step.count > 1:
            when += f"–{fmt.short_time(step.last_ns)}"
        out.append(f" {when}")
        if not step.reached:
            out.append(" (not reached: the dest failed right after)", style="dim")
    reschedules = sum(1 for a in detail.allocations if a.reschedule_events)
    out.append(f"  restarts {detail.restarts}  reschedules {reschedules}")
    return out


def gtid_moved_text(progress: Optional[ProgressView], now: float) -> str:
    """Since when the Gtid stands still (`Gtid unchanged since 09:14`, remembered across restarts of the
    console), or how long ago it advanced (to the minute: the summary is redrawn at every snapshot)."""
    if progress is None:
        return ""
    since = progress.unchanged_since
    if since is not None and now - since >= UNCHANGED_SHOWN_AFTER_S:
        return f"Gtid unchanged since {clock_text(since)}"
    advanced = progress.advanced_s(now)
    return f"advanced {fmt.duration_minutes(advanced)} ago" if advanced is not None else "not seen advancing yet"


UNCHANGED_SHOWN_AFTER_S = 60.0


def summary_text(detail: JobDetail, snapshot: Snapshot, rate_text: str) -> Text:
    row = snapshot.row(detail.job_id)
    status = row.status if row else (detail.job.status if detail.job else "?")
    out = verdict_text(detail, status)
    out.append("\n")
    pos = snapshot.positions.get(detail.job_id)
    gtid = pos is not None and pos.gtid is not None and bool(pos.gtid.transactions)
    out.append_text(reached_text(detail, gtid and snapshot.consul.error is None))
    out.append(f"  Nomad status {status}", style="dim")
    if detail.error:
        out.append(f"\n{detail.error}", style="bold red")
    if detail.job is not None:
        ends = detail.job.endpoints
        src = ends.src.describe() if ends.src else "?"
        dest = ends.dest.describe() if ends.dest else "?"
        out.append(f"\n{safe_text(src)}  →  {safe_text(dest)}")
    out.append("\nGtid ", style="bold")
    if snapshot.consul.error is not None:
        out.append("unknown: Consul unavailable", style="yellow")
    elif pos is None or not pos.gtid_text:
        out.append("none saved in Consul", style="dim")
    else:
        out.append(safe_text(pos.gtid_text, max_len=200))
        txns = pos.gtid.transactions if pos.gtid is not None else None
        out.append(f"\n{fmt.count(txns)} transactions  {rate_text}",
                   style="bold yellow" if detail.stalled_since is not None else "")
        if pos.binlog:
            out.append(f"  binlog {safe_text(str(pos.binlog))}")
    out.append("\n")
    out.append_text(steps_text(detail))
    shown = detail.verdict.last_error if detail.verdict is not None else ""
    if detail.last_error is not None and (not shown or shown not in detail.last_error[2]):
        when, alloc, text = detail.last_error
        out.append("\nLast error ", style="bold red")
        out.append(f"{fmt.short_time(when)} {alloc}: ")
        out.append(safe_text(text, max_len=160), style="red")
    return out
