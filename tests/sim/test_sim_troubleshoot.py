"""The simulator's evaluations, stats, restart / stop, eligibility and drain against the answers of real Nomad
0.11.1 and 1.1.2 (tests/fixtures/real-nomad/<ver>/troubleshooting): status codes, texts, X-Nomad headers,
and the key sets of every object (key order is not compared: the recordings are codegen builds, struct
order, and nothing of ours may depend on it)."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from dtle_tui.sim import SimCluster
from tests.helpers import loopback
from tests.helpers.paths import FIXTURES
from tests.helpers.wait import PATIENCE_S

DIALECTS = ["0.11.1", "1.1.2"]
SKIP_MAPS = {"Meta", "Config", "Details", "Attributes", "Env", "NodesAvailable", "Scores", "ConstraintFiltered",
             "DimensionExhausted", "QueuedAllocations", "ClassEligibility", "Pids", "Drivers", "ClassFiltered"}
WALK_MAPS = {"FailedTGAllocs", "Tasks", "ResourcesExhausted", "TaskStates"}


def envelope(dialect: str, name: str) -> dict:
    return json.loads((FIXTURES / "real-nomad" / dialect / "troubleshooting" / f"{name}.json").read_text())


def _walk(obj, path: str, out: dict) -> None:
    name = path.rsplit(".", 1)[-1]
    if isinstance(obj, dict):
        if name in SKIP_MAPS:
            return
        if name in WALK_MAPS:
            for value in obj.values():
                _walk(value, path + ".*", out)
            return
        out.setdefault(path, set()).add(frozenset(obj))
        for key, value in obj.items():
            _walk(value, f"{path}.{key}", out)
    elif isinstance(obj, list):
        for value in obj:
            _walk(value, path + "[]", out)


def keysets(*objs) -> dict:
    out: dict = {}
    for obj in objs:
        _walk(obj, "$", out)
    return out


def problems(mine, real_objs) -> list:
    real = keysets(*real_objs)
    out = []
    for path, sets in keysets(mine).items():
        if path not in real:
            out.append(f"{path}: not in the real answers")
            continue
        for keys in sets - real[path]:
            out.append(f"{path}: keys {sorted(keys)} never seen; real {[sorted(k) for k in real[path]][:2]}")
    return out


def real_bodies(dialect: str, *names: str) -> list:
    return [json.loads(envelope(dialect, n)["body"]) for n in names]


@pytest.fixture(scope="module", params=DIALECTS)
def cluster(request):
    with SimCluster(dialect=request.param, seed=3, frozen=True, troubles=True) as sim:
        yield request.param, sim, loopback.Client(base_url=sim.nomad_addr, timeout=10)


def alloc_of(client, job: str, group: str) -> dict:
    return next(a for a in client.get(f"/v1/job/{job}/allocations").json()
                if a["TaskGroup"] == group and a["ClientStatus"] == "running")


def nomad_headers(response) -> set:
    return {k.lower() for k in response.headers if k.lower().startswith("x-nomad-")}


def test_evaluations_match_real_shapes(cluster):
    dialect, sim, client = cluster
    real = real_bodies(dialect, "unplaced-driver/04_job_evaluations", "unplaced-driver/20_later_job_evaluations",
                       "unplaced-mem/04_job_evaluations", "alloc-actions/stop_07_job10_evaluations",
                       "node-actions/drain_12_real-ok_evaluations_t6")
    listing = client.get("/v1/job/archive-sync/evaluations").json()
    assert [e["Status"] for e in listing] == ["blocked", "complete", "complete"]  # newest first
    assert problems(listing, real) == []
    blocked = listing[0]
    # 0.11.1's blocked evaluation has no FailedTGAllocs; 1.1.2's carries a copy (recorded)
    assert ("FailedTGAllocs" in blocked) is (dialect == "1.1.2")
    failed = listing[1]["FailedTGAllocs"]["dest"]
    assert failed["ConstraintFiltered"] == {"missing drivers": 1} and failed["NodesFiltered"] == 1
    one = client.get(f"/v1/evaluation/{listing[1]['ID']}")
    assert one.status_code == 200 and one.json() == listing[1]
    for job in client.get("/v1/jobs").json():
        assert problems(client.get(f"/v1/job/{job['ID']}/evaluations").json(), real) == [], job["ID"]
    assert client.get("/v1/job/nope/evaluations").json() == []


def test_queued_summary_and_stub(cluster):
    dialect, sim, client = cluster
    stub = next(j for j in client.get("/v1/jobs").json() if j["ID"] == "archive-sync")
    assert stub["JobSummary"]["Summary"]["dest"]["Queued"] == 1 and stub["Status"] == "running"


def test_stats_match_real_shapes_and_errors(cluster):
    dialect, sim, client = cluster
    real = real_bodies(dialect, "stats/alloc_stats_real-ok_dest", "stats/alloc_stats_real-ok_src",
                       "stats/alloc_stats_real-ok_dest_task_nope")
    dest = alloc_of(client, "billing-migrate", "dest")
    got = client.get(f"/v1/client/allocation/{dest['ID']}/stats")
    assert got.status_code == 200 and nomad_headers(got) == set()
    assert problems(got.json(), real) == []
    assert '"TotalTicks":0.0' in got.text  # floats written as floats
    nope = client.get(f"/v1/client/allocation/{dest['ID']}/stats", params={"task": "nope"}).json()
    assert nope["Tasks"] == {} and nope["Timestamp"] == 0
    for name in ("stats/alloc_stats_nonuuid", "stats/alloc_stats_unknown_uuid"):
        want = envelope(dialect, name)
        answer = client.get(want["request"]["path"])
        assert (answer.status_code, answer.text) == (want["status"], want["body"]), name


def test_restart_answers_as_recorded(cluster):
    dialect, sim, client = cluster
    dest = alloc_of(client, "job1", "dest")
    want = envelope(dialect, "alloc-actions/restart_01_POST_taskname_dest")
    got = client.post(f"/v1/client/allocation/{dest['ID']}/restart", content=b'{"TaskName": "dest"}')
    assert (got.status_code, got.text) == (want["status"], want["body"]) == (200, '{"Index":0}')
    assert nomad_headers(got) == set() == set(want["headers"])
    full = client.get(f"/v1/allocation/{dest['ID']}").json()
    state = full["TaskStates"]["dest"]
    assert state["Restarts"] == 1 and state["LastRestart"]
    assert [e["Type"] for e in state["Events"]][-4:] == ["Restart Signaled", "Terminated", "Restarting", "Started"]
    assert state["Events"][-4]["DisplayMessage"] == "User requested restart"
    real_after = real_bodies(dialect, "alloc-actions/restart_02_alloc_after_taskname")[0]
    assert {e["Type"] for e in real_after["TaskStates"]["dest"]["Events"]} >= {"Restart Signaled", "Restarting"}
    assert client.put(f"/v1/client/allocation/{dest['ID']}/restart", content=b"{}").text == '{"Index":0}'
    nope = client.post(f"/v1/client/allocation/{dest['ID']}/restart", content=b'{"TaskName": "nope"}')
    rec = envelope(dialect, "alloc-actions/restart_err_taskname_nope")
    assert (nope.status_code, nope.text) == (rec["status"], rec["body"])
    for name in ("restart_err_nonuuid", "restart_err_bad_json"):
        rec = envelope(dialect, f"alloc-actions/{name}")
        path = rec["request"]["path"] if "nonuuid" in name else f"/v1/client/allocation/{dest['ID']}/restart"
        answer = client.post(path, content=(rec["request"]["body"] or "").encode())
        assert answer.status_code == rec["status"], name
        if "nonuuid" in name:
            assert answer.text == rec["body"]
    unknown = "00000000-0000-4000-8000-000000000000"
    rec = envelope(dialect, "alloc-actions/restart_err_unknown_uuid")
    answer = client.post(f"/v1/client/allocation/{unknown}/restart", content=b"{}")
    assert (answer.status_code, answer.text) == (404, f'Unknown allocation "{unknown}"')
    assert re.fullmatch(r'Unknown allocation "[0-9a-f-]{36}"', rec["body"])


def test_stop_answers_as_recorded_and_places_a_replacement(cluster):
    dialect, sim, client = cluster
    old = alloc_of(client, "job10", "dest")
    want = envelope(dialect, "alloc-actions/stop_01_PUT_dest")
    got = client.put(f"/v1/allocation/{old['ID']}/stop")
    assert got.status_code == 200 and set(got.json()) == set(json.loads(want["body"]))
    assert nomad_headers(got) == {k.lower() for k in want["headers"]} == {"x-nomad-index"}
    sim.scenario.advance(3)
    stopped = client.get(f"/v1/allocation/{old['ID']}").json()
    assert stopped["DesiredStatus"] == "stop" and stopped["DesiredDescription"] == "alloc is being migrated"
    assert stopped["DesiredTransition"]["Migrate"] is True and stopped["NextAllocation"]
    real = real_bodies(dialect, "alloc-actions/stop_03_alloc_after", "alloc-actions/stop_06_replacement_alloc_dest")
    new = client.get(f"/v1/allocation/{stopped['NextAllocation']}").json()
    assert new["PreviousAllocation"] == old["ID"]
    extra = {"NetworkStatus", "DeploymentID"}  # DeploymentID: the sim's jobs have a deployment, job10's had none
    assert set(stopped) <= set(real[0]) | extra and set(new) <= set(real[1]) | extra
    ev = client.get(f"/v1/evaluation/{got.json()['EvalID']}").json()
    assert ev["TriggeredBy"] == "alloc-stop"
    assert set(ev) == set(real_bodies(dialect, "alloc-actions/stop_04_eval")[0])
    for name, method in (("stop_err_GET", "GET"), ("stop_err_unknown_uuid", "POST"), ("stop_err_nonuuid", "POST")):
        rec = envelope(dialect, f"alloc-actions/{name}")
        path = rec["request"]["path"]
        if name == "stop_err_GET":
            path = f"/v1/allocation/{old['ID']}/stop"
        answer = client.request(method, path)
        assert (answer.status_code, answer.text) == (rec["status"], rec["body"]), name
    dead = client.post(f"/v1/client/allocation/{old['ID']}/restart", content=b"{}")
    rec = envelope(dialect, "alloc-actions/restart_err_terminal_alloc")
    assert (dead.status_code, dead.text) == (rec["status"], rec["body"])


def test_eligibility_and_drain_as_recorded(cluster):
    dialect, sim, client = cluster
    node = next(n for n in client.get("/v1/nodes").json() if n["Name"] == "dtle-node-2")
    path = f"/v1/node/{node['ID']}"
    want = envelope(dialect, "node-actions/elig_01_POST_ineligible")
    got = client.post(f"{path}/eligibility", json={"Eligibility": "ineligible"})
    assert got.status_code == 200 and set(got.json()) == set(json.loads(want["body"]))
    assert got.json()["EvalIDs"] is None and nomad_headers(got) == {"x-nomad-index"}
    full = client.get(path).json()
    assert full["SchedulingEligibility"] == "ineligible"
    assert full["Events"][-1]["Message"] == "Node marked as ineligible for scheduling"
    again = client.put(f"{path}/eligibility", json={"Eligibility": "ineligible"})
    assert again.json()["Index"] == 0 and again.headers["X-Nomad-Index"] == "0"  # a no-op (recorded)
    back = client.post(f"{path}/eligibility", json={"Eligibility": "eligible"}).json()
    assert isinstance(back["EvalIDs"], list) and back["EvalCreateIndex"]
    for name in ("elig_err_bad_value", "elig_err_empty_body", "elig_err_unknown_node", "drain_err_unknown_node",
                 "drain_err_GET", "elig_err_GET"):
        rec = envelope(dialect, f"node-actions/{name}")
        target = f"{path}/{'drain' if 'drain' in name else 'eligibility'}" if "unknown" not in name else \
            "/v1/node/00000000-0000-4000-8000-000000000000/" + ("drain" if "drain" in name else "eligibility")
        answer = client.request(rec["request"]["method"], target, content=(rec["request"]["body"] or "").encode())
        assert (answer.status_code, answer.text) == (rec["status"], rec["body"]), name
    # drain with a 1 s deadline: draining at once, complete later, and still ineligible (recorded)
    want = envelope(dialect, "node-actions/drain_01_POST_drainspec")
    got = client.post(f"{path}/drain", content=want["request"]["body"].encode())
    assert set(got.json()) == set(json.loads(want["body"])) and got.json()["EvalIDs"] is None
    draining = client.get(path).json()
    real_t0 = real_bodies(dialect, "node-actions/drain_02_node_t0")[0]
    assert draining["Drain"] is True and set(draining["DrainStrategy"]) == set(real_t0["DrainStrategy"])
    assert ("LastDrain" in draining) is (dialect == "1.1.2")
    stub = next(n for n in client.get("/v1/nodes").json() if n["ID"] == node["ID"])
    assert stub["Drain"] is True and "DrainStrategy" not in stub
    sim.scenario.advance(2)
    done = client.get(path).json()
    real_t2 = real_bodies(dialect, "node-actions/drain_05_node_t2")[0]
    assert (done["Drain"], done["DrainStrategy"], done["SchedulingEligibility"]) == (
        real_t2["Drain"], real_t2["DrainStrategy"], real_t2["SchedulingEligibility"]) == (False, None, "ineligible")
    assert [e["Message"] for e in done["Events"]][-2:] == ["Node drain complete", "Node drain complete"]
    if dialect == "1.1.2":
        assert done["LastDrain"]["Status"] == real_t2["LastDrain"]["Status"] == "complete"
        assert set(done["LastDrain"]) == set(real_t2["LastDrain"])
    assert problems(done, [real_t2, real_t0]) == []
    null = client.post(f"{path}/drain", json={"DrainSpec": None})
    assert null.status_code == 200 and client.get(path).json()["SchedulingEligibility"] == "ineligible"


def test_nodes_advertise_loopback_only(cluster):
    dialect, sim, client = cluster
    for node in client.get("/v1/nodes").json():
        assert node["Address"].startswith("127."), node
        full = client.get(f"/v1/node/{node['ID']}").json()
        assert full["HTTPAddr"].startswith("127.")
        assert full["Attributes"]["unique.network.ip-address"].startswith("127.")


def test_the_story_unblocks_when_the_node_is_eligible_again(cluster):
    dialect, _sim, _client = cluster
    with SimCluster(dialect=dialect, seed=4, frozen=True, troubles=True) as sim:
        client = loopback.Client(base_url=sim.nomad_addr, timeout=10)
        node = next(n for n in client.get("/v1/nodes").json() if n["Name"] == "dtle-node-4")
        refused = client.post(f"/v1/node/{node['ID']}/eligibility", json={"Eligibility": "eligible"})
        assert refused.status_code == 500 and "draining" in refused.text
        client.post(f"/v1/node/{node['ID']}/drain", json={"DrainSpec": None})
        assert client.get(f"/v1/node/{node['ID']}").json()["SchedulingEligibility"] == "ineligible"
        client.post(f"/v1/node/{node['ID']}/eligibility", json={"Eligibility": "eligible"})
        sim.scenario.advance(3)
        summary = client.get("/v1/job/archive-sync/summary").json()["Summary"]
        assert summary["dest"]["Queued"] == 0 and summary["dest"]["Running"] == 1
        assert client.get("/v1/job/archive-sync/evaluations").json()[0]["Status"] == "complete"


def stream_events(sim, start: int) -> list:
    """Every event the simulator holds since `start`, as its stream sends them (read until that many came,
    not until a silence: on a busy machine a silence can fall between two frames)."""
    with sim.state.lock:
        expected = sum(len(events) for index, events in sim.state.events if index >= start)
    out: list = []
    with loopback.Client(base_url=sim.nomad_addr, timeout=httpx.Timeout(PATIENCE_S)) as client:
        with client.stream("GET", "/v1/event/stream", params={"index": str(start)}) as answer:
            lines = answer.iter_lines()
            assert next(lines) == "{}"
            for line in lines:
                if line != "{}":
                    out.extend(json.loads(line)["Events"])
                if len(out) >= expected:
                    break
    return out


def test_the_1_1_stream_tells_of_repairs_as_recorded():
    recorded = {}
    for name in ("alloc-restart", "alloc-stop", "node-drain", "node-eligibility", "unplaced-driver"):
        path = FIXTURES / "real-nomad" / "1.1.2" / "troubleshooting" / "event-stream" / f"{name}.ndjson"
        if path.exists():
            recorded[name] = [e for line in path.read_text().splitlines() if line.strip() not in ("", "{}")
                              for e in json.loads(line)["Events"]]
    frame_keys = {frozenset(e) for events in recorded.values() for e in events}
    with SimCluster(dialect="1.1", seed=5, frozen=True, troubles=True) as sim:
        client = loopback.Client(base_url=sim.nomad_addr, timeout=10)
        start = int(client.get("/v1/jobs").headers["X-Nomad-Index"]) + 1
        dest = alloc_of(client, "job1", "dest")
        client.post(f"/v1/client/allocation/{dest['ID']}/restart", json={"TaskName": "dest"})
        restart = stream_events(sim, start)
        assert {(e["Topic"], e["Type"]) for e in restart} == {("Allocation", "AllocationUpdated")}
        assert {(e["Topic"], e["Type"]) for e in recorded["alloc-restart"] if e["Topic"] == "Allocation"} == {
            ("Allocation", "AllocationUpdated")}
        start = max(e["Index"] for e in restart) + 1
        client.post(f"/v1/allocation/{dest['ID']}/stop")
        stop = stream_events(sim, start)
        kinds = {(e["Topic"], e["Type"]) for e in stop}
        real_kinds = {(e["Topic"], e["Type"]) for e in recorded["alloc-stop"]}
        assert {("Allocation", "AllocationUpdateDesiredStatus"), ("Evaluation", "AllocationUpdateDesiredStatus")} \
            <= kinds & real_kinds
        evaluation = next(e for e in stop if e["Topic"] == "Evaluation")
        assert evaluation["Payload"]["Evaluation"]["TriggeredBy"] == "alloc-stop"
        assert evaluation["FilterKeys"][0] == "job1"
        start = max(e["Index"] for e in stop) + 1
        node = next(n for n in client.get("/v1/nodes").json() if n["Name"] == "dtle-node-2")
        client.post(f"/v1/node/{node['ID']}/eligibility", json={"Eligibility": "ineligible"})
        client.post(f"/v1/node/{node['ID']}/drain", json={"DrainSpec": {"Deadline": 10**9}})
        nodes = stream_events(sim, start)
        assert {(e["Topic"], e["Type"]) for e in nodes} == {("Node", "NodeDrain")}
        assert {(e["Topic"], e["Type"]) for e in recorded["node-eligibility"] if e["Topic"] == "Node"} == {
            ("Node", "NodeDrain")}
        assert nodes[-1]["Payload"]["Node"]["DrainStrategy"]["Deadline"] == 10**9
        for event in restart + stop + nodes:
            assert frozenset(event) in frame_keys


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_drain_that_completes_moves_or_queues_what_ran_there(dialect):
    with SimCluster(dialect=dialect, seed=6, frozen=True) as sim:
        client = loopback.Client(base_url=sim.nomad_addr, timeout=10)
        node = next(n for n in client.get("/v1/nodes").json() if n["Name"] == "dtle-node-1")
        client.post(f"/v1/node/{node['ID']}/drain", json={"DrainSpec": {"Deadline": 10**9}})
        sim.scenario.advance(3)
        summary = client.get("/v1/job/job1/summary").json()["Summary"]
        assert summary["dest"]["Queued"] == 1 and summary["dest"]["Running"] == 0  # nowhere else to go
        evals = client.get("/v1/job/job1/evaluations").json()
        drain = next(e for e in evals if e["TriggeredBy"] == "node-drain")
        real = real_bodies(dialect, "node-actions/drain_12_real-ok_evaluations_t6")
        assert problems(evals, real) == []
        assert "JobModifyIndex" not in drain  # as recorded for node-drain evaluations
        # the only other dc1 node that is up has an unhealthy dtle driver: Nomad counts it as missing
        assert drain["FailedTGAllocs"]["dest"]["ConstraintFiltered"] == {"missing drivers": 1}
        old = next(a for a in client.get("/v1/job/job1/allocations").json() if a["TaskGroup"] == "dest")
        assert (old["DesiredStatus"], old["ClientStatus"]) == ("stop", "complete")
        assert old["DesiredTransition"]["Migrate"] is True
        client.post(f"/v1/node/{node['ID']}/eligibility", json={"Eligibility": "eligible"})
        sim.scenario.advance(3)
        assert client.get("/v1/job/job1/summary").json()["Summary"]["dest"]["Running"] == 1
