"""dtle's replication position in Consul KV: MySQL Gtid sets, BinlogFilePos, per-job grouping, progress.

Key layout and value formats: docs/reference/dtle.md §2 and §3. The applier writes the Gtid with UUIDs in no
stable order, and sets copied from MySQL may span lines (`,\\n`), so sets are compared as sets, never as
text.
"""

from __future__ import annotations

import bisect
import json
import re
from array import array
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Optional

__all__ = ["GtidSet", "BinlogFilePos", "JobPosition", "binlog_shown", "positions_from_kv", "GtidProgress"]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_INTERVAL = re.compile(r"([0-9]+)(?:-([0-9]+))?")

Intervals = tuple[tuple[int, int], ...]


def _merge(intervals: Iterable[tuple[int, int]]) -> Intervals:
    """Sort, then merge overlapping and adjacent (1-5 + 6-9 = 1-9) inclusive intervals."""
    out: list[list[int]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + 1:
            if end > out[-1][1]:
                out[-1][1] = end
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


def _count_outside(mine: Intervals, theirs: Intervals) -> int:
    """How many numbers of `mine` no interval of `theirs` covers."""
    total = 0
    for start, end in mine:
        missing = end - start + 1
        for a, b in theirs:
            lo, hi = max(a, start), min(b, end)
            if lo <= hi:
                missing -= hi - lo + 1
        total += missing
    return total


class GtidSet:
    """An immutable MySQL GTID set: `uuid:1-5:7,uuid2:1-3`. Equality is set equality."""

    __slots__ = ("_sets", "_hash")

    def __init__(self, sets: Optional[dict[str, Intervals]] = None) -> None:
        self._sets: dict[str, Intervals] = {u: iv for u, iv in sorted((sets or {}).items()) if iv}
        self._hash: Optional[int] = None

    @classmethod
    def parse(cls, text: Optional[str]) -> GtidSet:
        """Parse MySQL GTID set text; `None`/`""` is the empty set ("no progress", docs/reference/dtle.md §3).

        Whitespace and line breaks around elements are tolerated, UUIDs are lower-cased, a UUID may
        repeat, intervals are merged. Garbage raises ValueError naming the bad element.
        """
        if text is None:
            return cls()
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", "replace")
        if not isinstance(text, str):
            raise ValueError(f"Gtid set must be text, got {type(text).__name__}")
        collected: dict[str, list[tuple[int, int]]] = {}
        for raw in text.split(","):
            element = "".join(raw.split())  # drops spaces, tabs and the \n of multi-line sets
            if not element:
                continue  # empty text, or a stray trailing comma
            uuid, _, rest = element.partition(":")
            uuid = uuid.lower()
            if not _UUID.fullmatch(uuid):
                raise ValueError(f"bad Gtid element {element[:80]!r}: {uuid[:40]!r} is not a server UUID")
            if not rest:
                raise ValueError(f"bad Gtid element {element[:80]!r}: no transaction interval after the UUID")
            intervals = collected.setdefault(uuid, [])
            for part in rest.split(":"):
                m = _INTERVAL.fullmatch(part)
                if not m:
                    raise ValueError(f"bad Gtid element {element[:80]!r}: {part[:40]!r} is not n or a-b")
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) is not None else start
                if start < 1 or end < start:
                    raise ValueError(f"bad Gtid element {element[:80]!r}: interval {part!r} is empty")
                intervals.append((start, end))
        return cls({u: _merge(iv) for u, iv in collected.items()})

    @property
    def is_empty(self) -> bool:
        return not self._sets

    @property
    def uuids(self) -> tuple[str, ...]:
        return tuple(self._sets)

    def intervals(self, uuid: str) -> Intervals:
        return self._sets.get(uuid.lower(), ())

    @property
    def transactions(self) -> int:
        return sum(b - a + 1 for iv in self._sets.values() for a, b in iv)

    def issubset(self, other: GtidSet) -> bool:
        return all(_count_outside(iv, other._sets.get(u, ())) == 0 for u, iv in self._sets.items())

    def __le__(self, other: object) -> bool:
        if not isinstance(other, GtidSet):
            return NotImplemented
        return self.issubset(other)

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, GtidSet):
            return NotImplemented
        return other.issubset(self)

    def diff(self, other: GtidSet) -> int:
        """Transactions in self that other lacks (e.g. source executed minus dtle's Gtid = backlog)."""
        return sum(_count_outside(iv, other._sets.get(u, ())) for u, iv in self._sets.items())

    def union(self, other: GtidSet) -> GtidSet:
        merged = dict(self._sets)
        for u, iv in other._sets.items():
            merged[u] = _merge(merged.get(u, ()) + iv)
        return GtidSet(merged)

    __or__ = union

    def format(self, multiline: bool = False) -> str:
        """Canonical text: UUIDs sorted, `uuid:1-5:7`; multiline joins with `,\\n` like MySQL does."""
        parts = []
        for u, iv in self._sets.items():
            parts.append(u + "".join(f":{a}" if a == b else f":{a}-{b}" for a, b in iv))
        return (",\n" if multiline else ",").join(parts)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"GtidSet({self.format()!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GtidSet):
            return NotImplemented
        return self._sets == other._sets

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self._sets.items()))
        return self._hash

    def __iter__(self) -> Iterator[tuple[str, Intervals]]:
        return iter(self._sets.items())


@dataclass(frozen=True)
class BinlogFilePos:
    """`dtle/<job>/BinlogFilePos`: `<file>//dtle//<pos>` (docs/reference/dtle.md §3)."""

    file: str
    pos: int

    @classmethod
    def parse(cls, value: Any) -> Optional[BinlogFilePos]:
        """Exactly two parts, the second decimal digits; anything else is what makes dtle fail with
        `Unexpected BinlogFilePos format`, so it is None here."""
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8", "replace")
        if not isinstance(value, str):
            return None
        parts = value.strip().split("//dtle//")
        if len(parts) != 2 or not parts[1].isascii() or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]))

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"


def binlog_shown(value: Any) -> str:
    """A BinlogFilePos as the console writes it everywhere (tables, dialogs, reports): `file:pos`, never
    dtle's `//dtle//` separator. A value that is not dtle's format is written as it is: the operator sees
    what is stored (and dtle will not accept it either)."""
    pos = BinlogFilePos.parse(value)
    if pos is not None:
        return str(pos)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace").strip()
    return "" if value is None else str(value).strip()


@dataclass(frozen=True)
class JobPosition:
    """Everything Consul holds for one job: `dtle/<job>/…` and `dtleJobList/<job>`."""

    job_id: str
    gtid: Optional[GtidSet] = None  # None: no Gtid key, or text that does not parse (see gtid_error)
    gtid_text: str = ""
    binlog: Optional[BinlogFilePos] = None
    modify_index: int = 0  # of the Gtid key, for a check-and-set write
    keys: tuple[str, ...] = ()
    job_list: Optional[dict] = None
    gtid_error: Optional[str] = None
    binlog_text: str = ""
    nats_addr: str = ""
    # The KV entries it was made from, to hand it back unchanged when they are (positions_from_kv reuse).
    source: tuple = field(default=(), compare=False, repr=False)

    @property
    def has_progress(self) -> bool:
        """A non-empty Gtid or a BinlogFilePos with a file: either makes a re-created job skip the full
        copy (docs/reference/dtle.md §4)."""
        return bool(self.gtid_text.strip()) or bool(self.binlog and self.binlog.file)

    @property
    def job_status(self) -> str:
        """`dtleJobList/<job>` job_status: non-paused / paused / reverse-init / finished, or ""."""
        status = (self.job_list or {}).get("job_status")
        return status if isinstance(status, str) else ""


def _entry_parts(entry: Any) -> tuple[str, Optional[bytes], int]:
    if isinstance(entry, (tuple, list)):
        key, value, index = (list(entry) + [None, None, 0])[:3]
    else:
        key = getattr(entry, "key", None)
        value = getattr(entry, "value", None)
        index = getattr(entry, "modify_index", 0)
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif value is not None and not isinstance(value, (bytes, bytearray)):
        value = None
    return (key if isinstance(key, str) else ""), value, (index if type(index) is int else 0)


def _job_of(key: str) -> tuple[Optional[str], str]:
    """`dtle/<job>/<leaf>` -> (job, leaf); `dtleJobList/<job>` -> (job, "dtleJobList").

    The leaf is the last path segment, so `dtle/job1/Gtid` never lands in job10 (the string-prefix
    pitfall of docs/reference/dtle.md §4); a job ID that itself contains `/` is kept whole.
    """
    if key.startswith("dtle/"):
        job, sep, leaf = key[5:].rpartition("/")
        return (job, leaf) if sep and job else (None, "")
    if key.startswith("dtleJobList/") and len(key) > 12:
        return key[12:], "dtleJobList"
    return None, ""


def positions_from_kv(entries: Iterable[Any], reuse: Optional[Mapping[str, JobPosition]] = None
                      ) -> dict[str, JobPosition]:
    """Group KV entries per job. An entry is `(key, value_bytes, modify_index)` or anything with
    `.key`, `.value`, `.modify_index` (consul_kv.KvEntry). Unrelated keys are ignored.

    `reuse`: the previous answer's positions; a job whose keys, values and indexes are all unchanged
    gets the same JobPosition object back, unparsed (an answer usually moves a few of 5,000 jobs)."""
    grouped: dict[str, list] = {}
    for entry in entries:
        key, value, index = _entry_parts(entry)
        job, leaf = _job_of(key)
        if job is None:
            continue
        grouped.setdefault(job, []).append((key, leaf, value, index))
    out = {}
    for job, items in grouped.items():
        source = tuple(items)
        old = reuse.get(job) if reuse else None
        if old is not None and old.source == source:
            out[job] = old
            continue
        f: dict[str, Any] = {"job_id": job, "keys": tuple(sorted(key for key, _, _, _ in items)), "source": source}
        for _key, leaf, value, index in items:
            text = value.decode("utf-8", "replace") if value is not None else ""
            if leaf == "Gtid":
                f["gtid_text"], f["modify_index"] = text, index
                try:
                    f["gtid"] = GtidSet.parse(text)
                except ValueError as exc:
                    f["gtid_error"] = str(exc)
            elif leaf == "BinlogFilePos":
                f["binlog_text"], f["binlog"] = text, BinlogFilePos.parse(text)
            elif leaf == "NatsAddr":
                f["nats_addr"] = text
            elif leaf == "dtleJobList":
                try:
                    parsed = json.loads(text) if text else None
                except ValueError:
                    parsed = None
                f["job_list"] = parsed if isinstance(parsed, dict) else None
        out[job] = JobPosition(**f)
    return out


# Samples kept per job: at least SAMPLE_GAP_S apart (a newer sample replaces a closer one, so the newest
# count is always exact), and none older than KEEP_S, which covers the Job detail sparkline's 60 windows
# of 10 s and the 5-minute rate. Samples come with every Consul answer under dtle/, i.e. every second or
# so per moving job: kept all, 720 per job were 1 MB per 10 minutes at 12 jobs and ~400 MB at 5,000.
SAMPLE_GAP_S = 5.0
KEEP_S = 660.0


class GtidProgress:
    """Transactions over time for one job, fed from each refresh of its Gtid: rate, stall, sparkline.

    Memory is bounded by time and count (two flat arrays, not tuples). A drop in the count (a Gtid
    reset, docs/reference/dtle.md §4) starts over.
    """

    __slots__ = ("_times", "_counts", "_advanced_at", "_first_at", "_maxlen")

    def __init__(self, maxlen: int = 256) -> None:
        self._times = array("d")
        self._counts = array("q")
        self._advanced_at: Optional[float] = None
        self._first_at: Optional[float] = None  # kept apart: pruning moves the oldest sample forward
        self._maxlen = max(2, maxlen)

    def feed(self, timestamp_s: float, transactions: int) -> None:
        times, counts = self._times, self._counts
        if times:
            if timestamp_s <= times[-1]:
                return  # out of order or duplicate refresh
            if transactions < counts[-1]:
                del times[:], counts[:]
                self._advanced_at = None
            elif transactions > counts[-1]:
                self._advanced_at = timestamp_s
        if not times:
            self._first_at = timestamp_s
        if len(times) >= 2 and times[-1] - times[-2] < SAMPLE_GAP_S:
            times[-1], counts[-1] = timestamp_s, transactions
        else:
            times.append(timestamp_s)
            counts.append(transactions)
        if len(times) > self._maxlen or timestamp_s - times[0] > KEEP_S + 60:
            cut = max(bisect.bisect_left(times, timestamp_s - KEEP_S), len(times) - self._maxlen)
            del times[:cut], counts[:cut]

    @property
    def transactions(self) -> Optional[int]:
        return self._counts[-1] if self._counts else None

    def rate(self, window_s: float = 300) -> Optional[float]:
        """Transactions per second over the last `window_s` seconds of samples; None below 2 samples."""
        times, counts = self._times, self._counts
        if len(times) < 2:
            return None
        first = min(bisect.bisect_left(times, times[-1] - window_s), len(times) - 2)
        if times[-1] <= times[first]:
            return None
        return (counts[-1] - counts[first]) / (times[-1] - times[first])

    def last_advanced_s(self, now: float) -> Optional[float]:
        """Seconds since the count last grew; None when no growth was seen yet."""
        return None if self._advanced_at is None else max(0.0, now - self._advanced_at)

    def is_stalled(self, now: float, threshold_s: float) -> bool:
        """No growth for `threshold_s` seconds (counted from the first sample if it never grew)."""
        at = self.stall_at(threshold_s)
        return at is not None and now >= at

    def stall_at(self, threshold_s: float) -> Optional[float]:
        """When is_stalled() turns true if no growth is seen meanwhile (None without samples)."""
        if not self._times:
            return None
        since = self._advanced_at if self._advanced_at is not None else self._first_at
        return (since or 0.0) + threshold_s

    def bucketed_rates(self, n: int, bucket_s: float = 10.0) -> list[float]:
        """Mean rates over the last `n` fixed windows of `bucket_s` seconds, oldest first.

        Samples arrive whenever any key under dtle/ changes and are kept about SAMPLE_GAP_S apart; the
        count at a window's edge is interpolated between the samples around it, so the sparkline is a
        steady line rather than jumps between 0 and a burst.
        """
        times, counts = self._times, self._counts
        if n <= 0 or len(times) < 2:
            return []
        t_end = times[-1]
        windows = min(n, int((t_end - times[0]) // bucket_s))

        def count_at(t: float) -> float:
            i = bisect.bisect_right(times, t)
            if i <= 0:
                return float(counts[0])
            if i >= len(times):
                return float(counts[-1])
            t0, t1 = times[i - 1], times[i]
            return counts[i - 1] + (counts[i] - counts[i - 1]) * (t - t0) / (t1 - t0)

        out = []
        for i in range(windows, 0, -1):
            start = t_end - i * bucket_s
            out.append((count_at(start + bucket_s) - count_at(start)) / bucket_s)
        return out

