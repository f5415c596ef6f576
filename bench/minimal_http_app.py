"""A second floor for first paint: the minimal app (minimal_app.py) whose one row comes from Nomad over the
HTTP stack the console must use (httpx.AsyncClient on an asyncio loop in a thread, started before Textual
is imported, as the console's poller is).

Run as `python -m bench.minimal_http_app NOMAD_ADDR`. The gap between this and the minimal app is what
httpx, httpcore, h11 and anyio cost before a first row can be painted; the gap between dtle-tui and this
is what dtle-tui itself adds (its models, its screen, its other start-up work).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any, List


def _fetch(addr: str, out: List[Any], done: threading.Event) -> None:
    import httpx  # on this thread, like the console's poller: its import overlaps Textual's

    async def get() -> None:
        # verify=False: a plain http:// address needs no TLS context (the console builds none either).
        async with httpx.AsyncClient(verify=False) as client:
            out.extend((await client.get(f"{addr}/v1/jobs")).json())

    try:
        asyncio.run(get())
    finally:
        done.set()


def main(argv: list | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    jobs: List[Any] = []
    done = threading.Event()
    threading.Thread(target=_fetch, args=(args[0], jobs, done), daemon=True).start()

    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    class MinimalHttpApp(App):
        def compose(self) -> ComposeResult:
            yield DataTable(id="table")

        def on_mount(self) -> None:
            done.wait(30)  # the minimal app has its row at once; this one as soon as Nomad answered
            table = self.query_one(DataTable)
            table.add_columns("ID", "Status")
            for job in jobs:
                table.add_row(str(job.get("ID")), str(job.get("Status")), key=str(job.get("ID")))

    MinimalHttpApp().run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
