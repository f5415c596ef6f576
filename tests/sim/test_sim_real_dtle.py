"""The simulator against a real dtle 3.21.11.0 driver in a real Nomad 1.1.2 (tests/fixtures/real-dtle): task
events of jobs that fail at every start, restart and reschedule policies, empty stdout/stderr, stats,
Consul keys, node attributes; on both dialects where Nomad's part is the same (docs/reference/real-dtle.md).
"""

from __future__ import annotations

import json
import re

import pytest

from dtle_tui.sim import SimCluster
from dtle_tui.sim.realdtle import CRASH_LOOP_JOB, UNCONNECTED_JOB, UNPLACEABLE_JOB, V2_DEAD_JOB
from tests.helpers import loopback
from tests.helpers.paths import FIXTURES

REC = FIXTURES / "real-dtle" / "3.21.11.0"
MARIA_SRC, MARIA_DEST = "1394932c-4599-a6e9-e833-52bec299b74b", "d18af79b-bc75-4282-6d08-35ff06b77d8f"
V2_SRC, V2_DEST = "304ecf8d-72f7-ada7-7dde-a7868f85c99e", "b9521902-d79a-4078-1ec5-73591319eff6"
CLOSED_SRC = "7967484b-399b-9707-b62f-64dbbf2f1c34"


def recorded(name: str):
    return json.loads((REC / name).read_text())


def recorded_alloc(alloc_id: str) -> dict:
    return recorded(f"10_v1_allocation_{alloc_id}.json")


def events(alloc: dict, task: str) -> list:
    return alloc["TaskStates"][task]["Events"]


def of_type(evs: list, kind: str) -> list:
    return [e for e in evs if e["Type"] == kind]


@pytest.fixture(scope="module", params=["1.1", "0.11"])
def cluster(request):
    with SimCluster(dialect=request.param, seed=5, frozen=True) as sim:
        yield sim, loopback.Client(base_url=sim.nomad_addr, timeout=10)


def allocs_of(client, job_id: str, group: str) -> list:
    listing = client.get(f"/v1/job/{job_id}/allocations").json()
    return sorted((client.get(f"/v1/allocation/{a['ID']}").json() for a in listing if a["TaskGroup"] == group),
                  key=lambda a: a["CreateIndex"])


def test_crash_loop_in_the_delay_reads_as_recorded(cluster):
    sim, client = cluster
    for group, rec_id, error in (("src", MARIA_SRC, "GTID_MODE"), ("dest", MARIA_DEST, "SERVER_UUID")):
        (mine,) = allocs_of(client, CRASH_LOOP_JOB, group)
        real = recorded_alloc(rec_id)
        assert (mine["ClientStatus"], mine["ClientDescription"]) == (real["ClientStatus"], real["ClientDescription"])
        assert "DeploymentStatus" not in mine and "DeploymentStatus" not in real  # never healthy
        state, real_state = mine["TaskStates"][group], real["TaskStates"][group]
        assert (state["State"], state["Failed"], state["Restarts"]) == \
            (real_state["State"], real_state["Failed"], real_state["Restarts"]) == ("pending", False, 4)
        assert [e["Type"] for e in events(mine, group)] == [e["Type"] for e in events(real, group)]
        for kind in ("Started", "Terminated", "Restarting"):
            assert {tuple(sorted(e)) for e in of_type(events(mine, group), kind)} == \
                {tuple(sorted(e)) for e in of_type(events(real, group), kind)}, kind
        term, real_term = of_type(events(mine, group), "Terminated")[-1], of_type(events(real, group), "Terminated")[-1]
        assert (term["DisplayMessage"], term["Details"], term["ExitCode"], term["Message"]) == \
            (real_term["DisplayMessage"], real_term["Details"], real_term["ExitCode"], real_term["Message"])
        assert error in term["Message"]
        *within, last = of_type(events(mine, group), "Restarting")
        assert last["RestartReason"] == of_type(events(real, group), "Restarting")[-1]["RestartReason"] \
            == "Exceeded allowed attempts, applying a delay"
        assert re.fullmatch(r"Exceeded allowed attempts, applying a delay - Task restarting in [89]m[\d.]+s",
                            last["DisplayMessage"])
        assert set(last["Details"]) == {"start_delay", "restart_reason"}
        for ev in within:  # Delay 15s plus up to a quarter of it, as Nomad's jitter
            assert re.fullmatch(r"Task restarting in 1[5-8]\.\d+s", ev["DisplayMessage"])
            assert 15e9 <= ev["StartDelay"] < 18.75e9 and ev["RestartReason"] == "Restart within policy"


def test_only_the_dest_emits_the_stage_event_at_every_start(cluster):
    sim, client = cluster
    (src,) = allocs_of(client, CRASH_LOOP_JOB, "src")
    (dest,) = allocs_of(client, CRASH_LOOP_JOB, "dest")
    assert of_type(events(src, "src"), "Driver") == []
    for alloc, task in ((dest, "dest"), (recorded_alloc(MARIA_DEST), "dest")):  # the same on the recording
        evs = events(alloc, task)
        for started, following in zip(evs, evs[1:]):
            if started["Type"] == "Started":
                assert following["Type"] == "Driver" and following["Time"] - started["Time"] < 100_000_000
        for stage in of_type(evs, "Driver"):
            assert (stage["DisplayMessage"], stage["DriverMessage"], stage["Details"]) == \
                ("job_stage_full", "job_stage_full", None)
    real_stage = of_type(events(recorded_alloc(MARIA_DEST), "dest"), "Driver")[0]
    assert sorted(of_type(events(dest, "dest"), "Driver")[0]) == sorted(real_stage)
    # A dest that cannot reach its MySQL fails before it emits anything (the recorded `closed` job).
    (closed,) = allocs_of(client, UNCONNECTED_JOB, "dest")
    assert of_type(events(closed, "dest"), "Driver") == []
    assert of_type(events(recorded_alloc("d8d66383-e4de-3ad7-1021-a7a35393cc1b"), "dest"), "Driver") == []


def test_a_v2_job_fails_reschedules_once_and_is_dead(cluster):
    sim, client = cluster
    job = client.get(f"/v1/job/{V2_DEAD_JOB}").json()
    real_job = recorded("10_v1_job_v2maria-migration.json")
    for group, real_group in zip(job["TaskGroups"], real_job["TaskGroups"]):
        assert group["RestartPolicy"] == real_group["RestartPolicy"]
        assert group["ReschedulePolicy"] == real_group["ReschedulePolicy"]
    stub = next(j for j in client.get("/v1/jobs").json() if j["ID"] == V2_DEAD_JOB)
    real_stub = next(j for j in recorded("31_v1_jobs_after_delete.json") if j["ID"] == "v2maria-migration")
    assert (stub["Status"], stub["Stop"]) == (real_stub["Status"], real_stub["Stop"]) == ("dead", False)
    assert stub["JobSummary"]["Summary"] == real_stub["JobSummary"]["Summary"]
    for group, rec_id in (("src", V2_SRC), ("dest", V2_DEST)):
        first, second = allocs_of(client, V2_DEAD_JOB, group)
        real = recorded_alloc(rec_id)
        for key in ("ClientStatus", "ClientDescription", "DesiredStatus", "DesiredDescription", "DesiredTransition"):
            assert first[key] == real[key], key
        assert first["NextAllocation"] == second["ID"] and first["FollowupEvalID"] == second["EvalID"]
        assert second["PreviousAllocation"] == first["ID"] and "FollowupEvalID" not in second
        assert second["RescheduleTracker"]["Events"][0]["PrevAllocID"] == first["ID"]
        assert first["DeploymentStatus"]["Healthy"] is real["DeploymentStatus"]["Healthy"] is False
        mine_evs, real_evs = events(first, group), events(real, group)
        assert [e["Type"] for e in mine_evs][-4:] == [e["Type"] for e in real_evs][-4:] == \
            ["Terminated", "Not Restarting", "Alloc Unhealthy", "Killing"]
        for kind in ("Not Restarting", "Alloc Unhealthy", "Killing"):
            mine_ev, real_ev = of_type(mine_evs, kind)[-1], of_type(real_evs, kind)[-1]
            assert (mine_ev["DisplayMessage"], mine_ev["Details"], mine_ev["FailsTask"]) == \
                (real_ev["DisplayMessage"], real_ev["Details"], real_ev["FailsTask"]), kind
        state, real_state = first["TaskStates"][group], real["TaskStates"][group]
        assert (state["State"], state["Failed"], state["Restarts"]) == \
            (real_state["State"], real_state["Failed"], real_state["Restarts"]) == ("dead", True, 2)


def test_dtle_tasks_write_no_stdout_nor_stderr(cluster):
    sim, client = cluster
    meta = (REC / f"10_v1_client_fs_logs_{MARIA_SRC}__task=src_type=stderr.txt.meta").read_text()
    assert "status: 200" in meta and "Content-Length: 0" in meta and "Content-Type: text/plain" in meta
    for job_id in (CRASH_LOOP_JOB, UNCONNECTED_JOB, V2_DEAD_JOB, "job1", sim.scenario.failed_job):
        for alloc in client.get(f"/v1/job/{job_id}/allocations").json():
            for kind in ("stdout", "stderr"):
                got = client.get(f"/v1/client/fs/logs/{alloc['ID']}",
                                 params={"task": alloc["TaskGroup"], "type": kind, "plain": "true"})
                assert (got.status_code, got.content) == (200, b""), (job_id, kind)
                assert got.headers["content-type"].startswith("text/plain")


def test_stats_of_a_dtle_task_are_zeros_running_or_not(cluster):
    sim, client = cluster
    real = recorded(f"10_v1_client_allocation_{CLOSED_SRC}_stats.json")  # a src that was running

    def zeroed(body: dict) -> dict:
        body = json.loads(json.dumps(body))
        body["Timestamp"] = 0
        for task in body["Tasks"].values():
            task["Timestamp"] = 0
        return body

    for job_id, group in ((UNCONNECTED_JOB, "src"), (CRASH_LOOP_JOB, "dest"), ("job1", "dest")):
        alloc = allocs_of(client, job_id, group)[-1]
        got = client.get(f"/v1/client/allocation/{alloc['ID']}/stats")
        assert got.status_code == 200
        body = zeroed(got.json())
        want = zeroed(real)
        want["Tasks"] = {group: want["Tasks"]["src"]}
        assert body == want, job_id
        assert '"Percent":0.0' in got.text  # floats stay floats, as Go writes them


def test_consul_keys_as_dtle_writes_them(cluster):
    sim, client = cluster
    entries = loopback.get(f"{sim.consul_addr}/v1/kv/", params={"recurse": ""}).json()
    real = recorded("10_consul_v1_kv__recurse.json")
    assert {e["Flags"] for e in entries} == {e["Flags"] for e in real} == {3304740253564472344}
    values = {e["Key"]: e["Value"] for e in entries}

    def text(key: str) -> str:
        import base64

        return base64.b64decode(values[key]).decode()

    assert text(f"dtle/{UNCONNECTED_JOB}/NatsAddr") == "wait"  # its dest never registered
    assert re.fullmatch(r"127\.\d+\.\d+\.\d+:8193", text(f"dtle/{CRASH_LOOP_JOB}/NatsAddr"))
    for job_id in (CRASH_LOOP_JOB, UNCONNECTED_JOB, V2_DEAD_JOB):
        assert text(f"dtle/{job_id}/ReplChanBufferSize") == "32"
        assert f"dtle/{job_id}/Gtid" not in values  # no Gtid before a job has copied anything
    listed = {k.split("/", 1)[1] for k in values if k.startswith("dtleJobList/")}
    assert V2_DEAD_JOB in listed and not listed & {CRASH_LOOP_JOB, UNCONNECTED_JOB, UNPLACEABLE_JOB}
    real_entry = json.loads(next(__import__("base64").b64decode(e["Value"]) for e in real
                                 if e["Key"] == "dtleJobList/v2maria-migration"))
    assert list(json.loads(text(f"dtleJobList/{V2_DEAD_JOB}"))) == list(real_entry)
    real_user = json.loads(next(__import__("base64").b64decode(e["Value"]) for e in real
                                if e["Key"] == "dtleUser/platform/admin"))
    user = json.loads(text("dtleUser/platform/admin"))
    assert set(user) == set(real_user) and user["password"]  # in plain text, as dtle keeps it
    assert "dtleRole/platform/admin" in values


def test_the_dtle_driver_of_a_node(cluster):
    sim, client = cluster
    real = next(iter(recorded("10_dtle_v1_nodes.json")))["Drivers"]["dtle"]
    node = next(n for n in client.get("/v1/nodes").json() if n["Name"] == "dtle-node-1")
    mine = node["Drivers"]["dtle"]
    assert {k: mine[k] for k in ("Attributes", "Detected", "Healthy", "HealthDescription")} == \
        {k: real[k] for k in ("Attributes", "Detected", "Healthy", "HealthDescription")}


def test_the_unplaceable_job_waits_behind_a_blocked_evaluation(cluster):
    sim, client = cluster
    stub = next(j for j in client.get("/v1/jobs").json() if j["ID"] == UNPLACEABLE_JOB)
    assert stub["JobSummary"]["Summary"]["dest"]["Queued"] == 1
    assert stub["JobSummary"]["Summary"]["src"]["Running"] == 1
    evaluations = client.get(f"/v1/job/{UNPLACEABLE_JOB}/evaluations").json()
    assert [e["Status"] for e in evaluations] == ["blocked", "complete"]
    failed = evaluations[1]["FailedTGAllocs"]["dest"]
    assert failed["DimensionExhausted"] == {"memory": 1} and failed["NodesExhausted"] == 1
