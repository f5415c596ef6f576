"""Task resources: memory (RSS) against the task's MemoryMB, CPU %, and a short RSS sparkline.

Fed by the snapshot's TroubleView (live/troubleshoot.py reads the stats only while a screen shows this).
A task from ~85% of its MemoryMB is flagged, and the line says whether anything enforces that limit:
Nomad's executor puts a task in a memory cgroup, which OOM-kills it at the limit, and then reports the
cgroup's figures (Usage, Max Usage, Cache, Kernel Usage) beside RSS. A driver that reports RSS alone
(dtle's: Measured ["RSS"]; the recorded agents: ["RSS", "Swap"]) runs its task in no such cgroup: MemoryMB
only reserves room when Nomad places it, and nothing kills the task above it.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional

from rich.text import Text
from textual.widgets import Static

from dtle_tui.live.troubleview import AllocStats
from dtle_tui.model.allocations import Allocation
from dtle_tui.model.stats import TaskResources
from dtle_tui.text.textsafe import safe_text

BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 12
CGROUP_MEMORY = frozenset({"Usage", "Max Usage", "Cache", "Kernel Usage", "Kernel Max Usage"})


def limit_enforced(measured: Iterable[str]) -> Optional[bool]:
    """Whether a memory cgroup holds the task to its MemoryMB, from what the driver measured; None when
    the answer does not say (no Measured list)."""
    seen = set(measured)
    return bool(seen & CGROUP_MEMORY) if seen else None


def limit_note(res: TaskResources, enforced: Optional[bool]) -> str:
    """After the memory figures: how near the limit, and what happens there; "" below ~85%."""
    if not res.warn:
        return ""
    over = res.ratio is not None and res.ratio >= 1.0
    if enforced is False:
        return (" over MemoryMB, which this driver does not enforce (it reports RSS only)" if over
                else " near its limit, which this driver does not enforce (it reports RSS only)")
    if enforced:
        return " at its limit: the kernel kills it there (OOM)" if over else " near its limit: OOM-killed at it"
    return " over its MemoryMB" if over else " near its limit"


def sparkline(values: Iterable[int], width: int = SPARK_WIDTH, top: Optional[float] = None) -> str:
    points = list(values)[-width:]
    if not points:
        return ""
    high = top or max(points) or 1
    return "".join(BARS[min(len(BARS) - 1, max(0, int(v / high * (len(BARS) - 1))))] for v in points)


def resources_text(allocs: Iterable[Allocation], stats: Mapping[str, AllocStats],
                   limits: Optional[Mapping[str, Mapping[str, int]]] = None) -> Text:
    """One line per running task of each allocation; one line of reason when its stats are unavailable.
    `limits`: allocation ID -> {task: MemoryMB} when the allocation itself does not say (list stubs)."""
    out = Text()
    for alloc in allocs:
        if alloc.client_status != "running":
            continue
        got = stats.get(alloc.id)
        own = dict(alloc.memory_mb) or dict((limits or {}).get(alloc.id, {}))
        prefix = f"{alloc.short_id} " if len(stats) > 1 else ""
        if out:
            out.append("\n")
        if got is None:
            out.append(f"{prefix}reading task stats…", style="dim")
            continue
        if got.error:
            out.append(f"{prefix}{safe_text(got.error)}", style="yellow")
            continue
        if not got.tasks:
            out.append(f"{prefix}no task reports usage yet", style="dim")
            continue
        first = True
        for task, usage in got.tasks.items():
            if not first:
                out.append("\n")
            first = False
            res = TaskResources(task, usage.rss_bytes, own.get(task, 0), usage.cpu_percent)
            enforced = limit_enforced(usage.memory_measured)
            alarm = res.warn and enforced is not False  # an unenforced limit kills nothing: no alarm colour
            out.append(f"{prefix}{safe_text(task):<5} ", style="bold")
            out.append("mem ")
            out.append(res.memory_text(), style="bold yellow" if alarm else "bold" if res.warn else "green")
            out.append(limit_note(res, enforced), style="yellow" if alarm else "")
            out.append(f"  cpu {res.cpu_text()}  ")
            limit_bytes = res.limit_mb * 1024 * 1024 if res.limit_mb > 0 else None
            out.append(sparkline(got.rss_history.get(task, ()), top=limit_bytes),
                       style="yellow" if alarm else "cyan")
    return out


class ResourcesPanel(Static):
    """Static text; the screen calls `show` with each snapshot."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self._shown: Optional[Text] = None

    def show(self, allocs: Iterable[Allocation], stats: Mapping[str, AllocStats],
             limits: Optional[Mapping[str, Mapping[str, int]]] = None) -> None:
        text = resources_text(allocs, stats, limits)
        self.display = bool(text)
        if self._shown is None or text.plain != self._shown.plain or text.spans != self._shown.spans:
            self._shown = text
            self.update(text)
