"""A failure while the poller starts its feeds reaches the status line in one line, and the log (issue 14,
item 6); before, an exception there left "Connecting to Nomad…" on screen for ever."""

from __future__ import annotations

import logging

from dtle_tui.app import DtleApp
from dtle_tui.screens.jobs import JobsScreen
from tests.helpers.screen import screen_text, status_line
from tests.helpers.wait import until


def broken(what: str):
    def construct(*args, **kwargs):
        raise ImportError(f"No module named {what!r}\n(second line of the error)")

    return construct


async def test_consul_client_that_cannot_be_built_is_shown(frozen_sim, make_settings, monkeypatch, caplog):
    import dtle_tui.api.consul_kv as consul_kv

    monkeypatch.setattr(consul_kv, "ConsulKV", broken("consul"))
    app = DtleApp(make_settings(frozen_sim))
    with caplog.at_level(logging.ERROR, logger="dtle_tui.live.poller"):
        async with app.run_test(size=(120, 24)) as pilot:
            await until(pilot, lambda: "could not start" in status_line(app), "the Consul error on the status line")
            line = status_line(app)
            assert "\n" not in line
            assert "dtle-tui could not start: ImportError: No module named 'consul' (second line" in line
            # Nomad's feeds started: the jobs are listed, without Gtids.
            await until(pilot, lambda: isinstance(app.screen, JobsScreen) and app.screen.table.row_count > 0, "jobs")
    failures = [r for r in caplog.records if "starting the Consul feeds failed" in r.getMessage()]
    assert failures and failures[0].exc_info is not None and failures[0].exc_info[0] is ImportError


async def test_nomad_client_that_cannot_be_built_is_shown(frozen_sim, make_settings, monkeypatch, caplog):
    import dtle_tui.live.poller as poller

    monkeypatch.setattr(poller, "NomadClient", broken("httpx"))
    app = DtleApp(make_settings(frozen_sim))
    with caplog.at_level(logging.ERROR, logger="dtle_tui.live.poller"):
        async with app.run_test(size=(120, 24)) as pilot:
            await until(pilot, lambda: "could not start" in status_line(app), "the Nomad error on the status line")
            assert "dtle-tui could not start: ImportError: No module named 'httpx'" in status_line(app)
            text = screen_text(app)
            assert "Connecting to Nomad" not in text
            assert "No data yet: dtle-tui could not start" in text
    assert any("starting the Nomad feeds failed" in r.getMessage() and r.exc_info for r in caplog.records)
