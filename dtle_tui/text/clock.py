"""Wall-clock time for what the screens show (ages, "refreshed N s ago").

One seam so snapshot tests can pin "now" to the frozen simulator's clock; the poller's own timing
uses `time.monotonic` and is not affected.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

_source: Callable[[], float] = time.time


def now() -> float:
    return _source()


def freeze(timestamp: Optional[float]) -> None:
    """Pin `now()` to `timestamp`; `None` returns to the real clock."""
    global _source
    _source = (lambda: timestamp) if timestamp is not None else time.time  # type: ignore[assignment,return-value]
