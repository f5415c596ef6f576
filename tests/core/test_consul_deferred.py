"""Consul, and the Nomad reads the job list does not need, start after the first paint (issue 15): the
CLI's poller defers them, and a write action in the first moments does not depend on them (it has clients
of its own). Against the simulator over real HTTP."""

from __future__ import annotations

import asyncio

from dtle_tui.live import poller as poller_module
from dtle_tui.live.poller import Poller
from dtle_tui.live.snapshot import Snapshot
from dtle_tui.live.startup import EarlyPoller
from dtle_tui.ops.session import WriteSession
from dtle_tui.sim import SimCluster
from tests.helpers.sim import settings_for
from tests.helpers.wait import until_blocking


def test_the_early_poller_shows_nomad_without_consul_until_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(poller_module, "CONSUL_START_LATEST_S", 3600.0)  # only an explicit ask starts it
    snapshots: list[Snapshot] = []
    with SimCluster(dialect="1.1", frozen=True) as sim:
        early = EarlyPoller(settings_for(sim, tmp_path))
        try:
            early.take(snapshots.append)
            poller = early.poller
            until_blocking(lambda: snapshots and snapshots[-1].rows and snapshots[-1].nomad.ok, "the job list")
            assert poller.consul is None and sim.request_count(service="consul") == 0
            assert snapshots[-1].orphans == ()  # no position read yet: nothing reads as "without position"
            # Only the two lists the job list shows: no agent, nodes, event stream or evaluations yet.
            for path in ("/v1/agent/self", "/v1/nodes", "/v1/event/stream"):
                assert sim.request_count(service="nomad", path_prefix=path) == 0, path
            assert poller.troubles is None and "nodes" not in poller.feeds
            assert snapshots[-1].nomad.error is None and snapshots[-1].nomad_version == ""

            poller.first_paint_done()  # what the app does once the first rows are painted
            until_blocking(lambda: snapshots[-1].consul.ok and snapshots[-1].positions, "Consul's positions")
            assert sim.request_count(service="consul") > 0
            until_blocking(lambda: snapshots[-1].nomad_version == "1.1.2" and snapshots[-1].nodes,
                           "the agent and nodes")
            until_blocking(lambda: sim.request_count(service="nomad", path_prefix="/v1/event/stream") > 0, "the stream")
            assert poller.troubles is not None
        finally:
            early.stop()


def test_a_write_action_before_consul_started_reads_consul_with_its_own_client(tmp_path, monkeypatch):
    monkeypatch.setattr(poller_module, "CONSUL_START_LATEST_S", 3600.0)
    with SimCluster(dialect="1.1", frozen=True) as sim:
        settings = settings_for(sim, tmp_path)
        poller = Poller(settings, lambda snapshot: None, defer_consul=True)
        poller.start()
        try:
            until_blocking(lambda: poller.nomad is not None, "the Nomad client")
            assert poller.consul is None

            async def backup_read() -> list:
                async with WriteSession(settings) as session:  # what a write key's flow runs with
                    return await session.consul.job_entries("job1")

            entries = asyncio.run(backup_read())
            assert entries and all(e.key.startswith(("dtle/job1/", "dtleJobList/job1")) for e in entries)
            assert poller.consul is None  # the poller's own start was not needed, nor hurried
        finally:
            poller.stop()


def test_what_the_screens_asked_before_the_first_paint_reaches_what_starts_after_it(tmp_path, monkeypatch):
    """Job detail opened, and the Jobs rows in view told, before the first paint was done: the
    evaluations and dtle's monitor, started after it, take both over."""
    monkeypatch.setattr(poller_module, "CONSUL_START_LATEST_S", 3600.0)
    snapshots: list[Snapshot] = []
    with SimCluster(dialect="1.1", frozen=True) as sim:
        early = EarlyPoller(settings_for(sim, tmp_path, "--dtle-api", "nodes"))
        try:
            early.take(snapshots.append)
            poller = early.poller
            until_blocking(lambda: snapshots and snapshots[-1].rows, "the job list")
            poller.watch_job("job1")
            poller.watch_dtle_rows(("job1", "job2"))
            until_blocking(lambda: poller.dtle_rows == ("job1", "job2"), "the rows kept")
            assert poller.monitor is None and poller.troubles is None
            poller.first_paint_done()
            until_blocking(lambda: poller.troubles is not None and poller.monitor is not None, "started")
            assert poller.troubles.job_id == "job1" and poller.monitor.detail_job == "job1"
            assert poller.monitor.row_jobs == ("job1", "job2")
            until_blocking(lambda: snapshots[-1].troubles is not None
                           and snapshots[-1].troubles.evaluations is not None, "job1's evaluations read")
        finally:
            early.stop()
