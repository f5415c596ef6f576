"""A one-time line for the status line (a server whose state was reset): said once, gone after a while.

It lives on the poller's loop: saying it, and its going away, each make one snapshot (an idle screen is
repainted once more when it goes, never on a tick).
"""

from __future__ import annotations

import asyncio
from typing import Callable, Optional

NOTICE_S = 60.0  # how long a notice stays on the status line


class Notice:
    def __init__(self, loop: asyncio.AbstractEventLoop, changed: Callable[[], None]) -> None:
        self.loop = loop
        self.changed = changed  # the poller's: a snapshot is due
        self.text = ""
        self._timer: Optional[asyncio.TimerHandle] = None

    def say(self, text: str) -> None:
        self.text = text
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(NOTICE_S, self._over)
        self.changed()

    def _over(self) -> None:
        self.text, self._timer = "", None
        self.changed()
