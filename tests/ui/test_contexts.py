"""Two contexts in the config file: the banner and the cluster switch together (issue 8)."""

from __future__ import annotations

from dtle_tui.app import DtleApp
from dtle_tui.config.settings import load_settings
from dtle_tui.screens.contexts import ContextsScreen
from dtle_tui.sim import SimCluster
from dtle_tui.widgets.status_bar import StatusBar
from tests.helpers.wait import until


def banner_text(app) -> str:
    return str(app.screen.query_one("#banner").content)


def job_ids(app) -> set:
    return {r.id for r in app.snapshot.rows} if app.snapshot else set()


async def test_switching_context_switches_banner_cluster_and_safety(tmp_path):
    with SimCluster(frozen=True) as staging, SimCluster(jobs=5, frozen=True) as prod:
        config = tmp_path / "config" / "dtle-tui" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(
            'default_context = "staging"\n\n'
            f'[contexts.staging]\nnomad_addr = "{staging.nomad_addr}"\nconsul_addr = "{staging.consul_addr}"\n'
            'color = "green"\n\n'
            f'[contexts.prod]\nnomad_addr = "{prod.nomad_addr}"\nconsul_addr = "{prod.consul_addr}"\n'
            'color = "red"\nread_only = true\n'
        )
        env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
               "XDG_STATE_HOME": str(tmp_path / "state")}
        app = DtleApp(load_settings(["--refresh", "0.5"], env))
        async with app.run_test(size=(80, 24)) as pilot:
            staging_jobs = {j["ID"] for j in staging.scenario.jobs()}
            await until(pilot, lambda: job_ids(app) == staging_jobs, what="staging's jobs")
            assert "context: staging" in banner_text(app)
            assert not app.settings.read_only

            await pilot.press("C")
            await until(pilot, lambda: isinstance(app.screen, ContextsScreen))
            await pilot.press("down", "enter")  # staging is highlighted; prod is next
            prod_jobs = {j["ID"] for j in prod.scenario.jobs()}
            await until(pilot, lambda: job_ids(app) == prod_jobs, what="prod's jobs")
            assert "context: prod" in banner_text(app)
            assert app.settings.read_only
            status = app.screen.query_one(StatusBar)
            await until(pilot, lambda: "READ-ONLY" in str(status.content)
                        and prod.nomad_addr.replace("http://", "") in str(status.content))
            assert app.screen.query_one("#jobs-table").row_count == len(prod_jobs)

            # Back to staging: read-only stays on (a switch never loosens safety).
            await pilot.press("C")
            await until(pilot, lambda: isinstance(app.screen, ContextsScreen))
            await pilot.press("up", "enter")
            await until(pilot, lambda: job_ids(app) == staging_jobs, what="staging again")
            assert "context: staging" in banner_text(app)
            assert app.settings.read_only
