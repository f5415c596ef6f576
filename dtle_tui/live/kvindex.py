"""Why Consul's index for `dtle/` went back: a reset, or only deleted keys.

For a recursive read Consul answers with the highest ModifyIndex under the prefix (tombstones of deleted
keys included), and clients must read again from 0 when it goes back (consul-kv.md §5). It goes back
when Consul's state was reset (a restored snapshot, a rebuilt `-dev` agent), but also some time after
the key with the highest index was deleted (a Gtid reset, a purge), once Consul has reaped its
tombstone. Only the first should say "Consul's state was reset" and throw the Gtid rates away: after a
reap every key still there is the same key at the same ModifyIndex, and the index is the highest of
theirs (an empty prefix answers with the KV table's index, which a reap does not lower).
"""

from __future__ import annotations

from typing import Iterable, Optional


class KvIndexWatch:
    def __init__(self) -> None:
        self._seen: dict[str, int] = {}  # key -> ModifyIndex in the last answer
        self._went_back: Optional[tuple[int, int]] = None

    def went_back(self, before: int, after: int) -> None:
        """The feed saw the index go back; the answer that did it comes next (`answered`)."""
        self._went_back = (before, after)

    def answered(self, entries: Iterable, index: int) -> Optional[str]:
        """Record an answer's keys; the notice to show when it follows a reset, else None."""
        seen = {e.key: e.modify_index for e in entries}
        went_back, self._went_back = self._went_back, None
        before, self._seen = self._seen, seen
        if went_back is None or _only_deletions(before, seen, index):
            return None
        return (f"Consul's state was reset (index {went_back[0]} → {went_back[1]}): positions re-read, "
                "rates start over")


def _only_deletions(before: dict[str, int], now: dict[str, int], index: int) -> bool:
    return bool(now) and index == max(now.values()) and all(before.get(k) == m for k, m in now.items())
