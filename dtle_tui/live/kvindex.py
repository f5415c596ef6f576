"""Why Consul's index for `dtle/` went back: a reset, or only deleted keys.

For a recursive read Consul answers with the highest ModifyIndex under the prefix (tombstones of deleted
keys included), and clients must read again from 0 when it goes back (docs/reference/consul-kv.md §5). It goes back
when Consul's state was reset (a restored snapshot, a rebuilt `-dev` agent), but also some time after
the key with the highest index was deleted (a Gtid reset, a purge), once Consul has reaped its
tombstone. Only the first should say "Consul's state was reset" and throw the Gtid rates away: after a
reap every key still there is the same key at the same ModifyIndex, and the index is the highest of
theirs (an empty prefix answers with the KV table's index, which a reap does not lower).
"""

from __future__ import annotations

from typing import Optional, Sequence


class KvIndexWatch:
    def __init__(self) -> None:
        self._last: Sequence = ()  # the last answer's entries, compared only when the index went back
        self._went_back: Optional[tuple[int, int]] = None

    def went_back(self, before: int, after: int) -> None:
        """The feed saw the index go back; the answer that did it comes next (`answered`)."""
        self._went_back = (before, after)

    def answered(self, entries: Sequence, index: int) -> Optional[str]:
        """Keep an answer's entries; the notice to show when it follows a reset, else None."""
        went_back, self._went_back = self._went_back, None
        before, self._last = self._last, entries
        if went_back is None or _only_deletions(before, entries, index):
            return None
        return (f"Consul's state was reset (index {went_back[0]} → {went_back[1]}): positions re-read, "
                "rates start over")


def _only_deletions(before: Sequence, now: Sequence, index: int) -> bool:
    """Every key left is the same key at the same ModifyIndex, and the index is the highest of theirs."""
    if not now:
        return False
    was = {e.key: e.modify_index for e in before}
    return index == max(e.modify_index for e in now) and all(was.get(e.key) == e.modify_index for e in now)
