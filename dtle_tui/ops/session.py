"""The clients of one write: made for it from the settings it started with, closed when it ends.

A write key's whole flow (its plan, the confirmation, the write, the report) runs in one Textual worker
on the UI's own loop (intents.py), as posting and harlequin run their requests: its Nomad and Consul
clients are its own, short-lived, never the poller's. So a write needs no poller (a key pressed before the
first answer works), never hops between two event loops, and a context switched meanwhile cannot send
the rest of the flow to the other cluster. Nothing here blocks that loop: the requests are httpx's async
ones, and the backups and audit lines are written in a thread (ops/guarded.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from dtle_tui.api.consul_kv import ConsulKV
from dtle_tui.api.nomad import NomadClient
from dtle_tui.ops.actions import Actions
from dtle_tui.ops.repair import Repairs


class WriteSession:
    def __init__(self, settings: Any, state: Optional[Path] = None) -> None:
        self.settings = settings
        self.nomad = NomadClient(settings.nomad, timeout=settings.timeout)
        self.consul = ConsulKV(settings.consul, timeout=settings.timeout)
        self.actions = Actions(self.nomad, self.consul, settings, state)
        self.repairs = Repairs(self.nomad, settings, state)

    async def aclose(self) -> None:
        for client in (self.nomad, self.consul):
            try:
                await client.aclose()
            except Exception:  # closing: nothing useful to do with a late error
                pass

    async def __aenter__(self) -> WriteSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
