"""When a job's Gtid last moved, known at start-up (issue 22 item 3), and what makes a job STALLED.

The console remembers, per cluster and job, the last Gtid it saw and when that Gtid last changed, in a
tiny file under the state directory (live/gtidmemo.py reads and writes it; this module only decides).
At start-up a job whose Gtid is the one remembered has stood still since the remembered time, not since
the console started. With dtle's API on, a delay that grows while the Gtid stands still is evidence
too: dtle's delay is the age of the last transaction applied (docs/reference/dtle-monitor.md §2.3), so
the Gtid has not moved for about that long.

A job is STALLED when its tasks run, it has reached the incremental stage, and either
- its Gtid has not moved for the stall threshold, counted from the earliest of these times; or
- dtle's own delay says its queue is stuck, which needs no threshold (`queue_stuck`): every 15 s dtle
  sets the delay to 0 when nothing came and its queue is empty, and otherwise leaves it alone while the
  queue does not move (§2.3). A delay above 0 read with exactly the same value, and the same Gtid, in
  readings at least two of those ticks apart (STUCK_WINDOW_S, by dtle's own clock) has outlived a tick
  that would have reset or moved it: the queue holds transactions and applies none. A growing delay, a
  delay back to 0 or a Gtid that moved is not this.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional

MEMO_VERSION = 1
MEMO_MAX_JOBS = 5000  # per cluster: the file stays small whatever the cluster
MEMO_MAX_CLUSTERS = 20
DTLE_TICK_S = 15.0  # dtle's stats interval: the delay is reset or recomputed at most this often
STUCK_WINDOW_S = 2 * DTLE_TICK_S  # readings this far apart hold at least one whole tick between them


def gtid_digest(gtid_text: str) -> str:
    """What is kept of a Gtid set: a short digest (a set can be long; only "the same or not" matters)."""
    return hashlib.sha256(" ".join(gtid_text.split()).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Remembered:
    """One job's memory: the digest of its last Gtid seen and since when that Gtid was the same (epoch s)."""

    digest: str
    since: float


class GtidMemo:
    """Per cluster and job, the Gtid last seen and when it last changed; `seen` folds in each reading."""

    def __init__(self, data: Optional[Mapping[str, Mapping[str, Remembered]]] = None) -> None:
        self.clusters: dict[str, dict[str, Remembered]] = {k: dict(v) for k, v in (data or {}).items()}
        self.dirty = False

    def seen(self, cluster: str, job_id: str, gtid_text: str, now: float) -> float:
        """A reading of `job_id`'s Gtid: since when it has been this one (the remembered time when it is
        the Gtid remembered, else now)."""
        jobs = self.clusters.setdefault(cluster, {})
        digest = gtid_digest(gtid_text)
        old = jobs.get(job_id)
        if old is not None and old.digest == digest:
            return old.since
        since = round(now, 3)  # as the file keeps it: a time read back is the time said before
        jobs[job_id] = Remembered(digest, since)
        self.dirty = True
        return since

    def since(self, cluster: str, job_id: str) -> Optional[float]:
        old = self.clusters.get(cluster, {}).get(job_id)
        return old.since if old is not None else None

    def forget_missing(self, cluster: str, job_ids: set) -> None:
        """Jobs whose keys are gone from Consul (purged, a Gtid reset) are forgotten."""
        jobs = self.clusters.get(cluster)
        if jobs is None:
            return
        gone = [j for j in jobs if j not in job_ids]
        for job_id in gone:
            del jobs[job_id]
        self.dirty = self.dirty or bool(gone)

    def dumps(self) -> str:
        clusters = list(self.clusters.items())[-MEMO_MAX_CLUSTERS:]
        out = {"version": MEMO_VERSION, "clusters": {
            cluster: {job: [r.digest, round(r.since, 3)] for job, r in list(jobs.items())[-MEMO_MAX_JOBS:]}
            for cluster, jobs in clusters}}
        return json.dumps(out, separators=(",", ":"), sort_keys=True)


def load_memo(text: str) -> GtidMemo:
    """The file's text; an unreadable or foreign file is an empty memory (never an error: it is a hint)."""
    try:
        data: Any = json.loads(text)
    except ValueError:
        return GtidMemo()
    clusters = data.get("clusters") if isinstance(data, dict) and data.get("version") == MEMO_VERSION else None
    out: dict[str, dict[str, Remembered]] = {}
    for cluster, jobs in (clusters.items() if isinstance(clusters, dict) else ()):
        if not isinstance(jobs, dict):
            continue
        kept = {}
        for job, entry in jobs.items():
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) \
                    and isinstance(entry[1], (int, float)) and entry[1] > 0:
                kept[str(job)] = Remembered(entry[0], float(entry[1]))
        out[str(cluster)] = kept
    return GtidMemo(out)


def delay_evidence(delay_s: Optional[int], gtid_still_since: Optional[float], delay_then: Optional[int],
                   now: float) -> Optional[float]:
    """dtle's own word (its API on), while its Gtid stands still with a delay above 0
    (`gtid_still_since`, model.monitor.frozen_since; `delay_then` the delay seen when that began):
    - a delay that grew since then is the age of the last transaction applied: the Gtid stands still
      since about `now - delay_s`;
    - a frozen delay (dtle stopped counting, docs/reference/dtle-monitor.md §2.3) only says since when it
      is frozen."""
    if gtid_still_since is None or delay_s is None or delay_s <= 0:
        return None
    if delay_then is not None and delay_s > delay_then:
        return min(gtid_still_since, now - delay_s)
    return gtid_still_since


def unchanged_since(gtid_since: Optional[float], dtle_since: Optional[float]) -> Optional[float]:
    """The earliest time the evidence puts the Gtid's last change at."""
    known = [t for t in (gtid_since, dtle_since) if t is not None]
    return min(known) if known else None


def stalled_since(since: Optional[float], threshold_s: float, now: float) -> Optional[float]:
    """`since` when the Gtid has stood still for the threshold (the job's stage and tasks are the
    verdict's to check), else None."""
    if since is None or now - since < threshold_s:
        return None
    return since


def queue_stuck(delay_s: Optional[int], same_since: Optional[float], taken: Optional[float]) -> Optional[float]:
    """dtle's queue is stuck (see the module docstring): `delay_s` above 0 has been read with exactly this
    value and the same Gtid since `same_since`, and the reading taken at `taken` (both by dtle's clock,
    seconds) is at least STUCK_WINDOW_S later. Returns `same_since`, else None."""
    if delay_s is None or delay_s <= 0 or same_since is None or taken is None:
        return None
    return same_since if taken - same_since >= STUCK_WINDOW_S else None
