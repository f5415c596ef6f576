"""OrphansScreen in the real DtleApp against the simulator: the purged job's leftovers, and their clean-up
through the confirmation, backup and audit path."""

from __future__ import annotations

import json

from textual.widgets import Input

from dtle_tui.app import DtleApp
from dtle_tui.live.snapshot import Orphan
from dtle_tui.ops.audit import read_entries
from dtle_tui.screens.confirm import ConfirmScreen
from dtle_tui.screens.orphans import KEYS_WITHOUT_JOB, OrphansScreen, key_names
from tests.helpers.pilot import writes_done
from tests.helpers.screen import focused_id
from tests.helpers.wait import until


def rows(screen: OrphansScreen) -> dict:
    table = screen.table
    return {str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)] for i in range(table.row_count)}


async def open_orphans(pilot, app) -> OrphansScreen:
    await pilot.press("3")
    await until(pilot, lambda: isinstance(app.screen, OrphansScreen), "the Orphans screen")
    return app.screen


async def test_purged_job_leftovers_are_listed(sim, make_settings):
    orphan = sim.scenario.orphan_job
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(130, 30)) as pilot:
        screen = await open_orphans(pilot, app)
        await until(pilot, lambda: orphan in rows(screen), "the purged job's row")
        cells = rows(screen)[orphan]
        assert cells[1] == KEYS_WITHOUT_JOB
        assert cells[2] == "dtle/ ×4, dtleJobList"
        # only jobs Nomad does not know are "keys without job"
        nomad_jobs = set(sim.state.jobs)
        for job, row in rows(screen).items():
            if row[1] == KEYS_WITHOUT_JOB:
                assert job not in nomad_jobs
        screen.table.move_cursor(row=list(rows(screen)).index(orphan))
        await pilot.pause()
        detail = str(screen.query_one("#orphans-detail").render())
        assert f"dtle/{orphan}/Gtid" in detail and f"dtleJobList/{orphan}" in detail


async def test_cleanup_confirms_backs_up_and_audits(sim, make_settings, tmp_path):
    orphan = sim.scenario.orphan_job
    settings = make_settings(sim)
    app = DtleApp(settings)
    before = [k for k in sim.kv.keys() if k.startswith(f"dtle/{orphan}/") or k == f"dtleJobList/{orphan}"]
    assert before
    async with app.run_test(size=(130, 30)) as pilot:
        screen = await open_orphans(pilot, app)
        await until(pilot, lambda: orphan in rows(screen), "the purged job's row")
        screen.table.move_cursor(row=list(rows(screen)).index(orphan))
        await pilot.pause()
        assert screen.current_job_id() == orphan

        await pilot.press("G")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await until(pilot, lambda: focused_id(app) == "confirm-input", "its ID box focused")
        await pilot.press(*"wrong", "enter")
        assert isinstance(app.screen, ConfirmScreen)  # a wrong ID does nothing
        app.screen.query_one("#confirm-input", Input).value = ""
        await pilot.press(*orphan, "enter")
        await until(pilot, lambda: not any(k in sim.kv.keys() for k in before), "the keys to go")
        await until(pilot, lambda: orphan not in rows(screen), "the row to disappear")

        # The reset's report follows Consul's answer (the poller may show the row gone first), and U
        # before it is refused as another write still running: wait for the write to end.
        await writes_done(pilot)
        await pilot.press("U")  # undo: the keys come back from the backup just written
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the restore confirmation")
        await pilot.press("y")
        await until(pilot, lambda: all(k in sim.kv.keys() for k in before), "the keys to come back")
        await until(pilot, lambda: orphan in rows(screen), "the row to come back")
        # The audit line follows the answer; the poller may see the keys back before it is written.
        await until(pilot, lambda: (settings.state_dir / "audit.jsonl").read_text().count("restore-gtid") == 1,
                    "the restore's audit line")

    backups = list((settings.state_dir).rglob("consul.json"))
    assert backups, "no backup written"
    saved = backups[0].read_text()
    assert all(k in saved for k in before)
    audit = [json.loads(line) for line in (settings.state_dir / "audit.jsonl").read_text().splitlines()]
    assert [(a["action"], a["job"]) for a in audit[-2:]] == [("reset-gtid", orphan), ("restore-gtid", orphan)]


async def test_cancel_sends_nothing(sim, make_settings):
    orphan = sim.scenario.orphan_job
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(130, 30)) as pilot:
        screen = await open_orphans(pilot, app)
        await until(pilot, lambda: orphan in rows(screen), "the purged job's row")
        screen.table.move_cursor(row=list(rows(screen)).index(orphan))
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, OrphansScreen), "back")
    assert f"dtle/{orphan}/Gtid" in sim.kv.keys()


def test_key_names_cell():
    o = Orphan("old", KEYS_WITHOUT_JOB, ("dtle/old/BinlogFilePos", "dtle/old/Gtid", "dtleJobList/old"), "x:1-5")
    assert key_names(o) == "dtle/ ×2, dtleJobList"
    assert key_names(Orphan("r", "job without position", (), None)) == "—"


async def test_read_only_hides_and_refuses_cleanup(sim, make_settings):
    orphan = sim.scenario.orphan_job
    app = DtleApp(make_settings(sim, "--read-only"))
    async with app.run_test(size=(130, 30)) as pilot:
        screen = await open_orphans(pilot, app)
        await until(pilot, lambda: orphan in rows(screen), "the purged job's row")
        # Hidden from the footer; still bound, so a press is answered with the refusal, audited.
        shown = {b.binding.id for b in screen.active_bindings.values()}
        assert not {"dtle.orphans.cleanup", "dtle.orphans.restore"} & shown and "dtle.orphans.copy" in shown
        screen.table.move_cursor(row=list(rows(screen)).index(orphan))
        await pilot.press("G")
        await until(pilot, lambda: [e for e in read_entries(app.settings.state_dir) if e.get("job") == orphan],
                    "the refusal audited")
        assert not isinstance(app.screen, ConfirmScreen)
    assert f"dtle/{orphan}/Gtid" in sim.kv.keys()
