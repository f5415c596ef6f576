"""GET /v1/agent/monitor of the simulator against the recordings of real 0.11.1 and 1.1.2 agents
(tests/fixtures/real-nomad/<ver>/agent_monitor) and dtle's lines as a real dtle 3.21.11.0 wrote them
(tests/fixtures/real-dtle/3.21.11.0/90_nomad_agent_log_dtle_lines.txt); docs/reference/agent-monitor.md.
"""

from __future__ import annotations

import re
import time

import pytest

from dtle_tui.model.agentlog import AllocationLog, MonitorDecoder, decode_monitor, parse_line
from dtle_tui.sim import SimCluster
from dtle_tui.sim.realdtle import CRASH_LOOP_JOB
from tests.helpers import loopback
from tests.helpers.paths import FIXTURES
from tests.helpers.wait import PATIENCE_S

REAL = FIXTURES / "real-nomad"
DTLE_LINES = FIXTURES / "real-dtle" / "3.21.11.0" / "90_nomad_agent_log_dtle_lines.txt"
FRAMES = re.compile(rb'(\{\}|\{"Data":"[A-Za-z0-9+/=]+","FileEvent":"log"\})+')
TOKENS = {"read": "7c1d0e22-0000-4d6e-9f0a-6f1c2b3d4e01", "management": "7c1d0e22-0000-4d6e-9f0a-6f1c2b3d4e03"}


def meta(ver: str, name: str) -> dict:
    lines = (REAL / ver / "agent_monitor" / f"{name}.meta").read_text().splitlines()
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return {"status": status, **headers}


def read_stream(sim, url: str, params: dict, until, headers=None, seconds: float = PATIENCE_S) -> tuple:
    """Open the monitor, make the story's crash loops try again, read until `until(body)` (the deadline
    only turns a hang into a failure)."""
    with loopback.stream("GET", url, params=params, headers=headers or {}, timeout=PATIENCE_S) as answer:
        status, ctype = answer.status_code, answer.headers.get("content-type", "")
        if status != 200:
            answer.read()
            return status, ctype, answer.content
        sim.scenario.advance(600)  # the stream is open: the crash-looping job's next try reaches it
        body = b""
        deadline = time.monotonic() + seconds
        for chunk in answer.iter_bytes():
            body += chunk
            if until(body) or time.monotonic() > deadline:
                break
        return status, ctype, body


def node_id(sim, name: str = "dtle-node-1") -> str:
    return next(n.id for n in sim.scenario.nodes() if n.name == name)


@pytest.fixture(params=["0.11.1", "1.1.2"])
def sim(request):
    with SimCluster(dialect=request.param, seed=4, frozen=True) as cluster:
        yield cluster


def test_framed_stream_as_recorded_with_dtles_lines(sim):
    ver = sim.dialect
    recorded = (REAL / ver / "agent_monitor" / "monitor.body").read_bytes()
    assert FRAMES.fullmatch(recorded)
    src = AllocationLog(_alloc(sim, "src"), CRASH_LOOP_JOB, "src")

    def src_failed(body: bytes) -> bool:  # whole lines only: a frame may end in the middle of one
        return any(line.message == "onError" for line in src.pick(MonitorDecoder().feed(body)))

    status, ctype, body = read_stream(sim, sim.nomad_addr + "/v1/agent/monitor",
                                      {"node_id": node_id(sim), "log_level": "debug"}, src_failed)
    want = meta(ver, "monitor")
    assert (status, ctype) == (want["status"], want["Content-Type"])
    assert body.startswith(b"{}") and FRAMES.fullmatch(body)  # a heartbeat first, no separators
    lines = decode_monitor(body)
    mine = AllocationLog(_alloc(sim, "src"), CRASH_LOOP_JOB, "src").pick(lines)
    assert any(line.message == "StartTask" for line in mine) and any(line.message == "onError" for line in mine)


def _decoded(body: bytes) -> bytes:
    try:
        return "\n".join(line.text for line in decode_monitor(body)).encode()
    except ValueError:
        return b""  # a frame cut in the middle: more is coming


def _alloc(sim, group: str) -> str:
    return next(a.id for a in sim.scenario.allocations(CRASH_LOOP_JOB) if a.task_group == group)


def test_dtle_lines_have_the_recorded_fields(sim):
    status, _ctype, body = read_stream(sim, sim.nomad_addr + "/v1/agent/monitor",
                                       {"node_id": node_id(sim), "log_level": "debug", "plain": "true"},
                                       lambda b: b"GTID_MODE" in b and b.endswith(b"\n"))
    assert status == 200
    real = {}
    for text in DTLE_LINES.read_text().splitlines():
        line = parse_line(text)
        real.setdefault(line.message, set()).add(frozenset(k for k, _v in line.fields))
    mine = [parse_line(text) for text in body.decode().splitlines() if text.strip()]
    dtle = [line for line in mine if line.is_dtle]
    assert dtle and all(line.fields[0] == ("driver", "dtle") and line.fields[-1][0] == "timestamp" for line in dtle)
    for line in dtle:
        if line.message in ("StartTask", "onError", "DestroyTask", "WaitTask", "NewExtractor", "NewApplier"):
            assert frozenset(k for k, _v in line.fields) in real[line.message], line.text
    head = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[(ERROR|INFO|DEBUG)\] {1,2}client\.driver_mgr\.dtle: "
    assert all(re.match(head, line.text) for line in dtle)
    errors = [line for line in dtle if line.message == "onError"]
    assert {line.field("err") for line in errors} >= {"Error 1193: Unknown system variable 'GTID_MODE'"}
    assert all(line.field("job") == CRASH_LOOP_JOB or line.field("job") for line in errors)


def test_plain_and_json_and_the_level_filter(sim):
    ver = sim.dialect
    status, ctype, body = read_stream(sim, sim.nomad_addr + "/v1/agent/monitor",
                                      {"node_id": node_id(sim), "log_level": "error", "plain": "true"},
                                      lambda b: b"GTID_MODE" in b and b.endswith(b"\n"))
    want = meta(ver, "monitorplain")
    assert (status, ctype) == (want["status"], want["Content-Type"])
    assert body and all("[ERROR]" in line for line in body.decode().splitlines())
    status, ctype, body = read_stream(sim, sim.nomad_addr + "/v1/agent/monitor",
                                      {"node_id": node_id(sim), "log_level": "info", "plain": "true",
                                       "log_json": "true"}, lambda b: b"GTID_MODE" in b and b.endswith(b"\n"))
    assert (status, ctype) == (meta(ver, "monitorjson")["status"], meta(ver, "monitorjson")["Content-Type"])
    recorded = (REAL / ver / "agent_monitor" / "monitorjson.body").read_text().splitlines()[0]
    first = body.decode().splitlines()[0]
    assert list(__import__("json").loads(first))[:4] == list(__import__("json").loads(recorded))[:4]
    assert all(parse_line(line).level in ("info", "warn", "error") for line in body.decode().splitlines())


def test_a_client_agent_streams_its_own_log_without_node_id(sim):
    agent = sim.dtle_apis.of("dtle-node-1").agent.addr
    status, _ctype, body = read_stream(sim, agent + "/v1/agent/monitor", {"log_level": "debug"},
                                       lambda b: b"Data" in b and b"StartTask" in _decoded(b))
    assert status == 200 and b"StartTask" in _decoded(body)


def test_refusals(sim):
    url = sim.nomad_addr + "/v1/agent/monitor"
    down = node_id(sim, "dtle-node-3")
    assert loopback.get(url, params={"node_id": "6f3c9b1e-5d1a-11ee-9b8d-0242ac120002"}).status_code == 404
    assert (loopback.get(url, params={"node_id": down}).status_code,
            loopback.get(url, params={"node_id": down}).text) == (404, "No path to node")
    bad = loopback.get(url, params={"node_id": node_id(sim), "log_level": "loud"})
    assert (bad.status_code, bad.text) == (400, "Unknown log level")
    bad = loopback.get(url, params={"node_id": node_id(sim), "plain": "maybe"})
    assert bad.status_code == 400 and bad.text.startswith("Unknown option for plain")


@pytest.mark.parametrize("dialect", ["0.11", "1.1"])
def test_agent_read_is_needed_under_acls(dialect):
    with SimCluster(dialect=dialect, seed=4, frozen=True, acl_tokens={s: k for k, s in TOKENS.items()}) as sim:
        url, params = sim.nomad_addr + "/v1/agent/monitor", {"node_id": node_id(sim)}
        assert (loopback.get(url, params=params).status_code, loopback.get(url, params=params).text) == \
            (403, "Permission denied")
        refused = loopback.get(url, params=params, headers={"X-Nomad-Token": TOKENS["read"]})
        assert (refused.status_code, refused.text) == (403, "Permission denied")
        status, _ctype, body = read_stream(sim, url, params, lambda b: b"Data" in b,
                                           headers={"X-Nomad-Token": TOKENS["management"]})
        assert status == 200 and FRAMES.fullmatch(body)
