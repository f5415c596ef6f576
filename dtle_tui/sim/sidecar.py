"""A job of another driver beside the dtle jobs: the one task in the demo's story with memory figures.

A dtle task reports no usage at all (docs/reference/real-dtle.md §8), so the console's memory line (RSS
against MemoryMB, the note near the limit) can only be seen on a task of a driver that measures. Clusters
that run dtle run other jobs too: here `binlog-exporter`, a raw_exec task reading the source's binlog
metrics, keeps its RSS near its MemoryMB (raw_exec measures RSS and Swap and enforces no limit). Added to
the troubleshooting story (scenario.add_troubles), which `--demo` and the tests' `trouble_sim` play.
"""

from __future__ import annotations

from typing import Any

from . import shapes

S = shapes.SEC
SIDECAR_JOB = "binlog-exporter"
SIDECAR_MEMORY_MB = 128
# (job, task) -> share of its MemoryMB its RSS stays at (sim/taskstats.py adds a slow wave of ±2%).
MEMORY_SHARES = {(SIDECAR_JOB, "exporter"): 0.88}


def sidecar_spec() -> dict:
    return {"ID": SIDECAR_JOB, "Datacenters": ["dc1"], "TaskGroups": [
        {"Name": "exporter", "Tasks": [{
            "Name": "exporter", "Driver": "raw_exec",
            "Config": {"command": "/usr/local/bin/binlog_exporter",
                       "args": ["--mysql", "mysql-src-04.prod:3306", "--listen", "127.0.3.21:9104"]},
            "Resources": {"CPU": 100, "MemoryMB": SIDECAR_MEMORY_MB}}]}]}


def add_sidecar(scenario: Any) -> None:
    """Register the job two hours ago and run it on dtle-node-1 since then."""
    record, allocs = scenario.add_job(sidecar_spec(), 2 * 3600)
    scenario.run(allocs, record.job["SubmitTime"] + S)
