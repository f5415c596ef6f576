"""Alerts on transitions: what changed for the worse (or finished) between two snapshots.

Pure code, no terminal: `TransitionWatch.observe(snapshot)` compares a snapshot with what it last knew
and returns the alerts; `AlertGate` keeps a burst of them from becoming a burst of notifications. The UI
(dtle_tui/notify.py) turns what passes the gate into a toast, a terminal notification and the bell, and
only when the operator asked for it (`--notify`).

What counts, once per transition (nothing while a state holds, nothing for what was already so when the
console started):
- a job newly STALLED (its Gtid has not moved for the stall threshold while incremental and running);
- a job's dest allocations failed or lost: their count grew (a new failure, even beside an old one);
- a node's dtle driver turned unhealthy (or undetected), or its node went down: the driver there can no
  longer run a task. Real agents keep reporting a down node's drivers as healthy (sim scenario's
  dtle-node-3), so the node's status is part of it;
- a job entered the incremental stage (the full copy is done); not again when a rescheduled dest
  resumes incremental, only after a new full copy.

Nothing is judged from data the console does not have yet: before every Nomad feed has answered once the
snapshot is not compared (a job list without its allocations would look like every job leaving its
stage), and while Consul is not answering the STALLED marks are not trusted (they all read false then).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, Optional

from dtle_tui.live.snapshot import JobRow, Snapshot
from dtle_tui.model.attention import attention_counts, counts_text
from dtle_tui.model.nodes import Node
from dtle_tui.model.stage import Stage
from dtle_tui.text import fmt

__all__ = ["Alert", "AlertGate", "TransitionWatch", "cluster_counts", "summarize", "KINDS"]

# kind -> (words for a summary, rings the bell)
KINDS = {
    "stalled": ("stalled", True),
    "dest_failed": ("dest failed", True),
    "driver_unhealthy": ("dtle driver unhealthy", True),
    "incremental": ("incremental", False),
}


@dataclass(frozen=True)
class Alert:
    kind: str  # one of KINDS, or "summary"
    subject: str  # the job ID, or the node's name
    title: str
    body: str
    bell: bool
    count: int = 1  # how many alerts a summary stands for


def _stalled(job_id: str, threshold_s: Optional[float]) -> Alert:
    how_long = f"{fmt.duration(threshold_s)} (the stall threshold)" if threshold_s else "the stall threshold"
    return Alert("stalled", job_id, f"dtle job {job_id} STALLED",
                 f"Its Gtid has not moved for {how_long} while incremental and running.", True)


def _dest_failed(job_id: str, row: JobRow) -> Alert:
    parts = [f"{n} {word}" for n, word in ((row.dest.failed, "failed"), (row.dest.lost, "lost")) if n]
    return Alert("dest_failed", job_id, f"dtle job {job_id}: dest allocation failed",
                 f"Dest allocations: {', '.join(parts)}. Its task events say why (Job detail).", True)


def _incremental(job_id: str) -> Alert:
    return Alert("incremental", job_id, f"dtle job {job_id} is incremental",
                 "The full copy is done; the job now applies the binlog.", False)


def _driver_unhealthy(node: Node) -> Alert:
    name = node.name or node.short_id
    driver = node.dtle
    if node.status == "down":
        why = "the node is down"
    elif driver is None or not driver.detected:
        why = "the dtle driver is no longer detected"
    else:
        why = driver.health_description or "the dtle driver reports unhealthy"
    return Alert("driver_unhealthy", name, f"dtle driver unhealthy on node {name}",
                 f"{why[:200]}. No dtle task can be placed on it.", True)


def _driver_ok(node: Node) -> bool:
    driver = node.dtle
    return node.status != "down" and driver is not None and driver.detected and driver.healthy


def _known(snapshot: Snapshot) -> tuple[bool, bool]:
    """(Nomad data complete, Consul data trusted) for this snapshot."""
    nomad_ready = snapshot.nomad.ok_at is not None
    consul_ready = snapshot.consul.ok
    return nomad_ready, consul_ready


class TransitionWatch:
    """What the console last knew, per job and per node; `observe` returns what newly happened."""

    def __init__(self, stall_threshold_s: Optional[float] = None) -> None:
        self.stall_threshold_s = stall_threshold_s  # only for the alert's words
        self._clear()

    def _clear(self) -> None:
        self.started = False
        self._generation = 0
        self._rows_seen: Optional[tuple] = None
        self._nodes_seen: Optional[tuple] = None
        self._rows: dict[str, JobRow] = {}
        # Last known stage (UNKNOWN never overwrites a known one). Stage.UNKNOWN stored = present at
        # start-up with no stage known (reaching incremental then is not news); None = a job that
        # appeared later (reaching incremental is news).
        self._stage: dict[str, Optional[Stage]] = {}
        self._stalled: set[str] = set()
        self._failures: dict[str, int] = {}
        self._driver: dict[str, bool] = {}

    def observe(self, snapshot: Snapshot) -> list[Alert]:
        nomad_ready, consul_ready = _known(snapshot)
        if not nomad_ready:
            return []
        if snapshot.generation < self._generation:
            self._clear()  # a new poller (another context) counts from 1 again: a new start
        self._generation = snapshot.generation
        first = not self.started
        self.started = True
        alerts: list[Alert] = []
        # The poller hands back the very same tuple (and row objects) for what did not change.
        if snapshot.rows is not self._rows_seen:
            self._rows_seen = snapshot.rows
            self._jobs(snapshot.rows, consul_ready, first, alerts)
        if snapshot.nodes is not self._nodes_seen:
            self._nodes_seen = snapshot.nodes
            self._nodes(snapshot.nodes, first, alerts)
        return alerts

    def _jobs(self, rows: Iterable[JobRow], consul_ready: bool, first: bool, alerts: list) -> None:
        previous = self._rows
        current: dict[str, JobRow] = {}
        for row in rows:
            job_id = row.id
            current[job_id] = row
            old = previous.get(job_id)
            if old is row:
                continue
            # Stage: UNKNOWN (no stage events yet, a new dest) keeps what was known.
            stage = row.stage
            known = self._stage.get(job_id, Stage.UNKNOWN if first else None)
            if stage is Stage.INCREMENTAL:
                if known is Stage.FULL or known is None:
                    alerts.append(_incremental(job_id))
                self._stage[job_id] = stage
            elif stage is Stage.FULL:
                self._stage[job_id] = stage
            elif job_id not in self._stage:
                self._stage[job_id] = known
            # Dest failures: a count that grew is a new failed or lost allocation.
            failures = row.dest.failed + row.dest.lost
            before = self._failures.get(job_id, failures if first else 0)
            if failures > before:
                alerts.append(_dest_failed(job_id, row))
            self._failures[job_id] = failures
            # STALLED: only trusted while Consul answers (all marks read false otherwise).
            if consul_ready:
                if row.stalled and job_id not in self._stalled:
                    self._stalled.add(job_id)
                    if not first:
                        alerts.append(_stalled(job_id, self.stall_threshold_s))
                elif not row.stalled:
                    self._stalled.discard(job_id)
        for gone in [job_id for job_id in previous if job_id not in current]:
            self._forget(gone)
        self._rows = current

    def _forget(self, job_id: str) -> None:
        self._stage.pop(job_id, None)
        self._stalled.discard(job_id)
        self._failures.pop(job_id, None)

    def _nodes(self, nodes: Iterable[Node], first: bool, alerts: list) -> None:
        current: dict[str, bool] = {}
        for node in nodes:
            ok = _driver_ok(node)
            current[node.id] = ok
            if not first and self._driver.get(node.id) is True and not ok:
                alerts.append(_driver_unhealthy(node))
        self._driver = current


# A summary lists its kinds in the Jobs screen's attention order (model/attention.py): a failed dest or a
# driver that can no longer run a task makes a job failing, then stalled, then the good news.
KIND_ORDER = ("dest_failed", "driver_unhealthy", "stalled", "incremental")


def cluster_counts(rows: Iterable[JobRow]) -> str:
    """What needs attention in the cluster now, as the Jobs screen counts it ("" when nothing does)."""
    return counts_text(attention_counts(row.verdict for row in rows))


def summarize(alerts: list[Alert], cluster: str = "") -> Alert:
    """One alert standing for many: the cluster's counts of what needs attention now (`cluster`, from
    cluster_counts), then counts per kind in the attention order and the first few subjects."""
    by_kind: dict[str, list[str]] = {}
    total = 0
    for alert in alerts:
        total += alert.count
        by_kind.setdefault(alert.kind, []).append(alert.subject)
    parts = [f"needing attention now: {cluster}"] if cluster else []
    rank = {kind: i for i, kind in enumerate(KIND_ORDER)}
    for kind, subjects in sorted(by_kind.items(), key=lambda item: rank.get(item[0], len(rank))):
        words = KINDS.get(kind, (kind, False))[0]
        shown = ", ".join(subjects[:3]) + (f" and {len(subjects) - 3} more" if len(subjects) > 3 else "")
        parts.append(f"{len(subjects)} {words}: {shown}")
    return Alert("summary", f"{total} alerts", f"dtle: {total} alerts", "; ".join(parts) + ".",
                 any(a.bell for a in alerts), count=total)


class AlertGate:
    """At most `burst` notifications per `window_s` seconds. More alerts at once than there is room for
    become one summary; what arrives while there is no room is held and released (summarized when more
    than one) as soon as there is: call `release` at `due`."""

    def __init__(self, burst: int = 3, window_s: float = 30.0) -> None:
        self.burst = max(1, burst)
        self.window_s = window_s
        self._sent: deque = deque()
        self._held: list[Alert] = []
        self._waited = False
        self.cluster = ""  # the cluster's counts of what needs attention, for a summary (cluster_counts)

    @property
    def due(self) -> Optional[float]:
        """When held alerts can go out (None when none are held)."""
        if not self._held:
            return None
        return self._sent[0] + self.window_s if len(self._sent) >= self.burst else 0.0

    def offer(self, alerts: Iterable[Alert], now: float) -> list[Alert]:
        self._held.extend(alerts)
        return self.release(now)

    def release(self, now: float) -> list[Alert]:
        sent = self._sent
        while sent and sent[0] + self.window_s <= now:
            sent.popleft()
        room = self.burst - len(sent)
        held = self._held
        if not held:
            return []
        if room <= 0:
            self._waited = True
            return []
        # What had to wait for room was a burst too: it goes out as one summary.
        out = held if len(held) <= room and not (self._waited and len(held) > 1) else [summarize(held, self.cluster)]
        self._held = []
        self._waited = False
        sent.extend(now for _ in out)
        return out
