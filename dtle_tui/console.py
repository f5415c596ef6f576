"""What a screen may ask of the app: the typed interface screens hold instead of the app class itself.

Screens import this, never `dtle_tui.app` (which imports the screens): no import circle, and the
screens' needs are written down in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Protocol

if TYPE_CHECKING:
    from dtle_tui.config.settings import Settings
    from dtle_tui.live.poller import Poller
    from dtle_tui.live.snapshot import Snapshot


class Console(Protocol):
    settings: Settings
    snapshot: Optional[Snapshot]
    poller: Optional[Poller]

    def go_back(self) -> None: ...

    def switch_to(self, mode: str) -> Any: ...

    def open_job(self, job_id: str) -> None: ...

    def open_allocation(self, alloc_id: str) -> None: ...
