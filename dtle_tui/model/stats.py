"""Resource usage of an allocation's tasks (GET /v1/client/allocation/<id>/stats) against their limits.

The answer is AllocResourceUsage: {ResourceUsage, Tasks: {task: {ResourceUsage: {MemoryStats, CpuStats},
Timestamp, Pids}}, Timestamp}; floats are written `0.0`; an unknown `?task=` gives zeroes and `Tasks: {}`
(real agents' answers: tests/fixtures/real-nomad/*/troubleshooting/stats). `Measured` says which numbers the
driver really measured: a number it did not measure is 0, not a measurement, so it is shown as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from dtle_tui.model.wire import as_dict, as_int, as_list, as_str, top_dict

MIB = 1024 * 1024
WARN_RATIO = 0.85  # from here a task is near its MemoryMB: the kernel OOM-kills at the limit


@dataclass(frozen=True)
class TaskUsage:
    task: str
    rss_bytes: Optional[int] = None  # None: not measured
    cpu_percent: Optional[float] = None
    timestamp_ns: int = 0
    memory_measured: tuple = ()  # MemoryStats.Measured: which figures the driver measured (RSS, Usage, …)


def _float(v: Any) -> Optional[float]:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return None


def _usage(task: str, d: Any) -> TaskUsage:
    d = as_dict(d)
    usage = as_dict(d.get("ResourceUsage"))
    mem = as_dict(usage.get("MemoryStats"))
    cpu = as_dict(usage.get("CpuStats"))
    mem_measured = {as_str(m) for m in as_list(mem.get("Measured"))}
    cpu_measured = {as_str(m) for m in as_list(cpu.get("Measured"))}
    rss = as_int(mem.get("RSS")) if "RSS" in mem_measured or (not mem_measured and mem.get("RSS")) else None
    percent = _float(cpu.get("Percent")) if "Percent" in cpu_measured or (
        not cpu_measured and cpu.get("Percent")) else None
    return TaskUsage(task, rss, percent, as_int(d.get("Timestamp")), tuple(sorted(mem_measured - {""})))


def parse_alloc_stats(data: Any) -> dict[str, TaskUsage]:
    """{task: TaskUsage}; empty when the answer names no task (unknown ?task=, an allocation not started)."""
    d = top_dict(data, "allocation stats")
    return {str(name): _usage(str(name), v) for name, v in sorted(as_dict(d.get("Tasks")).items())}


def size_text(n_bytes: Optional[int]) -> str:
    """`1.5 GiB`, `512 MiB`, `34 MiB`; `?` when unknown."""
    if n_bytes is None:
        return "?"
    if n_bytes >= 1024 * MIB:
        return f"{n_bytes / (1024 * MIB):.1f} GiB"
    if n_bytes >= 10 * MIB:
        return f"{n_bytes / MIB:.0f} MiB"
    return f"{n_bytes / MIB:.1f} MiB"


@dataclass(frozen=True)
class TaskResources:
    """One task's usage next to its limit, ready to show."""

    task: str
    rss_bytes: Optional[int]
    limit_mb: int
    cpu_percent: Optional[float]

    @property
    def ratio(self) -> Optional[float]:
        if self.rss_bytes is None or self.limit_mb <= 0:
            return None
        return self.rss_bytes / (self.limit_mb * MIB)

    @property
    def warn(self) -> bool:
        return self.ratio is not None and self.ratio >= WARN_RATIO

    def memory_text(self) -> str:
        """`1.5 GiB / 2.0 GiB 75%`."""
        limit = size_text(self.limit_mb * MIB) if self.limit_mb > 0 else "no limit"
        ratio = self.ratio
        pct = f" {ratio * 100:.0f}%" if ratio is not None else ""
        return f"{size_text(self.rss_bytes)} / {limit}{pct}"

    def cpu_text(self) -> str:
        return "?" if self.cpu_percent is None else f"{self.cpu_percent:.1f}%"


def memory_limits(job_raw: Any, group: str) -> dict[str, int]:
    """{task: Resources.MemoryMB} of one task group of a job as Nomad stores it (GET /v1/job or the
    allocation's embedded Job)."""
    out = {}
    for tg in as_list(as_dict(job_raw).get("TaskGroups")):
        tg = as_dict(tg)
        if as_str(tg.get("Name")) != group:
            continue
        for task in as_list(tg.get("Tasks")):
            task = as_dict(task)
            out[as_str(task.get("Name"))] = as_int(as_dict(task.get("Resources")).get("MemoryMB"))
    return out
