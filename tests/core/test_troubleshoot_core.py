"""Repairs and the troubleshooting watchers against the simulator over real HTTP: exactly the recorded requests,
backups and audit lines, nothing in read-only mode; evaluations and stats read only for the open screens."""

from __future__ import annotations

import json

from dtle_tui.api.nomad import NomadClient
from dtle_tui.live.poller import Poller
from dtle_tui.ops.audit import read_entries
from dtle_tui.ops.repair import HOUR_NS, Repairs
from tests.helpers.sim import running, settings_for
from tests.helpers.sim import troubleshoot_writes as writes
from tests.helpers.wait import until


def node_named(sim, name: str):
    return next(n for n in sim.scenario.nodes() if n.name == name)


async def test_each_repair_sends_exactly_the_recorded_request(trouble_sim, tmp_path):
    sim = trouble_sim
    settings = settings_for(sim, tmp_path)
    async with NomadClient(settings.nomad, timeout=3) as nomad:
        repairs = Repairs(nomad, settings)
        dest = running(sim, "job1", "dest")
        node = node_named(sim, "dtle-node-2")
        results = [await repairs.restart("job1", dest.id, "dest"),
                   await repairs.stop("job1", dest.id),
                   await repairs.set_eligibility(node.id, node.name, False),
                   await repairs.drain(node.id, node.name, HOUR_NS),
                   await repairs.drain(node.id, node.name, None)]
    assert [r.ok for r in results] == [True] * 5, [r.text() for r in results]
    assert writes(sim) == [
        ("POST", f"/v1/client/allocation/{dest.id}/restart", {"TaskName": "dest"}),
        ("POST", f"/v1/allocation/{dest.id}/stop", None),
        ("POST", f"/v1/node/{node.id}/eligibility", {"Eligibility": "ineligible"}),
        ("POST", f"/v1/node/{node.id}/drain", {"DrainSpec": {"Deadline": HOUR_NS, "IgnoreSystemJobs": False}}),
        ("POST", f"/v1/node/{node.id}/drain", {"DrainSpec": None}),
    ]
    # what changed was saved first, and every write is in the audit log
    assert json.loads((results[0].backup / "allocation.json").read_text())["ID"] == dest.id
    assert json.loads((results[2].backup / "node.json").read_text())["ID"] == node.id
    entries = read_entries(settings.state_dir)
    assert [e["action"] for e in entries] == ["restart", "stop-alloc", "node-eligibility", "node-drain", "node-drain"]
    assert all(e["result"] == "ok" for e in entries)
    assert "still ineligible" in results[4].summary or "stays ineligible" in results[4].summary


async def test_read_only_sends_nothing_and_audits_the_refusal(trouble_sim, tmp_path):
    sim = trouble_sim
    settings = settings_for(sim, tmp_path, "--read-only")
    async with NomadClient(settings.nomad, timeout=3) as nomad:
        repairs = Repairs(nomad, settings)
        dest = running(sim, "job1", "dest")
        node = node_named(sim, "dtle-node-2")
        results = [await repairs.restart("job1", dest.id, "dest"), await repairs.stop("job1", dest.id),
                   await repairs.set_eligibility(node.id, node.name, False),
                   await repairs.drain(node.id, node.name, HOUR_NS)]
    assert all(r.refused and not r.ok for r in results)
    assert writes(sim) == []
    assert [w for w in sim.requests.entries() if w[1] != "GET"] == []
    entries = read_entries(settings.state_dir)
    assert len(entries) == 4 and all(e["result"].startswith("refused: read-only") for e in entries)


async def test_the_servers_answer_is_shown_verbatim_on_failure(trouble_sim, tmp_path):
    sim = trouble_sim
    settings = settings_for(sim, tmp_path)
    async with NomadClient(settings.nomad, timeout=3) as nomad:
        repairs = Repairs(nomad, settings)
        dest = running(sim, "job1", "dest")
        result = await repairs.restart("job1", dest.id, "nope")
        draining = node_named(sim, "dtle-node-4")
        refused = await repairs.set_eligibility(draining.id, draining.name, True)
    assert not result.ok and "Could not find task runner for task: nope" in result.text()
    assert not refused.ok and "while it is draining" in refused.text()
    assert read_entries(settings.state_dir)[0]["result"].startswith("failed: ")


def count(sim, fragment: str) -> int:
    return sum(1 for _s, _m, path, _q in sim.requests.entries() if fragment in path)


async def test_evaluations_and_stats_only_for_the_open_screens(trouble_sim, tmp_path):
    sim = trouble_sim
    snaps: list = []
    poller = Poller(settings_for(sim, tmp_path), snaps.append)
    poller.start()
    try:
        await until(None, lambda: snaps and snaps[-1].rows and poller.events and poller.events.state == "live",
                    "rows and a live stream")
        row = poller.snapshot.row("archive-sync")
        assert row is not None and row.dest.describe() == "1 queued"
        sim.reset_requests()
        generation = poller.snapshot.generation
        await until(None, lambda: poller.snapshot.generation >= generation + 3, "three more snapshots")
        assert count(sim, "/evaluations") == 0 and count(sim, "/client/allocation/") == 0  # the Jobs list alone

        poller.watch_job("archive-sync")
        await until(None, lambda: poller.snapshot.troubles and poller.snapshot.troubles.evaluations, "the evaluations")
        await until(None, lambda: poller.snapshot.troubles.stats, "the running src's stats")
        assert count(sim, "/v1/job/archive-sync/evaluations") == 1
        src = running(sim, "archive-sync", "src")
        assert list(poller.snapshot.troubles.stats) == [src.id]
        # 1.1: a new evaluation of the open job arrives by the stream, without another read
        node = node_named(sim, "dtle-node-4")
        before = len(poller.snapshot.troubles.evaluations)
        from dtle_tui.sim.troubleshoot import finish_drain, unblock

        with sim.state.lock:
            finish_drain(sim.state, node, node.drain_seq, "canceled")
            node.eligibility = "eligible"
            unblock(sim.state, sim.driver, sim)
        await until(None, lambda: len(poller.snapshot.troubles.evaluations) > before, "the stream's evaluation")
        assert count(sim, "/v1/job/archive-sync/evaluations") == 1
        await until(None, lambda: poller.snapshot.row("archive-sync").dest.queued == 0, "queued back to 0")
        assert sim.requests.peak("nomad", "/v1/client/allocation/") <= 1

        poller.watch_job(None)
        await until(None, lambda: "stats" not in poller.feeds and "evaluations" not in poller.feeds,
                    "the watchers stopped")
        sim.reset_requests()
        generation = poller.snapshot.generation
        await until(None, lambda: poller.snapshot.generation >= generation + 2, "two more snapshots")
        assert count(sim, "/evaluations") == 0 and count(sim, "/client/allocation/") == 0
    finally:
        poller.stop()


async def test_stats_unavailable_is_one_line_and_nomad_stays_fresh(trouble_sim, tmp_path):
    sim = trouble_sim
    snaps: list = []
    poller = Poller(settings_for(sim, tmp_path), snaps.append)
    poller.start()
    try:
        await until(None, lambda: snaps and snaps[-1].rows, "rows")
        dest = running(sim, "job1", "dest")
        with sim.state.lock:  # garbage-collected: the client no longer knows it
            sim.state.allocs.pop(dest.id)
        poller.watch_allocation(dest.id)
        await until(None, lambda: poller.snapshot.troubles and poller.snapshot.troubles.stats.get(dest.id),
                    "a stats answer")
        got = poller.snapshot.troubles.stats[dest.id]
        assert got.error == "stats unavailable: the client no longer has this allocation (garbage-collected)"
        assert poller.snapshot.nomad.error is None
    finally:
        poller.stop()
