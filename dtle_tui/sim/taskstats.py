"""GET /v1/client/allocation/<id>/stats of the simulated client: AllocResourceUsage as recorded.

Numbers are steady with a slow wave for tasks of other drivers (the story's raw_exec task near its
MemoryMB: sim/sidecar.py). A dtle task reports nothing but zeros,
`Measured: ["RSS"]` and no pids, running or not (recorded: real-dtle.md §8): the driver measures nothing.
Floats stay floats (Go writes `0.0`).
"""

from __future__ import annotations

import json
import math

from . import shapes
from .sidecar import MEMORY_SHARES
from .state import Alloc, ClusterState

S = shapes.SEC


def _memory(rss: int) -> dict:
    return {"RSS": rss, "Cache": 0, "Swap": 0, "Usage": 0, "MaxUsage": 0, "KernelUsage": 0, "KernelMaxUsage": 0,
            "Measured": ["RSS", "Swap"]}


def _cpu(percent: float) -> dict:
    return {"SystemMode": round(percent * 0.2, 3), "UserMode": round(percent * 0.8, 3), "TotalTicks": 0.0,
            "ThrottledPeriods": 0, "ThrottledTime": 0, "Percent": percent,
            "Measured": ["System Mode", "User Mode", "Percent"]}


def _driver(alloc: Alloc, task: str) -> str:
    return next((t["Driver"] for g in alloc.job["TaskGroups"] if g["Name"] == alloc.task_group
                 for t in g["Tasks"] if t["Name"] == task), "")


def _float_body(obj) -> bytes:
    # Go writes float64 0 as `0.0` in these answers (recorded): keep every float a float.
    return json.dumps(obj, separators=(",", ":")).encode()


def task_usage(st: ClusterState, alloc: Alloc, task: str) -> tuple[int, float]:
    """RSS bytes and CPU % of one task (of a driver that measures): steady, with a slow wave."""
    limit_mb = next((t["Resources"]["MemoryMB"] for g in alloc.job["TaskGroups"] if g["Name"] == alloc.task_group
                     for t in g["Tasks"] if t["Name"] == task), 300)
    seed = int(alloc.id[:8], 16)
    phase = (st.now() / S / 30.0) + seed % 7
    share = MEMORY_SHARES.get((alloc.job_id, task), 0.2 + (seed % 20) / 100) + 0.02 * math.sin(phase)
    cpu = round(2.0 + seed % 9 + 3.0 * math.sin(phase * 1.7), 2)
    return int(limit_mb * 1024 * 1024 * share), max(0.0, cpu)


def _dtle_usage() -> dict:
    memory = dict(_memory(0), Measured=["RSS"])
    cpu = {"SystemMode": 0.0, "UserMode": 0.0, "TotalTicks": 0.0, "ThrottledPeriods": 0, "ThrottledTime": 0,
           "Percent": 0.0, "Measured": []}
    return {"MemoryStats": memory, "CpuStats": cpu}


def dtle_stats(st: ClusterState, alloc: Alloc, names: list) -> bytes:
    """The recorded answer for dtle tasks: zeros; the timestamp of the driver's last sample (now while the
    task runs, else just after its last start)."""
    stamps = []
    tasks = {}
    for name in names:
        run = alloc.task_states[name]
        stamp = st.now() if run.state == "running" else (run.started_at or alloc.create_time) + 2_300_000
        stamps.append(stamp)
        tasks[name] = {"ResourceUsage": dict(_dtle_usage(), DeviceStats=None), "Timestamp": stamp, "Pids": {}}
    stamp = max(stamps) if stamps else 0
    return _float_body({"ResourceUsage": dict(_dtle_usage(), DeviceStats=[]), "Tasks": tasks, "Timestamp": stamp})


def alloc_stats(st: ClusterState, alloc: Alloc, only: str | None) -> bytes:
    now = st.now()
    tasks = {}
    total_rss, total_cpu = 0, 0.0
    names = [t for t in alloc.tasks if only is None or t == only]
    if names and all(_driver(alloc, name) == "dtle" for name in names):
        return dtle_stats(st, alloc, names)
    for name in names:
        run = alloc.task_states[name]
        rss, cpu = task_usage(st, alloc, name) if run.state == "running" else (0, 0.0)
        total_rss += rss
        total_cpu += cpu
        pid = str(30000 + int(alloc.id[:4], 16) % 9000)
        tasks[name] = {"ResourceUsage": {"MemoryStats": _memory(rss), "CpuStats": _cpu(float(cpu)),
                                         "DeviceStats": None},
                       "Timestamp": now, "Pids": {pid: {"MemoryStats": _memory(rss), "CpuStats": _cpu(float(cpu)),
                                                        "DeviceStats": None}}}
    usage = {"MemoryStats": _memory(total_rss), "CpuStats": _cpu(float(total_cpu)), "DeviceStats": []}
    if not names:
        usage["MemoryStats"]["Measured"] = None
        usage["CpuStats"]["Measured"] = None
    return _float_body({"ResourceUsage": usage, "Tasks": tasks, "Timestamp": now if names else 0})
