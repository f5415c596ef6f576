"""The simulator from the tests' side: what it says over HTTP, changes made behind the console's back,
faults, and what its troubleshooting story received."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any, Callable, Optional

from dtle_tui.config.settings import Settings, load_settings
from tests.helpers import loopback
from tests.helpers.wait import PATIENCE_S, until_blocking

# --timeout and --refresh of a console that should meet (and leave) a fault within about a second.
FAST = ("--timeout", "1", "--refresh", "0.2")


def settings_for(sim: Any, tmp_path: Path, *extra: str, env: Optional[dict] = None) -> Settings:
    """Settings as `dtle-tui --nomad-addr … --consul-addr …` would build them, isolated in tmp_path."""
    environ = {
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    environ.update(env or {})
    argv = ["--nomad-addr", sim.nomad_addr, "--consul-addr", sim.consul_addr, "--refresh", "0.5",
            "--timeout", "30", *extra]
    return load_settings(argv, environ)


def sim_get(addr: str, path: str) -> Any:
    """What the simulator says, read directly over HTTP (the truth the screens must show)."""
    response = loopback.get(addr + path, timeout=30)
    response.raise_for_status()
    return response.json()


def dead_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def touch_dest(sim: Any, job_id: str, status: Optional[str] = None) -> Any:
    """Change a job's current dest allocation in the simulator (optionally its ClientStatus), as a client
    update would: a new ModifyIndex, and on 1.1.2 one AllocationUpdated event."""
    state = sim.state
    with state.lock:
        alloc = next(a for a in state.allocs.values() if a.job_id == job_id and a.task_group == "dest"
                     and a.desired_status == "run")
        if status:
            alloc.client_status = status
        state.touch(alloc)
    return alloc


def troubleshoot_writes(sim: Any) -> list:
    """What the troubleshooting story received (issue 12): (method, path, body) of each write."""
    return [(m, p, json.loads(b) if b else None) for m, p, b in sim._nomad_api.troubleshoot.writes]


def running(sim: Any, job: str, group: str):
    """The running allocation of `job`'s `group` in the scenario."""
    return next(a for a in sim.scenario.allocations(job) if a.task_group == group and a.client_status == "running")


def released_by(query: Callable[[], Any], held: Callable[[], Any], change: Callable[[], Any]) -> Any:
    """A blocking query's answer to `change`: `query()` runs in a thread, `change()` is made once the
    simulator holds it (`held()` true), and the answer is returned. Whether it came because of the change
    or because its wait ran out is for the caller to tell (a wait far longer than the test's deadline)."""
    answer: dict = {}

    def run() -> None:
        try:
            answer["value"] = query()
        except BaseException as exc:  # handed to the test below
            answer["error"] = exc

    thread = threading.Thread(target=run, name="held-query", daemon=True)
    thread.start()
    until_blocking(lambda: held() or not thread.is_alive(), "the query held by the simulator")
    change()
    thread.join(PATIENCE_S)
    if "error" in answer:
        raise answer["error"]
    assert "value" in answer, "the held query never answered"
    return answer["value"]
