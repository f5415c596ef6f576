"""Behaviour of the simulated Nomad + dtle: story, register/deregister/purge, stages, Gtid, logs."""

from __future__ import annotations

import base64
import copy
import json
import time

import httpx
import pytest

from dtle_tui.sim import SimCluster
from tests.helpers import loopback
from tests.helpers.paths import FIXTURES
from tests.helpers.sim import released_by
from tests.helpers.wait import PATIENCE_S, until_blocking

EXAMPLE = json.loads((FIXTURES / "reference" / "dtle_job_example.json").read_text())


def stage_events(alloc: dict) -> list[str]:
    events = alloc["TaskStates"].get("dest", {}).get("Events", [])
    return [e["DriverMessage"] for e in events if e["Type"] == "Driver"]


def current_dest(client: httpx.Client, job_id: str) -> dict:
    allocs = client.get(f"/v1/job/{job_id}/allocations").json()
    dests = [a for a in allocs if a["TaskGroup"] == "dest" and a["DesiredStatus"] == "run"]
    return max(dests, key=lambda a: a["CreateIndex"])


@pytest.fixture
def frozen():
    with SimCluster(dialect="1.1", frozen=True, seed=5) as sim:
        yield sim, loopback.Client(base_url=sim.nomad_addr, timeout=10)


def test_story_covers_the_operator_cases(frozen):
    sim, client = frozen
    jobs = {j["ID"]: j for j in client.get("/v1/jobs").json()}
    assert len(jobs) >= 10 and {"job1", "job10", "mig-[b]ops"} <= set(jobs)
    assert jobs[sim.scenario.stopped_job]["Stop"] is True and jobs[sim.scenario.stopped_job]["Status"] == "dead"
    assert sim.scenario.orphan_job not in jobs and sim.scenario.gtid(sim.scenario.orphan_job)
    assert stage_events(current_dest(client, "job1"))[-2:] == ["job_stage_full", "job_stage_incr"]
    assert stage_events(current_dest(client, sim.scenario.kafka_job)) == []
    kafka = client.get(f"/v1/job/{sim.scenario.kafka_job}").json()
    assert "KafkaConfig" in kafka["TaskGroups"][1]["Tasks"][0]["Config"]
    for job_id in sim.scenario.full_jobs:
        assert stage_events(current_dest(client, job_id)) == ["job_stage_full"]
    spec = client.get("/v1/job/job1").json()
    config = spec["TaskGroups"][0]["Tasks"][0]["Config"]
    assert config["ConnectionConfig"]["Password"].startswith("s3cr3t-")  # the spec keeps secrets (backups)
    assert config["Gtid"] == "" and config["ReplicateDoDb"]


def test_failed_dest_is_rescheduled_with_linkage(frozen):
    sim, client = frozen
    allocs = client.get(f"/v1/job/{sim.scenario.failed_job}/allocations").json()
    dests = sorted((a for a in allocs if a["TaskGroup"] == "dest"), key=lambda a: a["CreateIndex"])
    old, new = dests
    assert old["ClientStatus"] == "failed" and old["DesiredStatus"] == "stop"
    old_full = client.get(f"/v1/allocation/{old['ID']}").json()
    new_full = client.get(f"/v1/allocation/{new['ID']}").json()
    assert old_full["NextAllocation"] == new["ID"] and old_full["FollowupEvalID"] == new["EvalID"]
    assert new_full["PreviousAllocation"] == old["ID"]
    assert new["RescheduleTracker"]["Events"][0]["PrevAllocID"] == old["ID"]
    # The recorded sequence of a task whose policy (mode "fail") gave up, then the client's kill.
    kinds = [e["Type"] for e in old["TaskStates"]["dest"]["Events"]]
    assert kinds[-4:] == ["Terminated", "Not Restarting", "Alloc Unhealthy", "Killing"] and len(kinds) <= 10
    assert "Restarting" in kinds
    term = next(e for e in old["TaskStates"]["dest"]["Events"] if e["Type"] == "Terminated")
    assert term["Message"] == "DstPutNats: nats: timeout" and term["Details"]["exit_code"] == "2"
    assert term["DisplayMessage"] == 'Exit Code: 2, Exit Message: "DstPutNats: nats: timeout"'
    stderr = client.get(f"/v1/client/fs/logs/{old['ID']}",
                        params={"task": "dest", "type": "stderr", "plain": "true"}).text
    assert stderr == ""  # dtle writes its error into the agent's log, not the task's stderr


def test_nodes_and_dtle_driver(frozen):
    sim, client = frozen
    nodes = {n["Name"]: n for n in client.get("/v1/nodes").json()}
    one, two, three = nodes["dtle-node-1"], nodes["dtle-node-2"], nodes["dtle-node-3"]
    assert one["Drivers"]["dtle"]["Attributes"] == {"driver.dtle": "true", "driver.dtle.version": "3.21.11.0",
                                                    "driver.dtle.full_version": "3.21.11.0-3.21.11.x-95f4e8b"}
    assert (two["Status"], two["Drivers"]["dtle"]["Detected"], two["Drivers"]["dtle"]["Healthy"]) == \
        ("ready", True, False)
    assert two["Drivers"]["dtle"]["HealthDescription"]
    assert (three["Status"], three["SchedulingEligibility"]) == ("down", "ineligible")
    assert client.get("/v1/node/nope").text == "node not found"


def test_gtid_advances_at_the_known_rate_and_the_stalled_one_does_not(frozen):
    sim, client = frozen
    scenario = sim.scenario
    rate = scenario.gtid_rate("job10")
    assert rate > 0 and scenario.gtid_rate(scenario.stalled_job) == 0
    before, stalled = scenario.gtid("job10"), scenario.gtid(scenario.stalled_job)
    scenario.advance(60)
    after = scenario.gtid("job10")
    grown = int(after.split("-")[-1]) - int(before.split("-")[-1])
    assert abs(grown - rate * 60) <= rate * 6
    assert scenario.gtid(scenario.stalled_job) == stalled
    multi = scenario.gtid("orders-sync")
    assert multi.count(",") == 2


def test_full_job_moves_to_incr_within_four_minutes(frozen):
    sim, client = frozen
    job_id = sim.scenario.full_jobs[0]
    assert sim.scenario.gtid(job_id) == ""
    sim.scenario.advance(241)
    assert stage_events(current_dest(client, job_id))[-1] == "job_stage_incr"
    assert sim.scenario.gtid(job_id)


def test_register_canonicalises_and_drops_job_level_reschedule_policy(frozen):
    sim, client = frozen
    spec = copy.deepcopy(EXAMPLE)
    spec["Job"]["ID"] = "fresh"
    spec["Job"]["taskgroups"] = spec["Job"].pop("TaskGroups")  # keys are case-insensitive
    spec["Job"]["Unknown"] = {"dropped": True}
    answer = client.post("/v1/jobs", json=spec)
    assert answer.status_code == 200, answer.text
    job = client.get("/v1/job/fresh").json()
    assert (job["Name"], job["Type"], job["Priority"], job["Region"], job["Namespace"]) == \
        ("fresh", "service", 50, "global", "default")
    group = job["TaskGroups"][0]
    # the example's job-level ReschedulePolicy is not api.Job's `Reschedule`: defaults stay (§4.6)
    assert group["ReschedulePolicy"]["Unlimited"] is True and group["ReschedulePolicy"]["Attempts"] == 0
    assert group["RestartPolicy"]["Mode"] == "delay" and group["Tasks"][0]["RestartPolicy"]["Mode"] == "delay"
    assert group["Tasks"][0]["Resources"]["CPU"] == 100 and group["Tasks"][0]["KillTimeout"] == 5_000_000_000
    assert "Unknown" not in job and job["Version"] == 0
    dest = current_dest(client, "fresh")
    assert dest["ClientStatus"] == "running"  # frozen mode: placement and start at once
    assert [e["Type"] for e in dest["TaskStates"]["dest"]["Events"]][:3] == ["Received", "Task Setup", "Started"]
    assert stage_events(dest) == ["job_stage_full"]
    same = client.post("/v1/jobs", json=spec).json()
    assert same["JobModifyIndex"] == answer.json()["JobModifyIndex"]  # unchanged: no new version
    spec["Job"]["Priority"] = 60
    changed = client.put("/v1/jobs", json=spec).json()
    assert changed["JobModifyIndex"] > answer.json()["JobModifyIndex"]
    assert client.get("/v1/job/fresh").json()["Version"] == 1


def test_register_errors(frozen):
    sim, client = frozen
    assert (client.post("/v1/jobs", content=b"").text) == "Request body is empty"
    assert client.post("/v1/jobs", json={}).text == "Job must be specified"
    assert client.post("/v1/jobs", json={"Job": {"Datacenters": ["dc1"]}}).text == "Job ID hasn't been provided"
    mismatch = client.post("/v1/job/other", json={"Job": {"ID": "x"}})
    assert (mismatch.status_code, mismatch.text) == (400, "Job ID does not match name")
    invalid = client.post("/v1/jobs", json={"Job": {"ID": "x", "TaskGroups": EXAMPLE["Job"]["TaskGroups"]}})
    assert (invalid.status_code, invalid.text) == (500, "1 error occurred:\n\t* Missing job datacenters\n\n")
    garbage = client.post("/v1/jobs", content=b"ata")
    assert (garbage.status_code, garbage.text) == (400, "invalid character 'a' looking for beginning of value")


def test_stop_keeps_consul_purge_removes_then_readd_resumes(frozen):
    sim, client = frozen
    gtid = sim.scenario.gtid("job10")
    stop = client.delete("/v1/job/job10")
    assert stop.status_code == 200 and stop.json()["EvalID"]
    job = client.get("/v1/job/job10").json()
    assert job["Stop"] is True and job["Status"] == "dead"
    allocs = client.get("/v1/job/job10/allocations").json()
    assert {(a["DesiredStatus"], a["ClientStatus"]) for a in allocs} == {("stop", "complete")}
    assert sim.scenario.gtid("job10") == gtid  # dtle leaves Consul alone on delete
    assert client.delete("/v1/job/job10", params={"purge": "x"}).text == \
        'Failed to parse value of "purge" ("x") as a bool: strconv.ParseBool: parsing "x": invalid syntax'
    assert client.delete("/v1/job/job10", params={"purge": "True"}).status_code == 200
    assert client.get("/v1/job/job10").status_code == 404
    assert client.get("/v1/job/job10/allocations").json() == []
    assert all(a["JobID"] != "job10" for a in client.get("/v1/allocations").json())
    spec = copy.deepcopy(EXAMPLE)
    spec["Job"]["ID"] = "job10"
    assert client.post("/v1/jobs", json=spec).status_code == 200
    sim.scenario.advance(3)
    assert stage_events(current_dest(client, "job10")) == ["job_stage_full", "job_stage_incr"]
    resumed = sim.scenario.gtid("job10")
    assert int(resumed.split("-")[-1]) >= int(gtid.split("-")[-1])  # Consul wins over the config


def test_blocking_jobs_query_released_by_register(frozen):
    sim, client = frozen
    index = client.get("/v1/jobs").headers["X-Nomad-Index"]
    spec = copy.deepcopy(EXAMPLE)
    spec["Job"]["ID"] = "wake-up"
    # Held for up to 10 minutes, far past the client's deadline: an answer at all is the change's.
    answer = released_by(lambda: client.get("/v1/jobs", params={"index": index, "wait": "10m"}, timeout=PATIENCE_S),
                         lambda: sim.requests.in_flight("nomad", "/v1/jobs"),
                         lambda: loopback.post(sim.nomad_addr + "/v1/jobs", json=spec).raise_for_status())
    assert int(answer.headers["X-Nomad-Index"]) > int(index)
    assert "wake-up" in {j["ID"] for j in answer.json()}
    assert client.get("/v1/jobs", params={"wait": "soon"}).text == "Invalid wait time"


def test_logs_follow_streams_new_lines():
    with SimCluster(dialect="0.11", seed=2) as sim:  # a moving clock
        client = loopback.Client(base_url=sim.nomad_addr, timeout=10)
        dest = current_dest(client, "job1")
        url = f"/v1/client/fs/logs/{dest['ID']}"
        sim.logs.write(dest["ID"], "dest", "stdout", "before\n")  # a dtle task writes none: a test does
        size = len(client.get(url, params={"task": "dest", "type": "stdout", "plain": "1"}).content)
        seen = b""
        params = {"task": "dest", "type": "stdout", "follow": "true", "origin": "end", "offset": "0"}
        with client.stream("GET", url, params=params) as stream:
            started = time.monotonic()
            for chunk in stream.iter_bytes():
                seen += chunk
                if b"{}" in seen and b"applied gtid" not in seen:
                    sim.logs.write(dest["ID"], "dest", "stdout", "applied gtid x:1-5\n")
                if b'"Data"' in seen or time.monotonic() - started > PATIENCE_S:
                    break
        frames = [json.loads("{" + part) for part in seen.decode().lstrip("{").split("{") if part]
        data = [f for f in frames if f.get("Data")]
        assert data and data[0]["Offset"] > size
        assert b"applied gtid" in base64.b64decode(data[0]["Data"])
        bad = client.get(url, params={"task": "dest", "type": "stdout", "follow": "maybe"})
        assert bad.status_code == 400 and bad.text.startswith("failed to parse follow field to boolean")
        missing = client.get("/v1/client/fs/logs/00000000-0000-0000-0000-000000000000",
                             params={"task": "dest", "type": "stdout"})
        assert (missing.status_code, missing.text) == \
            (404, 'Unknown allocation "00000000-0000-0000-0000-000000000000"')


def test_registered_job_is_pending_then_runs_by_itself_on_a_real_clock():
    with SimCluster(dialect="1.1", seed=4) as sim:
        client = loopback.Client(base_url=sim.nomad_addr, timeout=10)
        spec = copy.deepcopy(EXAMPLE)
        spec["Job"]["ID"] = "live"
        client.post("/v1/jobs", json=spec)
        assert client.get("/v1/job/live").json()["Status"] == "pending"
        until_blocking(lambda: current_dest(client, "live")["ClientStatus"] == "running", "the dest running")
        assert client.get("/v1/job/live").json()["Status"] == "running"
