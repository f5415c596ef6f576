"""Fault knobs shared by the simulated Nomad and Consul servers.

Each knob imitates something operators really see in front of these servers: a slow WAN (latency), a
flaky leader (error_rate / status 500), an ACL mistake (status 403), a reverse proxy answering for a
dead backend (html 502), a truncated body (garbage), a half-open connection (hang) and a stopped agent
(down: the port refuses connections).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

_KNOBS = ("latency", "error_rate", "status", "html", "garbage", "hang", "down")


class Faults:
    """Mutable fault settings; attribute writes are atomic under the GIL and observed per request."""

    def __init__(self) -> None:
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_changed", threading.Condition(self._lock))
        object.__setattr__(self, "_on_down", None)
        object.__setattr__(self, "_on_fault", None)
        self.latency = 0.0
        self.error_rate = 0.0
        self.status = None
        self.html = False
        self.garbage = False
        self.hang = False
        self.down = False

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _KNOBS:
            raise AttributeError(f"unknown fault knob {name!r}")
        value = _coerce(name, value)
        with self._changed:
            old = self.__dict__.get(name)
            object.__setattr__(self, name, value)
            self._changed.notify_all()
        if name == "down" and old is not None and old != value and self._on_down is not None:
            self._on_down(value)
        if value and old != value and self._on_fault is not None:
            self._on_fault(name)

    def on_fault(self, callback: Callable[[str], None] | None) -> None:
        """Called with the knob's name when a fault is switched on (not when one is cleared)."""
        object.__setattr__(self, "_on_fault", callback)

    def on_down_change(self, callback: Callable[[bool], None] | None) -> None:
        object.__setattr__(self, "_on_down", callback)

    def wait_while_hanging(self, stopping: threading.Event, client_gone: Callable[[], bool] | None = None) -> None:
        """Block the calling handler while `hang` is set (released by clearing it, by stop, or when the
        client hangs up, as Go's net/http cancels a request's context: tests count what is in flight)."""
        with self._changed:
            while self.hang and not stopping.is_set():
                if client_gone is not None and client_gone():
                    return
                self._changed.wait(0.05 if client_gone is not None else 0.2)

    def wait_latency(self, stopping: threading.Event, client_gone: Callable[[], bool] | None = None) -> None:
        """Sleep `latency` seconds (cut short by stop or by the client hanging up)."""
        deadline = time.monotonic() + self.latency
        while not stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (client_gone is not None and client_gone()):
                return
            stopping.wait(min(remaining, 0.05))

    def clear(self) -> None:
        self.update({"latency": 0.0, "error_rate": 0.0, "status": None, "html": False,
                     "garbage": False, "hang": False, "down": False})

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in _KNOBS}

    def update(self, values: dict) -> None:
        """Apply a JSON object of knobs (the /_sim/faults PUT body); unknown names raise ValueError."""
        unknown = set(values) - set(_KNOBS)
        if unknown:
            raise ValueError(f"unknown fault knobs: {', '.join(sorted(unknown))}")
        for name, value in values.items():
            setattr(self, name, value)


def _coerce(name: str, value: Any) -> Any:
    if name in ("latency", "error_rate"):
        number = float(value or 0.0)
        if number < 0 or (name == "error_rate" and number > 1):
            raise ValueError(f"{name} out of range: {value!r}")
        return number
    if name == "status":
        if value in (None, "", 0):
            return None
        status = int(value)
        if not 100 <= status <= 599:
            raise ValueError(f"status out of range: {value!r}")
        return status
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "yes", "on")
    return bool(value)
