"""The action keys in the real DtleApp against the simulator: d / P / G / R / U / a end to end, and
read-only mode."""

from __future__ import annotations

import json

from textual.widgets import Input, OptionList

from dtle_tui.app import DtleApp
from dtle_tui.ops.audit import read_entries
from dtle_tui.screens.add_job import AddJobScreen
from dtle_tui.screens.confirm import ConfirmScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.screens.pick import PickScreen
from dtle_tui.textual_private import notifications
from tests.helpers.paths import FIXTURES
from tests.helpers.pilot import writes_done
from tests.helpers.screen import focused_id, row_keys
from tests.helpers.wait import until

EXAMPLE = FIXTURES / "reference" / "dtle_job_example.json"



async def select(pilot, app, job_id: str):
    await until(pilot, lambda: isinstance(app.screen, JobsScreen), "the Jobs screen")
    screen = app.screen
    await until(pilot, lambda: job_id in row_keys(screen.table), f"row {job_id}")
    screen.table.move_cursor(row=row_keys(screen.table).index(job_id))
    await until(pilot, lambda: screen.current_job_id() == job_id, f"{job_id} selected")
    return screen


def notes(app) -> str:
    return "\n".join(str(n.message) for n in notifications(app))


def nomad_writes(sim) -> list:
    return [(m, p) for s, m, p, _q in sim.requests.entries() if m in ("PUT", "POST", "DELETE")]


async def test_d_then_y_stops_the_job(sim, make_settings):
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "job1")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the delete dialog")
        await until(pilot, lambda: focused_id(app) == "confirm-cancel", "Cancel focused")
        await pilot.press("y")
        await until(pilot, lambda: sim.scenario.job("job1")["Stop"] is True, "Stop true in the sim")
        await until(pilot, lambda: "stopped" in notes(app), "the result notification")
        assert "backups" in notes(app)
    assert nomad_writes(sim) == [("DELETE", "/v1/job/job1")]


async def test_d_then_escape_sends_nothing(sim, make_settings):
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "job1")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the delete dialog")
        await pilot.press("escape")
        await until(pilot, lambda: "Cancelled" in notes(app), "the cancel note")
    assert nomad_writes(sim) == [] and sim.scenario.job("job1")["Stop"] is False


async def test_purge_needs_the_typed_id(sim, make_settings):
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "mig-[b]ops")
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the purge dialog")
        await until(pilot, lambda: focused_id(app) == "confirm-input", "the ID box focused")
        assert isinstance(app.focused, Input)
        await pilot.press(*"mig-[b]op", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and nomad_writes(sim) == []
        app.focused.value = ""
        await pilot.press(*"mig-[b]ops", "enter")
        await until(pilot, lambda: sim.scenario.job("mig-[b]ops") is None, "the job purged")
    assert nomad_writes(sim) == [("DELETE", "/v1/job/mig-[b]ops")]


async def test_gtid_reset_refused_while_running_then_reset_and_restore(sim, make_settings, tmp_path):
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "job1")
        await pilot.press("G")
        await until(pilot, lambda: "pending or running" in notes(app), "the refusal")
        assert not isinstance(app.screen, ConfirmScreen) and nomad_writes(sim) == []

        await select(pilot, app, "legacy-stopped")
        keys = {e.key: e.value for e in sim.kv.list("dtle/legacy-stopped/")}
        assert keys
        await pilot.press("G")
        await until(pilot, lambda: focused_id(app) == "confirm-input", "the reset dialog, its ID box focused")
        await pilot.press(*"legacy-stopped", "enter")
        await until(pilot, lambda: sim.kv.list("dtle/legacy-stopped/") == [], "the keys deleted")
        await until(pilot, lambda: "gtid_executed_v4" in notes(app), "the reset report")
        await writes_done(pilot)  # U before the reset's worker ends is refused as another write running

        await select(pilot, app, "legacy-stopped")
        await pilot.press("U")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the restore dialog")
        await pilot.press("y")
        await until(pilot, lambda: {e.key: e.value for e in sim.kv.list("dtle/legacy-stopped/")} == keys,
                    "the keys restored")


async def test_readd_offers_reset_first(sim, make_settings):
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "job10")
        await pilot.press("P")
        await until(pilot, lambda: focused_id(app) == "confirm-input", "the purge dialog, its ID box focused")
        await pilot.press(*"job10", "enter")
        await until(pilot, lambda: sim.scenario.job("job10") is None, "job10 purged")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the dialog closed")
        await until(pilot, lambda: "job10" not in row_keys(app.screen.table), "job10's row gone")
        # A purged job has no row any more: R offers every job with a saved spec.
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, PickScreen), "the saved-spec picker")
        picker = app.screen.query_one(OptionList)
        ids = [picker.get_option_at_index(i).id for i in range(picker.option_count)]
        assert ids == ["job10"]
        assert "purged" in str(picker.get_option_at_index(0).prompt)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the re-add dialog")
        shown = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "RESUME" in shown and app.screen.query_one("#confirm-extra")
        await pilot.press("r")
        await until(pilot, lambda: sim.scenario.job("job10") is not None, "job10 registered again")
        await until(pilot, lambda: "starts from its config" in notes(app), "the re-add report")
    assert sim.kv.value("dtle/job10/Gtid") in (None, b"")


async def test_add_from_a_path(sim, make_settings, tmp_path):
    spec = json.loads(EXAMPLE.read_text())
    spec["Job"]["ID"] = "added-job"
    (tmp_path / "added.json").write_text(json.dumps(spec))
    (tmp_path / "bad.json").write_text("{\n  nope\n}")
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "job1")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AddJobScreen), "the add dialog")
        await pilot.press(*str(tmp_path / "bad.json"), "enter")
        await until(pilot, lambda: "line 2 column 3" in str(app.screen.query_one("#add-error").render()),
                    "the JSON error in the dialog")
        app.screen.query_one("#add-input", Input).value = str(tmp_path / "added.json")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the add confirmation")
        await pilot.press("y")
        await until(pilot, lambda: sim.scenario.job("added-job") is not None, "the job registered")
    assert nomad_writes(sim) == [("POST", "/v1/jobs")]


async def test_read_only_hides_the_keys_and_refuses(sim, make_settings):
    settings = make_settings(sim, "--read-only")
    app = DtleApp(settings)
    async with app.run_test(size=(120, 24)) as pilot:
        screen = await select(pilot, app, "job1")
        shown = {b.binding.key for b in screen.active_bindings.values()}
        assert not {"d", "P", "G", "U", "a", "R"} & shown
        for key in ("d", "P", "G", "U", "a", "R"):
            await pilot.press(key)
        await until(pilot, lambda: len(read_entries(settings.state_dir)) == 6, "six refusals audited")
        assert not isinstance(app.screen, ConfirmScreen)
        assert "read-only" in notes(app)
    assert nomad_writes(sim) == []


async def test_read_only_refuses_before_anything_answered(sim, make_settings):
    """The refusal needs no connection: with Nomad and Consul holding every request, a write key is
    refused, audited, in the same words as any refusal (it used to answer "Not connected yet")."""
    sim.nomad_faults.hang = True
    sim.consul_faults.hang = True
    settings = make_settings(sim, "--read-only")
    app = DtleApp(settings)
    async with app.run_test(size=(120, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, JobsScreen), "the Jobs screen")
        await pilot.press("a")
        await until(pilot, lambda: len(read_entries(settings.state_dir)) == 1, "the refusal audited")
        assert app.snapshot is None or app.snapshot.nomad.ok_at is None  # nothing has answered yet
        assert "add: refused: read-only mode" in notes(app) and "Not connected" not in notes(app)
        assert read_entries(settings.state_dir)[0]["result"].startswith("refused: read-only")
        assert not isinstance(app.screen, AddJobScreen)
    sim.nomad_faults.hang = sim.consul_faults.hang = False
    assert nomad_writes(sim) == []
