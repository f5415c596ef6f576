"""Issue 26, item 9: the demo keeps its audit and backups in a folder of its own; the real state directory
($XDG_STATE_HOME, where the real clusters' backups are) is never touched."""

from __future__ import annotations

from dtle_tui.app import DtleApp
from dtle_tui.config.settings import demo_settings, load_settings
from dtle_tui.ops.audit import read_entries
from dtle_tui.screens.confirm import ConfirmScreen
from tests import scenes
from tests.helpers.wait import until


async def test_a_delete_in_the_demo_writes_only_into_the_demo_folder(sim, tmp_path):
    env = {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    settings = demo_settings(load_settings(["--demo", "--refresh", "0.5"], env), sim.nomad_addr, sim.consul_addr)
    demo_dir = tmp_path / "cache" / "dtle-tui" / "demo"
    assert settings.state_dir == demo_dir and settings.log_file.parent == demo_dir
    app = DtleApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot and app.snapshot.rows, "the demo's jobs")
        await until(pilot, lambda: app.screen.query_one("#jobs-table").row_count == len(app.snapshot.rows), "rows")
        await scenes.select(pilot, "job1")
        await until(pilot, lambda: app.screen.selected_job == "job1", "job1 selected")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the delete dialog", timeout=30)
        assert app.screen.job_id == "job1"
        assert str(demo_dir) in " ".join(app.screen.lines)  # the backup line names the demo folder
        await pilot.press("y")
        await until(pilot, lambda: sim.scenario.job("job1")["Stop"] is True, "the delete", timeout=30)
        await until(pilot, lambda: read_entries(demo_dir), "the audit line", timeout=30)
    assert read_entries(demo_dir)[-1]["action"] == "delete"
    assert list((demo_dir / "backups").rglob("job.json"))
    assert not (tmp_path / "state").exists()
