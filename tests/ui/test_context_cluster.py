"""Issue 26, item 7, in the app: the banner names the context whose cluster the console talks to, and no
stale NOMAD_* / CONSUL_* export (address or token) reaches another cluster — at start-up and after `C`.

Two simulators: `stale` is what the shell's exports point at, `prod` is the context's cluster, with ACLs on:
it answers only to its own token (which the context names), so a stale token sent there would show as a
refusal, and a request sent to `stale` shows in its request log.
"""

from __future__ import annotations

from pathlib import Path

from dtle_tui.app import DtleApp
from dtle_tui.config.settings import load_settings
from dtle_tui.screens.contexts import ContextsScreen
from dtle_tui.sim import SimCluster
from tests.helpers.wait import until
from tests.ui.test_contexts import banner_text, job_ids

PROD_TOKEN = "0b6a8c52-4d1e-4f3a-9c2b-7e5d3a1f0c11"  # UUID-shaped, as Nomad checks
STALE_TOKEN = "9d1f0e77-2a3b-4c5d-8e9f-0a1b2c3d4e5f"


def setup(tmp_path: Path, stale: SimCluster, prod: SimCluster, default: bool = False) -> dict:
    config = tmp_path / "config" / "dtle-tui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        ('default_context = "prod"\n' if default else "")
        + f'[contexts.prod]\nnomad_addr = "{prod.nomad_addr}"\nconsul_addr = "{prod.consul_addr}"\n'
        'nomad_token_env = "PROD_NOMAD_TOKEN"\ncolor = "red"\n'
    )
    return {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state"), "PROD_NOMAD_TOKEN": PROD_TOKEN,
            "NOMAD_ADDR": stale.nomad_addr, "CONSUL_HTTP_ADDR": stale.consul_addr, "NOMAD_TOKEN": STALE_TOKEN}


def jobs_of(sim: SimCluster) -> set:
    return {j["ID"] for j in sim.scenario.jobs()}


async def test_context_flag_wins_over_a_stale_export(tmp_path):
    with SimCluster(frozen=True) as stale, SimCluster(jobs=4, frozen=True, acl_token=PROD_TOKEN) as prod:
        env = setup(tmp_path, stale, prod)
        app = DtleApp(load_settings(["--context", "prod", "--refresh", "0.5"], env))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: job_ids(app) == jobs_of(prod), what="prod's jobs")
            assert "context: prod" in banner_text(app)
            assert app.settings.nomad.token == PROD_TOKEN
            await pilot.pause(1.0)  # a few refreshes: none of them may go to the stale cluster
            assert stale.requests.count() == 0
            assert not app.snapshot.nomad.error  # the prod cluster never saw the stale token (it would refuse it)


async def test_the_default_context_gives_way_and_the_banner_names_none(tmp_path):
    with SimCluster(frozen=True) as stale, SimCluster(jobs=4, frozen=True, acl_token=PROD_TOKEN) as prod:
        env = setup(tmp_path, stale, prod, default=True)
        del env["NOMAD_TOKEN"]
        app = DtleApp(load_settings(["--refresh", "0.5"], env))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: job_ids(app) == jobs_of(stale), what="the exported cluster's jobs")
            assert "context:" not in banner_text(app)
            assert prod.requests.count() == 0


async def test_switching_with_C_leaves_the_exports_behind(tmp_path):
    with SimCluster(frozen=True) as stale, SimCluster(jobs=4, frozen=True, acl_token=PROD_TOKEN) as prod:
        env = setup(tmp_path, stale, prod)
        app = DtleApp(load_settings(["--refresh", "0.5"], env))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: job_ids(app) == jobs_of(stale), what="the exported cluster first")
            assert "context:" not in banner_text(app)
            await pilot.press("C")
            await until(pilot, lambda: isinstance(app.screen, ContextsScreen), what="the contexts")
            await pilot.press("enter")
            await until(pilot, lambda: job_ids(app) == jobs_of(prod), what="prod's jobs after C")
            assert "context: prod" in banner_text(app)
            assert app.settings.nomad.token == PROD_TOKEN and app.settings.nomad.addr == prod.nomad_addr
            await until(pilot, lambda: app.snapshot.nomad.ok_at, what="prod answering")
            before = stale.requests.count()
            await pilot.pause(1.5)
            assert stale.requests.count() == before  # the old poller is gone; nothing more to the export
            assert not app.snapshot.nomad.error
