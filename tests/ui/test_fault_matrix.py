"""Issue 5, requirement 8: every fault knob of the simulator against the real app through Pilot.

For each fault: the console keeps running, the status line says "stale since HH:MM:SS: <reason>" in one
line, the last good rows stay, and it recovers by itself once the fault is cleared. Knobs are flipped
over HTTP through the *other* service's control endpoint, as an operator would with curl (a `down`
service cannot answer its own).
"""

from __future__ import annotations

import json
import threading

import pytest

from dtle_tui.app import DtleApp
from dtle_tui.sim.server import Response
from tests.helpers import loopback
from tests.helpers.pilot import loaded
from tests.helpers.screen import STALE, jobs_table, row_keys, status_line
from tests.helpers.sim import FAST
from tests.helpers.wait import until

pytestmark = pytest.mark.usefixtures("fast_retries")


def flip(sim, service: str, knobs: dict) -> None:
    peer = sim.consul_addr if service == "nomad" else sim.nomad_addr
    loopback.put(f"{peer}/_sim/faults/{service}", json=knobs, timeout=5).raise_for_status()


CLEAR = {"latency": 0, "status": None, "html": False, "garbage": False, "hang": False, "down": False}

MATRIX = [
    ("nomad", {"down": True}, "Nomad unreachable at http://127.0.0.1:"),
    ("nomad", {"latency": 5}, "Nomad timed out"),
    ("nomad", {"hang": True}, "Nomad timed out"),
    ("nomad", {"status": 403}, "Nomad: permission denied (403: Permission denied) — no token is set: set NOMAD_TOKEN"),
    ("nomad", {"status": 404}, "Nomad: not found (404)"),
    ("nomad", {"status": 500}, "Nomad answered 500: rpc error: No cluster leader"),
    ("nomad", {"html": True}, "Nomad sent HTML, not JSON (a proxy?): 502 Bad Gateway"),
    ("nomad", {"garbage": True}, "Nomad sent invalid JSON"),
    ("consul", {"down": True}, "Consul unreachable"),
    ("consul", {"latency": 5}, "Consul timed out"),
    ("consul", {"status": 403},
     "Consul: permission denied (403: Permission denied) — no token is set: set CONSUL_HTTP_TOKEN"),
    ("consul", {"status": 500}, "Consul answered 500: rpc error making call: No cluster leader"),
    ("consul", {"html": True}, "Consul sent HTML, not JSON (a proxy?)"),
    ("consul", {"garbage": True}, "Consul sent invalid JSON"),
]


@pytest.mark.parametrize("service,knobs,reason", MATRIX,
                         ids=[f"{s}-{'-'.join(f'{k}={v}' for k, v in kn.items())}" for s, kn, _ in MATRIX])
async def test_fault(service, knobs, reason, frozen_sim, make_settings):
    sim = frozen_sim
    app = DtleApp(make_settings(sim, *FAST))
    name = "Nomad" if service == "nomad" else "Consul"
    async with app.run_test(size=(120, 24)) as pilot:
        expected = await loaded(pilot, sim)
        before = {r.id: r for r in app.snapshot.rows}
        flip(sim, service, knobs)
        await until(pilot, lambda: reason in status_line(app), what=f"reason {reason!r}")
        line = status_line(app)
        assert STALE.search(line) and f"{name} stale since" in line
        state = app.snapshot.nomad if service == "nomad" else app.snapshot.consul
        assert "\n" not in state.error and len(state.error) <= 400
        # The last good data stays: same rows, same statuses and stages.
        assert sorted(row_keys(jobs_table(app))) == expected
        after = {r.id: r for r in app.snapshot.rows}
        assert {k: (r.status, r.stage) for k, r in after.items()} == {k: (r.status, r.stage) for k, r in before.items()}
        if service == "consul":  # stale Gtid numbers are not shown as current
            assert all(r.transactions is None for r in after.values())
        assert app.is_running and app.return_code is None

        flip(sim, service, CLEAR)
        await until(pilot, lambda: app.snapshot.nomad.ok and app.snapshot.consul.ok, what="recovered")
        await until(pilot, lambda: "stale" not in status_line(app), what="status cleared")
        assert sorted(row_keys(jobs_table(app))) == expected
        assert app.is_running


def _rewrite(sim, service: str, path: str, change) -> None:
    """Serve `change(decoded JSON)` instead of the real answer for `path` (a misbehaving server)."""
    server = sim._nomad if service == "nomad" else sim._consul
    real = server.app

    def app(request):
        response = real(request)
        if request.path == path and response.status == 200 and response.stream is None:
            body = json.dumps(change(json.loads(response.body))).encode()
            return Response(200, body, "application/json", response.headers)
        return response

    server.app = app


def odd_jobs(jobs: list) -> list:
    """Every field of a job stub null, of another type, or missing in turn; unknown fields added."""
    odd = []
    for i, job in enumerate(jobs):
        job = dict(job, Unknown={"x": [1, 2]}, ExtraField=None)
        field = ("Status", "Type", "SubmitTime", "JobSummary", "Stop", "ModifyIndex", "Name")[i % 7]
        job[field] = [None, 42, "text", {"a": 1}, [1]][i % 5]
        if i % 3 == 0:
            job.pop("Status", None)
        odd.append(job)
    # junk entries, entries without an ID, and a job listed twice (a broken cache in front of Nomad)
    return odd + [None, 7, "junk", {"NoID": True}, {"ID": None}, {"ID": ""}, dict(jobs[0])]


async def test_fields_missing_null_or_of_another_type_are_tolerated(frozen_sim, make_settings):
    sim = frozen_sim
    app = DtleApp(make_settings(sim, *FAST))
    async with app.run_test(size=(120, 24)) as pilot:
        expected = await loaded(pilot, sim)
        _rewrite(sim, "nomad", "/v1/jobs", odd_jobs)
        _rewrite(sim, "nomad", "/v1/allocations", lambda allocs: [
            dict(a, TaskStates=None, ClientStatus=5, Extra=[1], ModifyIndex=a["ModifyIndex"] + 1000) for a in allocs
        ] + [None])
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.snapshot.nomad.ok and sorted(row_keys(jobs_table(app))) == expected
                    and all(r.src.running == 0 for r in app.snapshot.rows), what="odd answers shown")
        assert app.is_running and "stale" not in status_line(app)
        # The wrong top-level shape is an error (the last good rows stay), not a crash.
        _rewrite(sim, "nomad", "/v1/jobs", lambda jobs: {"jobs": jobs})
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "expected a list, got an object" in status_line(app), what="shape error")
        assert sorted(row_keys(jobs_table(app))) == expected and app.is_running


async def test_flapping_nomad(sim, make_settings):
    """Nomad goes down and comes back every second: the console follows each change and ends current."""
    app = DtleApp(make_settings(sim, *FAST))
    stop = threading.Event()

    def flap() -> None:
        down = False
        while not stop.wait(1.0):
            down = not down
            sim.nomad_faults.down = down
        sim.nomad_faults.down = False

    async with app.run_test(size=(80, 24)) as pilot:
        expected = await loaded(pilot, sim)
        flapper = threading.Thread(target=flap, daemon=True)
        flapper.start()
        try:
            for _ in range(2):
                await until(pilot, lambda: STALE.search(status_line(app)), what="stale while down")
                assert sorted(row_keys(jobs_table(app))) == expected
                await until(pilot, lambda: app.snapshot.nomad.ok, what="current while up")
        finally:
            stop.set()
            flapper.join()
        await until(pilot, lambda: app.snapshot.nomad.ok and "stale" not in status_line(app), what="settled")
        assert sorted(row_keys(jobs_table(app))) == expected and app.is_running
