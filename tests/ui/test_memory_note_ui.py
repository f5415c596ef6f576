"""Issue 26, item 8, on screen at 80x24: a task near its MemoryMB under a driver that reports RSS only (the
demo's raw_exec `binlog-exporter`: a dtle task reports no memory at all) reads that the limit is not
enforced, in the words an operator can act on."""

from __future__ import annotations

from dtle_tui.app import DtleApp
from dtle_tui.sim.sidecar import SIDECAR_JOB
from tests.helpers.screen import screen_text, visible_lines
from tests.helpers.wait import until
from tests.ui.test_troubleshoot_ui import open_alloc, running


async def test_the_allocation_says_the_limit_is_not_enforced(trouble_sim, make_settings):
    app = DtleApp(make_settings(trouble_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_alloc(pilot, app, running(trouble_sim, SIDECAR_JOB, "exporter").id)
        await until(pilot, lambda: "near its limit" in screen_text(app), "the memory line")

        def painted() -> str:  # what the terminal shows, once the panel has grown to its two rows
            return " ".join(line.strip() for line in visible_lines(app))

        await until(pilot, lambda: "which this driver does not enforce (it reports RSS only)" in painted(),
                    "the whole note on screen")
