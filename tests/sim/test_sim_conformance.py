"""The simulator against answers recorded from real Nomad 0.11.1 and 1.1.2 agents (tests/fixtures/real-nomad),
and for 1.1.2 a real dtle 3.21.11.0 driver's allocations too (tests/fixtures/real-dtle).

Struct objects must have exactly a key list (in order) that the real agent produced at the same place,
with the same JSON value types; map-valued fields (TaskStates, Drivers, Summary, ...) are walked per value
or skipped (Meta, Config, Details, Attributes). Status codes, plain-text error bodies and X-Nomad headers
are compared with answers.json, acl_answers.json, logs_and_stream.json and register_answers.json.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from dtle_tui.sim import SimCluster
from tests.helpers import loopback
from tests.helpers.paths import FIXTURES

REAL = FIXTURES / "real-nomad"
REAL_DTLE = FIXTURES / "real-dtle" / "3.21.11.0"
DIALECTS = ["0.11.1", "1.1.2"]
WALK_MAPS = {"TaskStates", "Drivers", "Summary", "TaskResources", "TaskLifecycles", "Tasks"}
SKIP_MAPS = {"Meta", "Config", "Details", "Attributes", "Env", "NodesAvailable", "Scores"}
# Fields the references document as `null` when unset although these recordings only show a value.
NULLABLE = {"DeploymentStatus", "RescheduleTracker", "StartedAt", "FinishedAt", "LastRestart", "Healthy",
            "Reschedule", "Meta", "Attributes"}
# dtle's Driver events carry Details null (recorded on 1.1.2 under real-dtle/; the driver builds the same
# event on 0.11, whose recordings here hold no dtle task).
NULLABLE_011 = {"Details"}


def _walk(obj, path: str, schema: dict) -> None:
    entry = schema.setdefault(path, {"types": set(), "keys": set()})
    entry["types"].add(type(obj).__name__)
    name = path.rsplit(".", 1)[-1]
    if isinstance(obj, dict):
        if name in SKIP_MAPS:
            return
        if name in WALK_MAPS and not name == "Tasks" or (name == "Tasks" and ".AllocatedResources" in path):
            for value in obj.values():
                _walk(value, path + ".*", schema)
            return
        entry["keys"].add(tuple(obj))
        for key, value in obj.items():
            _walk(value, f"{path}.{key}", schema)
    elif isinstance(obj, list):
        for value in obj:
            _walk(value, path + "[]", schema)


# The real dtle recordings (1.1.2) that have the shape of a real-nomad file pattern.
DTLE_PATTERNS = {"allocation/*.json": r"10_v1_allocation_[0-9a-f-]+\.json", "job/*.json": r"10_v1_job_[^_]+\.json",
                 "job_allocations/*.json": r"10_v1_job_[^_]+_allocations\.json", "jobs.json": r"10_v1_jobs\.json"}


def real_schema(dialect: str, *patterns: str) -> dict:
    schema: dict = {}
    for pattern in patterns:
        files = sorted((REAL / dialect).glob(pattern))
        assert files, pattern
        if dialect == "1.1.2" and pattern in DTLE_PATTERNS:
            dtle = [f for f in sorted(REAL_DTLE.iterdir()) if re.fullmatch(DTLE_PATTERNS[pattern], f.name)]
            assert dtle, pattern
            for file in dtle:
                # That agent was a release-style build: struct declaration order (nomad-api.md §0). The same
                # key sets, alphabetical, are what this simulator's alphabetical answers must match.
                _walk(json.loads(json.dumps(json.loads(file.read_text()), sort_keys=True)), "$", schema)
        if dialect == "0.11.1" and pattern == "allocation/*.json":
            # No dtle task was recorded on 0.11: the allocation's omitempty fields follow the same rules there
            # (a task never healthy has no DeploymentStatus), without 1.1's NetworkStatus. Top level only.
            for file in sorted(REAL_DTLE.iterdir()):
                if re.fullmatch(DTLE_PATTERNS[pattern], file.name):
                    top = sorted(k for k in json.loads(file.read_text()) if k != "NetworkStatus")
                    schema.setdefault("$", {"types": {"dict"}, "keys": set()})["keys"].add(tuple(top))
        for file in files:
            _walk(json.loads(file.read_text()), "$", schema)
    return schema


def shape_problems(obj, real: dict) -> list[str]:
    mine: dict = {}
    _walk(obj, "$", mine)
    problems = []
    for path, entry in mine.items():
        ref = real.get(path)
        if ref is None:
            problems.append(f"{path}: not in the real answers")
            continue
        types = set(ref["types"])
        if path.rsplit(".", 1)[-1].rstrip("[]") in NULLABLE | NULLABLE_011:
            types.add("NoneType")
        if not entry["types"] <= types:
            problems.append(f"{path}: types {sorted(entry['types'])} vs real {sorted(types)}")
        for keys in entry["keys"] - ref["keys"]:
            problems.append(f"{path}: keys {list(keys)} never seen; real {[list(k) for k in ref['keys']][:2]}")
    return problems


@pytest.fixture(scope="module", params=DIALECTS)
def cluster(request):
    with SimCluster(dialect=request.param, seed=3, frozen=True) as sim:
        yield request.param, sim, loopback.Client(base_url=sim.nomad_addr, timeout=10)


def test_jobs_list_matches_real_shape(cluster):
    dialect, sim, client = cluster
    body = client.get("/v1/jobs").json()
    assert len(body) >= 10
    assert shape_problems(body, real_schema(dialect, "jobs.json")) == []


def test_job_matches_real_shape(cluster):
    dialect, sim, client = cluster
    schema = real_schema(dialect, "job/*.json")
    for job in client.get("/v1/jobs").json():
        answer = client.get(f"/v1/job/{job['ID']}", params={})
        assert answer.status_code == 200
        assert shape_problems(answer.json(), schema) == [], job["ID"]


def test_allocation_lists_match_real_shape(cluster):
    dialect, sim, client = cluster
    schema = real_schema(dialect, "allocations.json", "job_allocations/*.json")
    assert shape_problems(client.get("/v1/allocations").json(), schema) == []
    for job in client.get("/v1/jobs").json():
        listing = client.get(f"/v1/job/{httpx.URL(job['ID']).path}/allocations").json()
        assert shape_problems(listing, schema) == [], job["ID"]


def test_full_allocations_match_real_shape(cluster):
    dialect, sim, client = cluster
    schema = real_schema(dialect, "allocation/*.json")
    allocs = client.get("/v1/allocations").json()
    assert len(allocs) >= 24
    for alloc in allocs:
        full = client.get(f"/v1/allocation/{alloc['ID']}").json()
        assert shape_problems(full, schema) == [], (alloc["JobID"], alloc["ClientStatus"])


def test_nodes_match_real_shape(cluster):
    dialect, sim, client = cluster
    nodes = client.get("/v1/nodes").json()
    assert shape_problems(nodes, real_schema(dialect, "nodes.json")) == []
    for node in nodes:
        assert node["Version"] == dialect
        full = client.get(f"/v1/node/{node['ID']}").json()
        assert shape_problems(full, real_schema(dialect, "node/*.json")) == []


def test_every_struct_is_alphabetical(cluster):
    """§0: struct fields alphabetical at every level, as raw bytes on the wire."""
    dialect, sim, client = cluster
    raw = client.get("/v1/allocations").text
    pairs = json.loads(raw, object_pairs_hook=lambda kv: [k for k, _ in kv])
    assert pairs[0] == sorted(pairs[0])


def test_recorded_answers(cluster):
    dialect, sim, client = cluster
    recorded = json.loads((REAL / dialect / "answers.json").read_text())
    for request, want in recorded.items():
        method, target = request.split(" ", 1)
        got = client.request(method, target)
        assert got.status_code == want["status"], request
        mine = {k.lower() for k in got.headers if k.lower().startswith("x-nomad-")}
        assert mine == {k.lower() for k in want["headers"]}, request
        if want["status"] != 200 or target in ("/v1/regions",):
            assert got.text == want["body"], request
        elif target == "/v1/namespaces":
            assert got.json() == json.loads(want["body"])
        elif target == "/v1/status/leader":
            assert re.fullmatch(r'"127\.0\.0\.1:\d+"', got.text)
        elif target.startswith("DELETE") or method == "DELETE":
            assert list(got.json()) == list(json.loads(want["body"])), request
        elif want["body"] == "[]":
            assert got.json() == [], request
        else:  # recorded list bodies are cut at 500 characters: compare the first stub's leading keys
            stubs = got.json()
            real_keys = re.findall(r'"([A-Za-z]+)":', want["body"].split('"JobSummary"')[0])
            assert list(stubs[0])[: len(real_keys)] == real_keys, request
            if "prefix=job1" in target:
                assert {s["ID"] for s in stubs} == {"job1", "job10"}
            else:  # namespace=* in 1.1.2 lists every namespace
                assert len(stubs) == len(client.get("/v1/jobs").json())


@pytest.mark.parametrize("dialect", DIALECTS)
def test_acl_answers(dialect):
    recorded = json.loads((REAL / dialect / "acl_answers.json").read_text())
    tokens = {"no_token": None, "unknown_token": "6f3c9b1e-5d1a-11ee-9b8d-0242ac120002",
              "malformed_token": "not-a-uuid"}
    with SimCluster(dialect=dialect, frozen=True, acl_token="0b7d6a5e-1c1b-4d6e-9f0a-6f1c2b3d4e5f") as sim:
        for name, want in recorded.items():
            kind, method, target = name.split(" ", 2)
            headers = {"X-Nomad-Token": tokens[kind]} if tokens[kind] else {}
            got = loopback.request(method, sim.nomad_addr + target, headers=headers)
            assert (got.status_code, got.text) == (want["status"], want["body"]), name
            assert got.headers["content-type"] == "text/plain; charset=utf-8"
        ok = loopback.get(sim.nomad_addr + "/v1/jobs",
                          headers={"X-Nomad-Token": "0b7d6a5e-1c1b-4d6e-9f0a-6f1c2b3d4e5f"})
        assert ok.status_code == 200 and len(ok.json()) >= 10


def test_logs_answers(cluster):
    dialect, sim, client = cluster
    recorded = json.loads((REAL / dialect / "logs_and_stream.json").read_text())
    dest = next(a for a in client.get("/v1/allocations").json()
                if a["TaskGroup"] == "dest" and a["ClientStatus"] == "running")
    base = f"/v1/client/fs/logs/{dest['ID']}"
    got = client.get(base, params={"type": "stdout"})
    assert (got.status_code, got.text) == (400, recorded["logs_missing_task"]["body"])
    got = client.get(base, params={"task": "dest"})
    assert (got.status_code, got.text) == (400, recorded["logs_missing_type"]["body"])
    # A dtle task writes nothing to stdout or stderr (real-dtle §2): empty answers, framed and plain.
    assert client.get(base, params={"task": "dest", "type": "stdout", "plain": "true"}).content == b""
    assert client.get(base, params={"task": "dest", "type": "stderr"}).content == b""
    sim.logs.write(dest["ID"], "dest", "stdout", "applier started\n")  # as a task of another driver writes
    framed = client.get(base, params={"task": "dest", "type": "stdout"})
    assert framed.headers["content-type"] == recorded["logs_framed_stdout"]["ctype"]
    frame = r'\{"Data":"[A-Za-z0-9+/=]+","File":"alloc/logs/dest\.stdout\.0","Offset":\d+\}'
    assert re.fullmatch(f"({frame})+", framed.text)
    assert re.fullmatch(frame, recorded["logs_framed_stdout"]["body"])
    plain = client.get(base, params={"task": "dest", "type": "stdout", "plain": "true"})
    assert plain.headers["content-type"] == recorded["logs_plain_stderr_failed"]["ctype"]
    assert "applier started" in plain.text
    stream = client.get("/v1/event/stream") if dialect == "0.11.1" else None
    if stream is not None:
        assert (stream.status_code, stream.text) == (404, "")
    else:
        with client.stream("GET", "/v1/event/stream") as answer:
            first = next(answer.iter_lines())
        assert first + "\n" == recorded["event_stream_first_lines"][0]


def test_register_answer_shape():
    recorded = json.loads((REAL / "1.1.2" / "register_answers.json").read_text())
    spec = json.loads((FIXTURES / "reference" / "dtle_job_example.json").read_text())
    spec["Job"]["ID"] = "brand-new"
    with SimCluster(dialect="1.1.2", frozen=True) as sim:
        got = loopback.post(sim.nomad_addr + "/v1/jobs", json=spec)
        want = recorded["POST /v1/jobs (real-ok)"]
        assert got.status_code == 200
        assert list(got.json()) == list(json.loads(want["body"]))
        assert {k for k in got.headers if k.lower().startswith("x-nomad")} == {"x-nomad-index"}
        assert got.json()["Index"] == got.json()["EvalCreateIndex"] == int(got.headers["x-nomad-index"])
        gone = loopback.delete(sim.nomad_addr + "/v1/job/brand-new")
        want = recorded["DELETE /v1/job/job1"]
        assert list(gone.json()) == list(json.loads(want["body"]))
        assert {k for k in gone.headers if k.lower().startswith("x-nomad")} == {"x-nomad-index"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_blocking_query_held_then_same_index(dialect):
    recorded = json.loads((REAL / dialect / "blocking.json").read_text())
    with SimCluster(dialect=dialect, frozen=True) as sim:
        first = loopback.get(sim.nomad_addr + "/v1/jobs")
        index = first.headers["X-Nomad-Index"]
        import time

        started = time.monotonic()
        held = loopback.get(sim.nomad_addr + "/v1/jobs", params={"index": index, "wait": "2s"}, timeout=60)
        # Held for its wait (at least; how much longer is the machine's business, never asserted), then
        # answered as the real one does when nothing changed: the same index.
        assert time.monotonic() - started >= 1.9
        assert held.status_code == recorded["status"]
        assert held.headers["X-Nomad-Index"] == index
        assert {k.lower() for k in recorded["headers"]} <= {k.lower() for k in held.headers}


def test_the_shape_check_catches_a_dialect_mixup():
    """Guard for the checker itself: 1.1.2 objects must not pass as 0.11.1 ones, nor the reverse."""
    with SimCluster(dialect="1.1.2", frozen=True) as new, SimCluster(dialect="0.11.1", frozen=True) as old:
        new_alloc = loopback.get(new.nomad_addr + "/v1/allocations").json()
        old_nodes = loopback.get(old.nomad_addr + "/v1/nodes").json()
    assert any("TaskHandle" in p for p in shape_problems(new_alloc, real_schema("0.11.1", "allocations.json")))
    assert shape_problems(old_nodes, real_schema("1.1.2", "nodes.json"))
