"""What the troubleshooting sections show, as immutable values in the snapshot (troubleshoot.py fills them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

from dtle_tui.model.evaluations import Evaluation
from dtle_tui.model.stats import TaskUsage


@dataclass(frozen=True)
class AllocStats:
    """The last stats answer of one allocation, or why there is none, and the recent RSS per task."""

    alloc_id: str
    tasks: Mapping[str, TaskUsage] = field(default_factory=dict, hash=False)
    error: Optional[str] = None
    rss_history: Mapping[str, tuple] = field(default_factory=dict, hash=False)  # task -> (bytes, ...)


@dataclass(frozen=True)
class TroubleView:
    job_id: Optional[str] = None
    evaluations: Optional[tuple[Evaluation, ...]] = None  # None: not read yet
    evaluations_error: Optional[str] = None
    stats: Mapping[str, AllocStats] = field(default_factory=dict, hash=False)
