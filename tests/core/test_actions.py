"""Write actions against the simulator over real HTTP: server-side effects, backups, refusals, audit."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from dtle_tui.api.consul_kv import ConsulKV
from dtle_tui.api.errors import ApiError
from dtle_tui.api.nomad import NomadClient
from dtle_tui.ops.actions import Actions
from dtle_tui.ops.audit import read_entries
from dtle_tui.ops.backup import latest_backup, load_backup
from tests.helpers.paths import FIXTURES

EXAMPLE = FIXTURES / "reference" / "dtle_job_example.json"


@pytest.fixture
def state_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "dtle-tui"


@pytest.fixture
async def make_actions(make_settings, state_env):
    made = []

    def make(sim, *flags: str, nomad_token: str | None = None) -> Actions:
        env = {"NOMAD_TOKEN": nomad_token} if nomad_token else None
        settings = make_settings(sim, *flags, env=env)
        assert settings.state_dir == state_env
        nomad = NomadClient(settings.nomad, timeout=3)
        consul = ConsulKV(settings.consul, timeout=3)
        made.extend([nomad, consul])
        return Actions(nomad, consul, settings)

    yield make
    for client in made:
        await client.aclose()


def writes(sim, service: str | None = None) -> list:
    return [(s, m, p) for s, m, p, _q in sim.requests.entries()
            if m in ("PUT", "POST", "DELETE") and (service is None or s == service)]


def kv(sim, prefix: str) -> dict:
    return {e.key: e.value for e in sim.kv.list(prefix)}


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def stop_allocations(sim, job_id: str) -> None:
    sim.scenario.advance(3)  # the sim kills stopped allocations ~1 s after the DELETE
    assert all(a.terminal for a in sim.scenario.allocations(job_id))


async def test_delete_stops_the_job_after_a_private_backup(sim, make_actions, state_env):
    actions = make_actions(sim)
    before = (await actions.nomad.job("job1")).value
    result = await actions.delete_job("job1")
    assert result.ok, result.text()
    assert sim.scenario.job("job1")["Stop"] is True
    assert result.backup and result.backup.is_dir() and str(result.backup) in result.text()
    for d in (result.backup, result.backup.parent, result.backup.parent.parent, state_env / "backups"):
        assert mode(d) == 0o700, d
    for name in ("job.json", "consul.json", "meta.json"):
        assert mode(result.backup / name) == 0o600
    saved = load_backup(result.backup)
    # The exact spec, passwords included; without NomadTokenID (the registering token's accessor).
    assert saved.job == {k: v for k, v in before.items() if k != "NomadTokenID"} and "NomadTokenID" not in saved.job
    assert saved.value_of("dtle/job1/Gtid") == sim.kv.value("dtle/job1/Gtid")
    assert not any(k.key.startswith("dtle/job10/") for k in saved.keys)
    meta = json.loads((result.backup / "meta.json").read_text())
    assert meta["action"] == "delete" and meta["nomad_addr"] == sim.nomad_addr and "token" not in json.dumps(meta)
    assert writes(sim) == [("nomad", "DELETE", "/v1/job/job1")]
    (entry,) = read_entries(state_env)
    assert entry["action"] == "delete" and entry["job"] == "job1" and entry["result"] == "ok"
    assert entry["request"] == ["DELETE /v1/job/job1"] and entry["backup"] == str(result.backup)
    assert mode(state_env / "audit.jsonl") == 0o600


async def test_purge_removes_the_job_and_readd_brings_the_same_spec_back(sim, make_actions, state_env):
    actions = make_actions(sim)
    before = (await actions.nomad.job("job10")).value
    result = await actions.purge_job("job10")
    assert result.ok, result.text()
    with pytest.raises(ApiError) as err:
        await actions.nomad.job("job10")
    assert err.value.status == 404
    assert writes(sim) == [("nomad", "DELETE", "/v1/job/job10")]
    assert latest_backup(state_env, actions.cluster, "job10", "job") == result.backup

    plan = await actions.plan_readd("job10")
    assert plan.refusal is None and plan.resumes and plan.gtid  # Consul still holds its Gtid
    readd = await actions.readd_job("job10")
    assert readd.ok, readd.text()
    assert "RESUMES" in readd.summary
    again = (await actions.nomad.job("job10")).value
    assert again["TaskGroups"] == before["TaskGroups"] and again["Stop"] is False
    assert writes(sim, "nomad")[-1] == ("nomad", "POST", "/v1/jobs")


async def test_readd_of_a_job_deleted_while_stopped_registers_it_running(sim, make_actions):
    actions = make_actions(sim)
    assert (await actions.delete_job("job1")).ok
    assert (await actions.purge_job("job1")).ok  # this backup's spec has Stop: true
    result = await actions.readd_job("job1")
    assert result.ok, result.text()
    assert sim.scenario.job("job1")["Stop"] is False


async def test_gtid_reset_is_refused_while_allocations_run(sim, make_actions, state_env):
    actions = make_actions(sim)
    plan = await actions.plan_reset_gtid("job1")
    assert plan.refusal and "running" in plan.refusal
    result = await actions.reset_gtid("job1")
    assert not result.ok and result.refused and "pending or running" in result.summary
    assert sim.kv.value("dtle/job1/Gtid") is not None
    assert writes(sim) == []
    assert read_entries(state_env)[-1]["result"].startswith("refused: ")


async def test_gtid_reset_takes_only_that_jobs_keys_and_restore_puts_them_back(sim, make_actions):
    actions = make_actions(sim)
    assert (await actions.delete_job("job1")).ok
    stop_allocations(sim, "job1")
    sim.kv.put("dtleJobList/job1", b'{"job_status":"finished"}')
    sim.kv.put("dtleJobList/job10", b'{"job_status":"non-paused"}')
    job1 = kv(sim, "dtle/job1/")
    job10 = kv(sim, "dtle/job10/")
    gtid = job1["dtle/job1/Gtid"].decode()
    sim.reset_requests()

    result = await actions.reset_gtid("job1")
    assert result.ok, result.text()
    assert kv(sim, "dtle/job1/") == {} and sim.kv.value("dtleJobList/job1") is None
    assert kv(sim, "dtle/job10/") == job10 and sim.kv.value("dtleJobList/job10") is not None
    assert writes(sim) == [("consul", "DELETE", "/v1/kv/dtle/job1/"), ("consul", "DELETE", "/v1/kv/dtleJobList/job1")]
    recurse = [q for s, m, p, q in sim.requests.entries() if m == "DELETE" and p == "/v1/kv/dtle/job1/"]
    assert len(recurse) == 1 and "recurse" in recurse[0]
    text = result.text()
    assert gtid in text
    assert "dtle.gtid_executed_v4 rows are NOT touched" in text
    assert "DELETE FROM dtle.gtid_executed_v4 WHERE job_name='job1';" in text

    restored = await actions.restore_gtid("job1")
    assert restored.ok, restored.text()
    assert kv(sim, "dtle/job1/") == job1  # same bytes back
    assert sim.kv.value("dtleJobList/job1") == b'{"job_status":"finished"}'
    assert all(m == "PUT" for _s, m, _p in writes(sim)[2:])
    assert all("cas=0" in q for _s, m, _p, q in sim.requests.entries() if m == "PUT")

    sim.kv.put("dtle/job1/Gtid", b"newer")  # a newer value must never be overwritten
    again = await actions.restore_gtid("job1")
    assert again.ok and sim.kv.value("dtle/job1/Gtid") == b"newer"
    assert "skipped" in again.text() and "dtle/job1/Gtid" in again.notes[1]


async def test_failed_backup_sends_nothing(sim, make_actions, state_env):
    actions = make_actions(sim)
    state_env.mkdir(parents=True)
    (state_env / "backups").write_text("a file where the directory should be")
    for call in (actions.delete_job("job1"), actions.purge_job("job1")):
        result = await call
        assert not result.ok and "backup not written" in result.summary and "nothing was sent" in result.summary
        assert result.backup is None and result.done == []
    assert writes(sim) == []
    assert sim.scenario.job("job1")["Stop"] is False


async def test_403_on_the_delete_is_reported_and_nothing_more_is_sent(sim, make_actions):
    actions = make_actions(sim)
    original = actions.nomad.send

    async def denied(call):
        if call.write:
            sim.nomad_faults.status = 403  # the backup reads went through; the write is refused
        return await original(call)

    actions.nomad.send = denied
    result = await actions.delete_job("job1")
    sim.nomad_faults.status = None
    assert not result.ok
    assert "Permission denied" in result.error and "403" in result.error
    assert result.backup is not None and any("backup" in d for d in result.done)
    assert result.not_done and result.not_done[0].startswith("DELETE /v1/job/job1")
    assert writes(sim) == [("nomad", "DELETE", "/v1/job/job1")]
    assert sim.scenario.job("job1")["Stop"] is False


async def test_wrong_acl_token_fails_the_backup_read_and_sends_nothing(make_actions, state_env):
    from dtle_tui.sim import SimCluster

    token = "0b6f0ac6-4bd1-4a4e-a47d-7b3c7a7f9d11"
    with SimCluster(seed=1, frozen=True, acl_token=token) as sim:
        actions = make_actions(sim, nomad_token="11111111-2222-3333-4444-555555555555")
        result = await actions.delete_job("job1")
        assert not result.ok and "ACL token not found" in result.summary
        assert writes(sim) == []


async def test_500_from_nomad_is_verbatim(sim, make_actions):
    actions = make_actions(sim)
    original = actions.nomad.send

    async def broken(call):
        if call.write:
            sim.nomad_faults.status = 500
        return await original(call)

    actions.nomad.send = broken
    result = await actions.purge_job("job1")
    sim.nomad_faults.status = None
    assert not result.ok and "rpc error: No cluster leader" in result.error


async def test_connection_lost_halfway_through_a_reset(sim, make_actions):
    actions = make_actions(sim)
    assert (await actions.delete_job("job1")).ok
    stop_allocations(sim, "job1")
    original = actions.consul.send

    async def cut(call):
        if call.write and "dtleJobList" in call.text():  # the tree is deleted, then the connection goes
            sim.consul_faults.down = True
        return await original(call)

    actions.consul.send = cut
    result = await actions.reset_gtid("job1")
    sim.consul_faults.down = False
    assert not result.ok
    assert any(d.startswith("DELETE /v1/kv/dtle/job1/?recurse") for d in result.done)
    assert result.not_done and result.not_done[0].startswith("DELETE /v1/kv/dtleJobList/job1 — failed: Consul")
    assert kv(sim, "dtle/job1/") == {}


async def test_read_only_refuses_everything(sim, make_actions, state_env):
    actions = make_actions(sim, "--read-only")
    results = [
        await actions.delete_job("job1"),
        await actions.purge_job("job1"),
        await actions.reset_gtid("legacy-stopped"),
        await actions.restore_gtid("job1"),
        await actions.add_job(EXAMPLE),
        await actions.readd_job("job1"),
    ]
    for r in results:
        assert not r.ok and r.refused and "read-only" in r.summary
    assert writes(sim) == []
    entries = read_entries(state_env)
    assert len(entries) == 6 and all(e["result"].startswith("refused: read-only") for e in entries)


async def test_add_invalid_json_shows_line_and_column_and_sends_nothing(sim, make_actions, tmp_path):
    actions = make_actions(sim)
    bad = tmp_path / "job.json"
    bad.write_text('{"Job": {"ID": "x",\n  "Datacenters": ["dc1"],,\n}}')
    plan = await actions.plan_add(str(bad))
    assert plan.refusal and "line 2 column 26" in plan.refusal
    result = await actions.add_job(str(bad))
    assert not result.ok and "invalid JSON" in result.summary and "line 2 column 26" in result.summary
    assert writes(sim) == []


async def test_add_with_a_nomad_validation_error_is_sent_once_and_shown(sim, make_actions, tmp_path):
    actions = make_actions(sim)
    spec = json.loads(EXAMPLE.read_text())
    spec["Job"]["ID"] = "new-job"
    del spec["Job"]["Datacenters"]
    path = tmp_path / "job.json"
    path.write_text(json.dumps(spec))
    result = await actions.add_job(str(path))
    assert not result.ok and "Missing job datacenters" in result.error
    assert "password" not in result.text()
    assert writes(sim) == [("nomad", "POST", "/v1/jobs")]


async def test_add_registers_the_example_and_refuses_a_running_duplicate(sim, make_actions, tmp_path):
    actions = make_actions(sim)
    spec = json.loads(EXAMPLE.read_text())
    spec["Job"]["ID"] = "brand-new"
    path = tmp_path / "brand-new.json"
    path.write_text(json.dumps(spec))
    plan = await actions.plan_add(str(path))
    assert plan.refusal is None and not plan.resumes and plan.job_id == "brand-new"
    result = await actions.add_job(str(path))
    assert result.ok, result.text()
    assert sim.scenario.job("brand-new") is not None and result.backup is None
    dup = await actions.add_job(EXAMPLE)  # ID job1, running
    assert dup.refused and "not stopped" in dup.summary
    assert writes(sim) == [("nomad", "POST", "/v1/jobs")]


async def test_readd_with_reset_first_starts_from_the_config(sim, make_actions):
    actions = make_actions(sim)
    assert (await actions.purge_job("job1")).ok
    assert sim.scenario.allocations("job1") == []  # purged with the job
    result = await actions.readd_job("job1", reset_gtid_first=True)
    assert result.ok, result.text()
    assert "starts from its config" in result.summary
    assert kv(sim, "dtle/job1/") == {} or sim.kv.value("dtle/job1/Gtid") in (None, b"")
    assert sim.scenario.job("job1")["Stop"] is False
    assert [w[1] for w in writes(sim)] == ["DELETE", "DELETE", "DELETE", "POST"]


async def test_hostile_job_id_stays_inside_its_backup_directory(sim, make_actions, state_env):
    actions = make_actions(sim)
    result = await actions.delete_job("mig-[b]ops")
    assert result.ok, result.text()
    assert sim.scenario.job("mig-[b]ops")["Stop"] is True
    assert result.backup.parent.name == "mig-%5Bb%5Dops"
    assert state_env / "backups" in result.backup.parents
    assert writes(sim) == [("nomad", "DELETE", "/v1/job/mig-[b]ops")]


async def test_job_ids_the_consul_client_cannot_encode_are_refused(sim, make_actions):
    actions = make_actions(sim)
    for job in ("a?b", "a#b", "a%2Fb"):
        sim.kv.put(f"dtle/{job}/Gtid", b"x")
    sim.kv.put("dtle/a/Gtid", b"keep")
    for job in ("a?b", "a#b", "a%2Fb"):
        result = await actions.reset_gtid(job)
        assert result.refused and "would not encode" in result.summary, result.text()
        assert (await actions.restore_gtid(job)).refused
    assert writes(sim) == [] and sim.kv.value("dtle/a/Gtid") == b"keep"


async def test_a_write_timeout_says_it_may_have_been_applied(sim, make_actions):
    actions = make_actions(sim)  # --timeout 3
    original = actions.nomad.send

    async def slow(call):
        if call.write:
            sim.nomad_faults.latency = 4.5
        return await original(call)

    actions.nomad.send = slow
    result = await actions.delete_job("job1")
    sim.nomad_faults.latency = 0
    assert not result.ok and "timed out" in result.error and "may still have been applied" in result.error
    assert result.backup is not None and result.not_done[0].startswith("DELETE /v1/job/job1 — failed:")
    assert writes(sim) == [("nomad", "DELETE", "/v1/job/job1")]  # sent once, never retried
