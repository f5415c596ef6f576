"""Helpers for driving the real app through Pilot: wait on UI conditions, never on bare sleeps."""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

import httpx


async def wait_until(pilot: Any, condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Let the app run until `condition()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception as exc:  # the screen may be between states (not mounted yet)
            result, last_error = None, exc
        if result:
            return result
        await pilot.pause(0.05)
    detail = f" (last error: {last_error})" if last_error else ""
    raise AssertionError(f"timed out waiting for {what or condition}{detail}")


async def until(pilot: Any, condition: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """`wait_until` with the reason first, as the action tests read best."""
    return await wait_until(pilot, condition, timeout=timeout, what=what)


def sim_get(addr: str, path: str) -> Any:
    """What the simulator says, read directly over HTTP (the truth the screens must show)."""
    response = httpx.get(addr + path, timeout=5)
    response.raise_for_status()
    return response.json()


def screen_text(app: Any) -> str:
    """Everything painted on the app's current screen, as plain text."""
    import io

    from rich.console import Console
    from textual.widgets import DataTable, Static

    from dtle_tui.widgets.virtual_table import VirtualTable

    console = Console(file=io.StringIO(), width=400, color_system=None, record=True)
    parts = []
    for widget in app.screen.query("*"):
        if isinstance(widget, (DataTable, VirtualTable)):
            for row in range(widget.row_count):
                parts.append(" ".join(str(c) for c in widget.get_row_at(row)))
        elif isinstance(widget, Static):
            content = widget.content
            if isinstance(content, str):
                parts.append(content)
            else:
                console.print(content)
                parts.append(console.export_text(clear=True))
    return "\n".join(parts)


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
