"""Start-up: the poller started before Textual is imported, its snapshots held until the app takes them.

The CLI imports this module only to run the app (`--help` and `--show-config` load no HTTP client)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Optional

from dtle_tui.config.settings import Settings
from dtle_tui.live.poller import Poller

if TYPE_CHECKING:
    from dtle_tui.live.snapshot import Snapshot


class EarlyPoller:
    """The poller, started before Textual is imported, and its snapshots held until the app takes them.

    First paint: the first requests, their answers and the parsing then overlap Textual's import and the
    app's start-up instead of following them. Only the newest snapshot is held (a newer one replaces it).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._deliver: Optional[Callable[[Snapshot], Any]] = None
        self._held: Optional[Snapshot] = None
        self.taken = False
        # Consul starts after the first paint (DtleApp asks for it): its imports would slow Textual's.
        self.poller: Poller = Poller(settings, self._on_update, defer_consul=True)
        self.poller.start()

    def _on_update(self, snapshot: Snapshot) -> None:  # the poller's thread
        with self._lock:
            if self._deliver is None:
                self._held = snapshot
            else:
                self._deliver(snapshot)

    def take(self, deliver: Callable[[Snapshot], Any], held_now: Optional[Callable[[Snapshot], Any]] = None) -> Poller:
        """Hand the running poller to the app: `deliver` gets every later snapshot, and the held one now
        (or `held_now` gets it, when given: the app applies it before its first frame)."""
        with self._lock:  # delivered under the lock, so a newer snapshot can never overtake the held one
            self._deliver, held, self._held = deliver, self._held, None
            self.taken = True
            if held is not None:
                (held_now or deliver)(held)
        return self.poller

    def stop(self) -> None:
        self.poller.stop()
