"""Triage: the jobs that need the operator first, how many of each, and their reason as of now (issue 23).

Plain functions over verdicts (model/verdict.py), shared by the Jobs screen, the incident report's
cluster summary and `--notify`'s summary alert, so all three say the same order and the same counts.
The order is the verdict's attention rank (failing, failed, stalled, cannot be placed, starting, full
copy, incremental, stopped, dead), then the job ID: stable within a group whatever order Nomad lists.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Iterable, Optional, Sequence, TypeVar

from dtle_tui.model.evaluations import Evaluation, PlacementFailure
from dtle_tui.model.verdict import REASON_WIDTH, SEC, Verdict, VerdictKind, fit
from dtle_tui.text.fmt import duration

T = TypeVar("T")

ATTENTION_SORT = "attention"  # the name of this order where a sort is chosen (Jobs' `o`)

# The counts said on screen, in the attention order; the words an operator reads ("2 not placed").
COUNTED: tuple[tuple[VerdictKind, str], ...] = (
    (VerdictKind.FAILING, "failing"),
    (VerdictKind.FAILED, "failed"),
    (VerdictKind.STALLED, "stalled"),
    (VerdictKind.QUEUED, "not placed"),
)


def attention_key(verdict: Optional[Verdict], job_id: str) -> tuple[int, str]:
    """The sort key of one job: its verdict's rank, then its ID (a job without a verdict goes last)."""
    return (verdict.rank if verdict is not None else 99, job_id)


def attention_order(items: Iterable[T], verdict_of: Callable[[T], Optional[Verdict]],
                    id_of: Callable[[T], str]) -> list[T]:
    """`items` in the attention order."""
    return sorted(items, key=lambda item: attention_key(verdict_of(item), id_of(item)))


def needing_attention(items: Iterable[T], verdict_of: Callable[[T], Optional[Verdict]]) -> list[T]:
    """Only the items whose verdict needs the operator (failing, failed, stalled, not placed), in their order."""
    return [item for item in items if (v := verdict_of(item)) is not None and v.needs_attention]


def attention_counts(verdicts: Iterable[Optional[Verdict]]) -> Counter:
    """How many jobs of each verdict kind."""
    return Counter(v.kind for v in verdicts if v is not None)


def counts_text(counts: Counter, sep: str = " · ") -> str:
    """`1 failing · 2 not placed · 1 stalled`: the kinds that need attention, in the attention order; ""
    when none does."""
    return sep.join(f"{counts[kind]} {word}" for kind, word in COUNTED if counts.get(kind))


def attention_total(counts: Counter) -> int:
    return sum(counts.get(kind, 0) for kind, _word in COUNTED)


def reason_now(verdict: Optional[Verdict], now_ns: int, stalled_since_ns: Optional[int] = None,
               width: int = REASON_WIDTH) -> str:
    """The verdict's short reason with its times counted to `now_ns`: a row is built when its data changes,
    but "restarting in 9m" and "Gtid unchanged 2h" move with the clock."""
    if verdict is None:
        return ""
    if verdict.kind is VerdictKind.FAILING and verdict.next_try_ns is not None and verdict.last_error:
        wait = (verdict.next_try_ns - now_ns) / SEC
        head = f"{verdict.task}: {verdict.last_error}" if verdict.task else verdict.last_error
        if width < 30:  # an 80-column row: when it tries again, then the error as far as it goes
            return fit(("retry now: " if wait <= 0 else f"retry {duration(wait)}: ") + verdict.last_error, width)
        tail = "restarting now" if wait <= 0 else f"restarting in {duration(wait)}"
        if len(head) + len(tail) + 2 <= width:
            return f"{head}, {tail}"
        return fit(head, max(8, width - len(tail) - 1)) + " " + tail
    if width < 30 and verdict.last_error and verdict.kind in (VerdictKind.FAILING, VerdictKind.FAILED):
        return fit(verdict.last_error, width)  # an 80-column row: the error itself (Src/Dest say which side)
    if verdict.kind is VerdictKind.STALLED and stalled_since_ns is not None:
        return fit(f"Gtid unchanged {duration(max(0.0, (now_ns - stalled_since_ns) / SEC))}", width)
    return fit(verdict.reason, width)


def summary_lines(rows: Sequence[T], verdict_of: Callable[[T], Optional[Verdict]], id_of: Callable[[T], str],
                  limit: int = 20) -> tuple[str, list[T]]:
    """A cluster summary: its counts line ("nothing needs attention" when none) and the jobs that need
    attention in the attention order, at most `limit` of them."""
    counts = attention_counts(verdict_of(r) for r in rows)
    text = counts_text(counts) or "nothing needs attention"
    return text, needing_attention(attention_order(rows, verdict_of, id_of), verdict_of)[:limit]


# ---- why a queued job is not placed, in one short cell ------------------------------------------------------

def _failure_reason(failure: PlacementFailure) -> str:
    """The most telling fact of one group's AllocMetric, short (the full sentences are on Job detail)."""
    if failure.nodes_evaluated == 0:
        return "no node is up and eligible"
    constraints = sorted(failure.constraint_filtered, key=lambda c: -c[1])
    exhausted = sorted(failure.dimension_exhausted, key=lambda c: -c[1])
    # The nodes that pass every constraint but lack room are the ones that could run it: their want of
    # resources says more than the nodes that never could.
    if exhausted:
        dim, n = exhausted[0]
        return f"not enough {dim} on {n} node{'s' if n != 1 else ''}"
    if constraints:
        reason = constraints[0][0]
        if reason == "missing drivers":  # Nomad names no driver here
            n = constraints[0][1]
            return "driver missing on every node" if n >= failure.nodes_evaluated else \
                f"driver missing on {n} node{'s' if n != 1 else ''}"
        return f"constraint {reason}"
    if failure.quota_exhausted:
        return f"quota exhausted: {failure.quota_exhausted[0]}"
    return f"{failure.nodes_filtered} of {failure.nodes_evaluated} nodes filtered"


def placement_reason(evals: Iterable[Evaluation], groups: Iterable[str] = (), width: int = REASON_WIDTH) -> str:
    """Why the queued groups (`groups`; all when empty) are not placed, from the newest evaluation that
    failed to place each (a canceled one is history: a blocked one stands for it), in one short cell."""
    wanted = set(groups)
    ordered = sorted((e for e in evals if e.status != "canceled"), key=lambda e: (e.modify_index, e.create_index),
                     reverse=True)
    reasons: list[str] = []
    seen: set[str] = set()
    for ev in ordered:
        for failure in ev.failed:
            if failure.group in seen or (wanted and failure.group not in wanted):
                continue
            seen.add(failure.group)
            text = _failure_reason(failure)
            if text not in reasons:
                reasons.append(text)
    return fit("; ".join(reasons), width) if reasons else ""
