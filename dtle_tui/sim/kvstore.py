"""Consul KV state: raw byte values, exact uint64 flags, raft-like indexes, tombstones (consul-kv.md §1-§5)."""

from __future__ import annotations

import threading
import time


class KvEntry:
    __slots__ = ("key", "value", "flags", "create_index", "modify_index", "lock_index", "session")

    def __init__(self, key: str, value: bytes, flags: int, index: int) -> None:
        self.key = key
        self.value = value
        self.flags = flags
        self.create_index = index
        self.modify_index = index
        self.lock_index = 0
        self.session = ""

    def wire(self) -> dict:
        """Consul's structs.DirEntry in wire order (encoding/json: declaration order, not sorted)."""
        import base64

        out = {"LockIndex": self.lock_index, "Key": self.key, "Flags": self.flags,
               "Value": base64.b64encode(self.value).decode() if self.value else None}
        if self.session:
            out["Session"] = self.session  # omitempty: only on a locked key
        out["CreateIndex"] = self.create_index
        out["ModifyIndex"] = self.modify_index
        return out


class KVStore:
    def __init__(self, start_index: int = 10) -> None:
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)
        self._entries: dict[str, KvEntry] = {}
        self._tombstones: dict[str, int] = {}  # deleted key -> delete index, so prefix indexes never go back
        self._index = start_index

    # ---- reads -------------------------------------------------------------------------------------
    @property
    def index(self) -> int:
        with self._lock:
            return self._index

    def get(self, key: str) -> KvEntry | None:
        with self._lock:
            return self._entries.get(key)

    def value(self, key: str) -> bytes | None:
        entry = self.get(key)
        return entry.value if entry else None

    def list(self, prefix: str) -> list[KvEntry]:
        with self._lock:
            return [self._entries[k] for k in sorted(k for k in self._entries if k.startswith(prefix))]

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    def query_index(self, key: str, prefix: bool) -> int:
        """X-Consul-Index of a read: key ModifyIndex, max under prefix (incl. tombstones), else table (§5)."""
        with self._lock:
            return self._query_index(key, prefix)

    def _query_index(self, key: str, prefix: bool) -> int:
        if not prefix:
            entry = self._entries.get(key)
            if entry is not None:
                return entry.modify_index
            return self._tombstones.get(key) or self._index
        best = 0
        for name, entry in self._entries.items():
            if name.startswith(key) and entry.modify_index > best:
                best = entry.modify_index
        for name, index in self._tombstones.items():
            if name.startswith(key) and index > best:
                best = index
        return best or self._index

    def wait(self, key: str, prefix: bool, index: int, timeout: float, stopping=None) -> None:
        """Blocking query: hold until the query index passes `index` or the wait elapses."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while self._query_index(key, prefix) <= index:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (stopping is not None and stopping.is_set()):
                    return
                self.changed.wait(min(remaining, 0.5))

    def reap_tombstones(self) -> None:
        """Consul's tombstone GC (after its TTL): the deleted keys' tombstones go, the table index stays. A
        prefix whose highest index was a deleted key's then answers with a lower index (consul-kv.md §5)."""
        with self.changed:
            self._tombstones.clear()
            self.changed.notify_all()

    def forget(self, start_index: int = 10) -> None:
        """No keys, no tombstones, the index back near the start: a `-dev` Consul agent started again."""
        with self.changed:
            self._entries.clear()
            self._tombstones.clear()
            self._index = start_index
            self.changed.notify_all()

    # ---- writes ------------------------------------------------------------------------------------
    def put(self, key: str, value: bytes, flags: int | None = None, cas: int | None = None) -> bool:
        with self.changed:
            entry = self._entries.get(key)
            if cas is not None:
                if cas == 0 and entry is not None:
                    return False
                if cas != 0 and (entry is None or entry.modify_index != cas):
                    return False
            self._index += 1
            if entry is None:
                entry = KvEntry(key, bytes(value), flags or 0, self._index)
                self._entries[key] = entry
                self._tombstones.pop(key, None)
            else:
                entry.value = bytes(value)
                entry.modify_index = self._index
                if flags is not None:
                    entry.flags = flags
            self.changed.notify_all()
            return True

    def delete(self, key: str, recurse: bool = False, cas: int | None = None) -> bool:
        """Recursive delete is a plain string prefix match: `dtle/job1` also takes `dtle/job10/...` (§3)."""
        with self.changed:
            if cas is not None:
                entry = self._entries.get(key)
                if cas == 0 or entry is None or entry.modify_index != cas:
                    return False
                victims = [key]
            elif recurse:
                victims = [k for k in self._entries if k.startswith(key)]
            else:
                victims = [key] if key in self._entries else []
            self._index += 1
            for name in victims:
                del self._entries[name]
                self._tombstones[name] = self._index
            self.changed.notify_all()
            return True
