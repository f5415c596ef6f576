"""Job detail tells real dtle truthfully (issue 22 items 1-3, 5; issue 26 item 4), through Pilot against the
simulator's story jobs that behave as the recorded dtle 3.21.11.0 (docs/reference/real-dtle.md): the
verdict read first, the stage as reached, the timeline as transitions, dtle's figures only when they mean
something, the stall known at start-up, Consul read without dtleUser/ and dtleRole/, and the allocations
and events both in view at 80x24."""

from __future__ import annotations

import base64
import json
import time

from dtle_tui.app import DtleApp
from dtle_tui.live import monitor as monitor_mod
from dtle_tui.live.gtidmemo import FILE_NAME, cluster_key
from dtle_tui.model.stall import GtidMemo
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.sim.realdtle import CRASH_LOOP_JOB, UNCONNECTED_JOB, UNPLACEABLE_JOB, V2_DEAD_JOB
from tests.helpers.screen import focused_id, screen_text, visible_lines
from tests.helpers.sim import sim_get
from tests.helpers.wait import until

STALLED_JOB = "users-stalled"


def summary(app) -> str:
    return app.screen.query_one("#summary").content.plain


def panel(app) -> str:
    return app.screen.query_one("#dtle-progress").content.plain


async def open_detail(pilot, job_id: str) -> None:
    app = pilot.app
    if isinstance(app.screen, JobDetailScreen):
        await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, JobsScreen) and job_id in app.screen.table.row_keys
                and app.snapshot.nomad.ok_at and app.snapshot.consul.ok_at, "the jobs")
    app.open_job(job_id)
    await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.snapshot.detail is not None
                and app.snapshot.detail.job_id == job_id and app.snapshot.detail.verdict is not None
                and app.screen.job_id == job_id, f"{job_id}'s verdict")


async def test_each_story_job_reads_as_what_it_is_at_80x24(sim, make_settings, monkeypatch):
    monkeypatch.setattr(monitor_mod, "DETAIL_S", 0.5)
    app = DtleApp(make_settings(sim, "--dtle-api", "nodes"))
    async with app.run_test(size=(80, 24)) as pilot:
        # Crash-looping at connect, its next try minutes away: failing, with its error and next try; the
        # dest's job_stage_full of every start is no stage reached, and the timeline collapses it.
        await open_detail(pilot, CRASH_LOOP_JOB)
        await until(pilot, lambda: summary(app).startswith(f"{CRASH_LOOP_JOB}  FAILING — restarting in "),
                    "the verdict first")
        text = summary(app)
        assert "restarts), last error: src: Error 1193: Unknown system variable 'GTID_MODE'" in text
        assert "Reached no stage yet" in text and "full since" not in text and "running  full" not in text
        stages = next(line for line in text.splitlines() if line.startswith("Stages "))
        assert stages.count("full") == 1 and "full ×" in stages and "not reached" in stages
        shown = "\n".join(visible_lines(app))
        assert "FAILING — restarting in" in shown  # read first, on screen at 80x24
        assert app.snapshot.detail.verdict.next_try_ns is not None

        # A src that runs but never connected: no 0.0 %, one line saying why nothing is copied.
        await open_detail(pilot, UNCONNECTED_JOB)
        await until(pilot, lambda: "has not started copying" in panel(app), "dtle's zero answer said in words")
        assert "connection refused" in panel(app) and "%" not in panel(app) and "ETA" not in panel(app)
        assert summary(app).startswith(f"{UNCONNECTED_JOB}  FAILING")

        # Created through /v2, failed, rescheduled once, failed again: failed, never "full".
        await open_detail(pilot, V2_DEAD_JOB)
        await until(pilot, lambda: summary(app).startswith(f"{V2_DEAD_JOB}  FAILED — "), "failed")
        assert "Reached no stage yet" in summary(app) and "SERVER_UUID" in screen_text(app) + summary(app)

        # Its dest unplaceable: queued, and the src's figures are no copy's.
        await open_detail(pilot, UNPLACEABLE_JOB)
        await until(pilot, lambda: summary(app).startswith(f"{UNPLACEABLE_JOB}  QUEUED"), "queued")
        await until(pilot, lambda: "Not placed: group dest" in screen_text(app), "why it is not placed")
        assert "%" not in panel(app)


async def test_no_full_copy_figures_past_the_full_copy_or_with_the_dest_failed(trouble_sim, make_settings,
                                                                             monkeypatch):
    """The demo's archive-sync reached incr (then its dest could not be placed again), crm-sync's dest failed
    an hour ago: neither shows a full-copy percentage nor an ETA (the demo showed `99.5 % ETA ≈54s` and
    `98.7 % ETA ≈1m12s`)."""
    monkeypatch.setattr(monitor_mod, "DETAIL_S", 0.5)
    app = DtleApp(make_settings(trouble_sim, "--dtle-api", "nodes"))
    said = {}
    async with app.run_test(size=(120, 40)) as pilot:
        for job_id in ("archive-sync", "crm-sync"):
            await open_detail(pilot, job_id)
            await until(pilot, lambda j=job_id: app.snapshot.dtle.get(j) is not None, f"dtle asked about {job_id}")
            await until(pilot, lambda: "no copy figures while the dest does not run" in panel(app),
                        f"{job_id}: no figures")
            assert "full copy" not in panel(app) and "ETA" not in panel(app) and "%" not in panel(app)
            said[job_id] = app.snapshot.dtle[job_id].percent
    assert said["crm-sync"] is not None  # dtle's own answer still holds the src's percentage: it is hidden


async def test_a_remembered_gtid_says_since_when_it_stands_still_and_stalls_from_there(sim, make_settings):
    """The console ran before, three hours ago, and saw users-stalled's Gtid as it is now: at start-up Job
    detail says so, and the job is STALLED at once (the threshold counts from the remembered time)."""
    settings = make_settings(sim)
    gtid_text = base64.b64decode(sim_get(sim.consul_addr, f"/v1/kv/dtle/{STALLED_JOB}/Gtid")[0]["Value"]).decode()
    before = time.time() - 3 * 3600
    memo = GtidMemo()
    memo.seen(cluster_key(settings), STALLED_JOB, gtid_text, before)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    (settings.state_dir / FILE_NAME).write_text(memo.dumps())
    app = DtleApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot, STALLED_JOB)
        # `21:06` on the same day, `12-07 21:06` when three hours ago was yesterday (a run after midnight).
        when = time.localtime(round(before, 3))
        said = [f"Gtid unchanged since {time.strftime(form, when)}" for form in ("%H:%M", "%m-%d %H:%M")]
        await until(pilot, lambda: any(text in summary(app) for text in said), "since when, at start-up")
        await until(pilot, lambda: summary(app).startswith(f"{STALLED_JOB}  STALLED"), "stalled at once")
        assert app.snapshot.row(STALLED_JOB).stalled  # the Jobs row counts from there too
    saved = json.loads((settings.state_dir / FILE_NAME).read_text())
    assert saved["clusters"][cluster_key(settings)][STALLED_JOB][1] == round(before, 3)


async def test_consul_is_read_without_dtle_users_and_roles(sim, make_settings, tmp_path):
    """The simulator holds dtleUser/platform/admin with its password, as real dtle writes it: no request
    of the console reads it, lists it, or reads a prefix that covers it; the report holds none of it."""
    assert sim_get(sim.consul_addr, "/v1/kv/dtleUser/?recurse=true")  # it is there
    sim.reset_requests()
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_detail(pilot, V2_DEAD_JOB)  # the /v2 job: it has a dtleJobList/ key
        assert app.snapshot.positions.get(V2_DEAD_JOB) is not None
        await pilot.press("E")
        found: list = []
        await until(pilot, lambda: found.extend((tmp_path / "state").rglob(f"{V2_DEAD_JOB}-*.md")) or found,
                    "the incident report")
    kv = [(path[len("/v1/kv/"):], query) for service, _m, path, query in sim.requests.entries()
          if service == "consul" and path.startswith("/v1/kv/")]
    assert {key for key, _q in kv} >= {"dtle/", "dtleJobList/"}
    for key, query in kv:
        # Every request lies within the two prefixes: a token scoped to them is enough.
        assert key.startswith(("dtle/", "dtleJobList/")), key
        assert not key.startswith(("dtleUser", "dtleRole")), key
        if "recurse" in query or "keys" in query:
            assert not "dtleUser/".startswith(key) and not "dtleRole/".startswith(key), (key, query)
    report = found[0].read_text()
    assert "dtleUser" not in report and '"password"' not in report


async def test_at_80x24_allocations_and_events_stay_in_view(trouble_sim, make_settings):
    """The Not placed section and its raw FailedTGAllocs (`x`) never push the allocations or the events off
    the screen: the selected allocation, the one `l`, `r` and `K` act on, is a row the operator sees."""
    app = DtleApp(make_settings(trouble_sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot, "archive-sync")
        await until(pilot, lambda: focused_id(app) == "allocs", "the allocations focused, not the summary")
        await until(pilot, lambda: app.screen.query_one("#not-placed").report, "the Not placed section")
        await pilot.press("x")
        await until(pilot, lambda: "FailedTGAllocs" in screen_text(app), "the raw placement")
        await pilot.pause()
        for _ in range(len(app.snapshot.detail.allocations)):
            alloc = app.screen.selected_allocation()
            shown = visible_lines(app)
            assert any(alloc.short_id in line and alloc.task_group in line for line in shown), shown
            assert any(line.strip().startswith("Events of allocation") for line in shown)
            assert any(line.strip().startswith("Time") and "Message" in line for line in shown)
            await pilot.press("down")
            await pilot.pause()


async def test_not_placed_names_the_blocked_evaluation_not_a_newer_canceled_one(sim, make_settings):
    """Live 1.1.2 showed the newest evaluation for an unplaceable job as a canceled one, "existing blocked
    evaluation exists" (recorded: real-nomad unplaced-driver/20_later_job_evaluations): Not placed names the
    blocked evaluation that is current, never the canceled one."""
    st = sim.state
    with st.lock:
        blocked = next(e for e in st.evals_by_id.values() if e.get("JobID") == UNPLACEABLE_JOB
                       and e["Status"] == "blocked")
        index = st.next_index()
        canceled = dict(blocked, ID=st.uuid(), Status="canceled", CreateIndex=index, ModifyIndex=index + 1,
                        StatusDescription=f'existing blocked evaluation exists for job "{UNPLACEABLE_JOB}"')
        st.next_index()
        st.evals_by_id[canceled["ID"]] = canceled
    listed = sim_get(sim.nomad_addr, f"/v1/job/{UNPLACEABLE_JOB}/evaluations")
    assert max(listed, key=lambda e: e["ModifyIndex"])["ID"] == canceled["ID"]
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_detail(pilot, UNPLACEABLE_JOB)
        await until(pilot, lambda: "Not placed: group dest" in screen_text(app), "why it is not placed")
        text = screen_text(app)
        assert f"a blocked evaluation ({blocked['ID'][:8]}) waits" in text
        assert canceled["ID"][:8] not in text


async def test_a_job_detail_opened_over_another_acts_only_on_its_own_job(frozen_sim, make_settings):
    """Job detail of one job opened over another's (from the palette or Node detail): until the poller has
    switched to the new job, its detail is still the other job's. Here the poller is made to switch late,
    so that moment lasts: `l`, `s`, `r` and `K` then find nothing to act on, never the other job's
    allocation or spec; once the poller has switched, they act on the job shown."""
    from dtle_tui.screens.logs import LogsScreen
    from tests.helpers.pilot import loaded
    from tests.helpers.screen import notifications

    app = DtleApp(make_settings(frozen_sim))
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, frozen_sim)
        app.open_job("pt-heartbeat")
        await until(pilot, lambda: app.snapshot.detail is not None and app.snapshot.detail.job_id == "pt-heartbeat"
                    and app.snapshot.detail.job is not None and app.screen.selected_allocation() is not None,
                    "pt-heartbeat's detail")
        switch = app.poller.watch_job
        asked: list = []
        app.poller.watch_job = asked.append  # the poller has not got to the new job yet
        app.open_job("job1")
        await until(pilot, lambda: getattr(app.screen, "job_id", None) == "job1" and app.screen.query("#allocs"),
                    "job1's Job detail")
        screen = app.screen
        assert asked == ["job1"] and app.snapshot.detail.job_id == "pt-heartbeat"  # the moment of this test
        assert screen.selected_allocation() is None and screen.current_allocation() is None
        for key in ("l", "s", "r", "K"):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert app.screen is screen, key  # no Logs, Spec or confirmation about pt-heartbeat
        said = notifications(app)
        assert any("No allocation selected." in n for n in said) and any("spec is not loaded yet" in n for n in said)

        app.poller.watch_job = switch
        switch("job1")
        await until(pilot, lambda: screen.own_detail() is not None and screen.selected_allocation() is not None,
                    "job1's own detail")
        assert screen.selected_allocation().job_id == "job1"
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogsScreen), "job1's logs")
        assert app.screen.job_id == "job1"
