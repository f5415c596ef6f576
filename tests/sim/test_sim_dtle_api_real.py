"""The simulated dtle API against a real dtle 3.21.11.0's answers (tests/fixtures/real-dtle/3.21.11.0):
`/v2/monitor/task`'s parameters, its 500 texts and its all-zero answer, and the routes that want a token
(docs/reference/real-dtle.md §6-§7)."""

from __future__ import annotations

import json

import httpx
import pytest

from dtle_tui.sim import SimCluster
from dtle_tui.sim.realdtle import CRASH_LOOP_JOB, UNCONNECTED_JOB
from tests.helpers import loopback
from tests.helpers.paths import FIXTURES

REC = FIXTURES / "real-dtle" / "3.21.11.0"
ZERO = "10_dtle_v2_monitor_task__allocation_id=7967484b-399b-9707-b62f-64dbbf2f1c34_task_name=src.json"


def recorded(name: str) -> tuple:
    """(status, Content-Type, body) of a recorded answer."""
    meta = dict(line.split(": ", 1) for line in (REC / f"{name}.meta").read_text().splitlines() if ": " in line)
    return int(meta["status"]), meta["Content-Type"], json.loads((REC / name).read_text())


@pytest.fixture(scope="module", params=["1.1", "0.11"])
def dtle(request):
    with SimCluster(dialect=request.param, seed=6, frozen=True) as sim:
        yield sim, loopback.Client(base_url=sim.dtle_api_addr(), timeout=10)


def answer(response: httpx.Response) -> tuple:
    return response.status_code, response.headers["content-type"], response.json()


def alloc(sim, job_id: str, group: str) -> str:
    return next(a.id for a in sim.scenario.allocations(job_id) if a.task_group == group)


def test_task_id_and_no_parameters_answer_the_validator_message(dtle):
    sim, client = dtle
    want = recorded("00_dtle_v2_monitor_task_noparams.json")
    assert answer(client.get("/v2/monitor/task")) == want
    task_id = f"{alloc(sim, 'job1', 'src')}-src"  # dtle 3.21.11 takes no task_id
    assert answer(client.get("/v2/monitor/task", params={"task_id": task_id})) == \
        recorded("10_dtle_v2_monitor_task__task_id=1394932c-4599-a6e9-e833-52bec299b74b-src.json") == want


def test_a_pending_task_cannot_be_found(dtle):
    sim, client = dtle
    status, ctype, body = recorded(
        "10_dtle_v2_monitor_task__allocation_id=1394932c-4599-a6e9-e833-52bec299b74b_task_name=src.json")
    for group in ("src", "dest"):
        alloc_id = alloc(sim, CRASH_LOOP_JOB, group)  # both in the restart policy's delay
        got = client.get("/v2/monitor/task", params={"allocation_id": alloc_id, "task_name": group})
        text = body["message"].replace("1394932c-4599-a6e9-e833-52bec299b74b", alloc_id).replace("src", group)
        assert answer(got) == (status, ctype, {"message": text})


def test_a_src_that_never_connected_answers_all_zeros(dtle):
    sim, client = dtle
    status, ctype, body = recorded(ZERO)
    got = client.get("/v2/monitor/task", params={"allocation_id": alloc(sim, UNCONNECTED_JOB, "src"),
                                                 "task_name": "src"})
    mine = answer(got)
    assert mine[:2] == (status, ctype)
    stamp = mine[2]["tasks_status"].pop("timestamp")
    assert stamp > 10**18  # nanoseconds, as recorded
    real = json.loads(json.dumps(body))
    real["tasks_status"].pop("timestamp")
    assert mine[2] == real


@pytest.mark.parametrize("method, path, name", [
    ("GET", "/v2/nodes", "00_dtle_v2_nodes_noauth.json"),
    ("GET", "/v1/jobs", "00_dtle_v1_jobs_noauth.json"),
    ("POST", "/v2/login", "02_dtle_POST_v2_login_badcaptcha.json"),
])
def test_routes_that_want_a_token(dtle, method, path, name):
    sim, client = dtle
    got = client.request(method, path, json={"tenant": "platform", "username": "admin", "password": "admin",
                                             "captcha_id": "x", "captcha": "0000"} if method == "POST" else None)
    assert answer(got) == recorded(name)
    assert answer(client.get("/v2/jobs/migration"))[:1] == (401,)
