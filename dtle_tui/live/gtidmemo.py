"""The Gtid memory on disk: `<state dir>/gtid-memo.json` (under `$XDG_STATE_HOME/dtle-tui/`; the demo's own
folder with --demo), per cluster and job the digest of the last Gtid seen and since when it was the same
(model/stall.py decides what it means). Tiny, rewritten atomically at most every SAVE_S while something
changed, and once more when the console stops. Losing it only costs what the console knows at start-up:
a file that cannot be read or written is logged, never shown as an error.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional
from urllib.parse import urlsplit

from dtle_tui.model.stall import GtidMemo, load_memo

if TYPE_CHECKING:
    from dtle_tui.config.settings import Settings

log = logging.getLogger(__name__)

FILE_NAME = "gtid-memo.json"
SAVE_S = 30.0
DIR_MODE, FILE_MODE = 0o700, 0o600


def cluster_key(settings: Settings) -> str:
    """Which cluster the memory is of: the context's name, else Nomad's host:port (as the backups name it);
    the demo's simulated cluster is "demo" whatever its ports."""
    if getattr(settings, "demo", False):
        return "demo"
    if settings.context:
        return settings.context
    addr = settings.nomad.addr
    parts = urlsplit(addr if "://" in addr else f"http://{addr}")
    return f"{parts.hostname or 'nomad'}:{parts.port or 4646}"


class GtidMemoFile:
    """The memory of one cluster, read once at start, written back now and then (poller thread only)."""

    def __init__(self, path: Optional[Path], cluster: str) -> None:
        self.path = path
        self.cluster = cluster
        self._saved_at = 0.0
        self.memo = self._load()

    @classmethod
    def for_settings(cls, settings: Settings) -> GtidMemoFile:
        return cls(Path(settings.state_dir) / FILE_NAME, cluster_key(settings))

    def _load(self) -> GtidMemo:
        if self.path is None:
            return GtidMemo()
        try:
            return load_memo(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return GtidMemo()
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("Gtid memory %s not read: %s", self.path, exc)
            return GtidMemo()

    def seen(self, job_id: str, gtid_text: str, now: float) -> float:
        return self.memo.seen(self.cluster, job_id, gtid_text, now)

    def forget_missing(self, job_ids: set) -> None:
        self.memo.forget_missing(self.cluster, job_ids)

    def save_soon(self, now: Optional[float] = None) -> None:
        """Write when something changed and the last write is SAVE_S old."""
        now = time.monotonic() if now is None else now
        if self.memo.dirty and now - self._saved_at >= SAVE_S:
            self._saved_at = now
            self.save()

    def save(self) -> None:
        if self.path is None or not self.memo.dirty:
            return
        self.memo.dirty = False
        try:
            self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".gtid-memo-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(self.memo.dumps())
                os.chmod(tmp, FILE_MODE)
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as exc:
            log.warning("Gtid memory %s not written: %s", self.path, exc)
