"""The simulated cluster for the benchmark, in a thread of the benchmark process.

The app under test always runs in a child process, so the simulator's CPU never counts against it, and
the request log of the simulator (`request_count`) is read directly. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import socketserver
import sys
import time
import urllib.request
from typing import List, Optional


class BenchSim:
    """A SimCluster started and stopped as a context manager, with the few knobs the benchmark needs."""

    def __init__(self, jobs: Optional[int], frozen: bool, dialect: str = "1.1") -> None:
        from dtle_tui.sim import SimCluster

        self.jobs = jobs
        self.cluster = SimCluster(dialect=dialect, jobs=jobs, frozen=frozen)
        _quiet_disconnects()
        self._touched = 0

    def __enter__(self) -> BenchSim:
        self.cluster.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        try:
            self.set_latency(0.0)
        finally:
            self.cluster.stop()

    @property
    def nomad_addr(self) -> str:
        return self.cluster.nomad_addr

    @property
    def consul_addr(self) -> str:
        return self.cluster.consul_addr

    # ---- what the cluster holds (read over HTTP like a client would; the log is reset afterwards) ----
    def job_ids(self) -> List[str]:
        with urllib.request.urlopen(self.nomad_addr + "/v1/jobs", timeout=120) as resp:
            ids = sorted(j["ID"] for j in json.loads(resp.read()))
        self.reset_requests()
        return ids

    def allocation_count(self) -> int:
        with urllib.request.urlopen(self.nomad_addr + "/v1/allocations", timeout=120) as resp:
            n = len(json.loads(resp.read()))
        self.reset_requests()
        return n

    # ---- request log -----------------------------------------------------------------------------------
    def reset_requests(self) -> None:
        self.cluster.reset_requests()

    def requests(self, service: Optional[str] = None) -> int:
        return self.cluster.request_count(service=service)

    def request_log(self) -> list:
        log = getattr(self.cluster, "requests", None)
        entries = getattr(log, "entries", None)
        return list(entries()) if callable(entries) else []

    # ---- faults and changes ------------------------------------------------------------------------------
    def set_latency(self, seconds: float) -> None:
        self.cluster.nomad_faults.latency = seconds
        self.cluster.consul_faults.latency = seconds

    def change_one(self) -> None:
        """One allocation changes (ModifyIndex/ModifyTime): the jobs and allocations lists answer again.

        This is the smallest real change a frozen cluster can have, so the refresh it causes is the full
        cycle (fetch + decode + parse + derive + diff + render) with almost nothing to repaint.
        """
        state = self.cluster.scenario.state
        with state.lock:
            allocs = sorted(state.allocs)
            alloc = state.allocs[allocs[self._touched % len(allocs)]]
            self._touched += 1
            state.touch(alloc)


def wait_for(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def _quiet_disconnects() -> None:
    """A client killed mid-answer is routine here; keep socketserver's traceback for real errors only.

    Patched in this process only, on the simulator's listener class (its handle_error is the stdlib's).
    """
    from dtle_tui.sim import server

    listener = server._Listener
    if getattr(listener, "_bench_quiet", False):
        return

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        socketserver.BaseServer.handle_error(self, request, client_address)

    listener.handle_error = handle_error
    listener._bench_quiet = True
