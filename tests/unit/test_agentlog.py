"""The agent log from /v1/agent/monitor: frames and plain text decoded incrementally, dtle's lines parsed and
one allocation's lines picked, against the verbatim recordings (tests/fixtures/real-nomad/<ver>/agent_monitor,
tests/fixtures/real-dtle/3.21.11.0/90_nomad_agent_log_dtle_lines.txt)."""

from __future__ import annotations

import base64
import json

import pytest

from dtle_tui.model.agentlog import (
    AllocationLog,
    MonitorDecoder,
    belongs_to,
    decode_monitor,
    level_at_least,
    line_task,
    parse_line,
)
from tests.helpers.paths import FIXTURES

MONITOR = FIXTURES / "real-nomad"
DTLE = (FIXTURES / "real-dtle" / "3.21.11.0" / "90_nomad_agent_log_dtle_lines.txt").read_bytes()
MARIA_SRC, MARIA_DEST = "1394932c-4599-a6e9-e833-52bec299b74b", "d18af79b-bc75-4282-6d08-35ff06b77d8f"
CLOSED_DEST = "d8d66383-e4de-3ad7-1021-a7a35393cc1b"


def body(ver: str, name: str) -> bytes:
    return (MONITOR / ver / "agent_monitor" / f"{name}.body").read_bytes()


def in_pieces(data: bytes, size: int, framed: bool) -> list:
    decoder = MonitorDecoder(framed)
    out = []
    for cut in range(0, len(data), size):
        out += decoder.feed(data[cut: cut + size])
    return out + decoder.close()


@pytest.mark.parametrize("ver", ["0.11.1", "1.1.2"])
def test_framed_recording_decodes_to_its_lines_however_it_is_cut(ver):
    data = body(ver, "monitor")
    frames = [json.loads("{" + part) for part in data.decode().lstrip("{").split("{") if part]
    expected = b"".join(base64.b64decode(f["Data"]) for f in frames if f)
    lines = decode_monitor(data)
    assert [line.text for line in lines] == expected.decode().splitlines()
    assert lines and all(line.level == "debug" and line.module == "http" for line in lines)
    assert lines[0].message == "request complete" and lines[0].field("method") == "GET"
    for size in (1, 3, 7, 64, 1000):
        assert in_pieces(data, size, True) == lines
    decoder = MonitorDecoder()
    decoder.feed(data)
    assert decoder.heartbeats == data.count(b"{}") and decoder.frames == len([f for f in frames if f])


@pytest.mark.parametrize("ver", ["0.11.1", "1.1.2"])
def test_plain_and_json_recordings(ver):
    plain = body(ver, "monitorplain")
    lines = decode_monitor(plain, framed=False)
    heads = [line for line in lines if not line.continuation]
    assert len(heads) == sum(1 for text in plain.decode().splitlines() if text[:4].isdigit())
    assert in_pieces(plain, 5, False) == lines
    for line in decode_monitor(body(ver, "monitorjson"), framed=False):
        assert (line.level, line.module, line.message) == ("debug", "http", "request complete")
        assert line.field("method") == "GET" and line.time_text.startswith("2026-12-07T14:34:")


def test_a_multi_line_entry_keeps_its_continuations_with_its_level():
    lines = decode_monitor(body("1.1.2", "monitorplain"), framed=False)
    head = next(i for i, line in enumerate(lines) if line.message == "destroying executor failed")
    assert lines[head].level == "error" and lines[head].field("err").startswith("rpc error: code = Unknown")
    assert lines[head + 1].continuation and lines[head + 1].level == "error"
    assert "no directory specified for freezer.state" in lines[head + 1].text


def test_a_frame_that_is_not_a_frame_is_an_error():
    with pytest.raises(ValueError):
        MonitorDecoder().feed(b"<html>502</html>")
    with pytest.raises(ValueError):
        MonitorDecoder().feed(b'{"Data":"***","FileEvent":"log"}')


def test_dtles_lines_as_recorded():
    lines = decode_monitor(DTLE, framed=False)
    assert len(lines) == len(DTLE.splitlines())
    assert all(line.is_dtle and line.fields[0] == ("driver", "dtle") for line in lines)
    start = next(line for line in lines if line.message == "StartTask" and line.field("taskName") == "src")
    assert (start.field("allocID"), start.field("jobName")) == (MARIA_SRC, "maria")
    assert start.field("ID") == f"{MARIA_SRC}/src/fa614ddf" and start.field("@module") == "dtle"
    error = next(line for line in lines if line.message == "onError")
    assert (error.level, error.field("err"), error.field("job")) == \
        ("error", "Error 1193: Unknown system variable 'SERVER_UUID'", "maria")
    assert error.dtle_module == "dtle.applier" and line_task(error) == "dest"
    empty = next(line for line in lines if line.message == "Got gtid from consul")
    assert empty.field("gtid") == ""  # `gtid= job=maria`
    api = next(line for line in lines if line.message.startswith("invoke nomad api begin :"))
    assert api.message == "invoke nomad api begin : nodesUrl" and api.field("@module") == "http_api.NodeListV2"


def test_one_allocations_lines_by_id_job_and_task():
    lines = decode_monitor(DTLE, framed=False)
    src = AllocationLog(MARIA_SRC, "maria", "src").pick(lines)
    messages = [line.message for line in src]
    assert messages[0] == "StartTask" and "onError" in messages and "DestroyTask" in messages
    errors = [line.field("err") for line in src if line.message == "onError"]
    assert errors == ["Error 1193: Unknown system variable 'GTID_MODE'"]  # the src's, not the dest's
    assert all(line.field("job") in (None, "maria") and line.field("jobName") in (None, "maria") for line in src)
    assert not any(MARIA_DEST in line.text for line in src)
    dest = AllocationLog(MARIA_DEST, "maria", "dest").pick(lines)
    assert {line.field("err") for line in dest if line.message == "onError"} == {
        "Error 1193: Unknown system variable 'SERVER_UUID'", "WatchTargetGtid. got nil kv. might have been shutdown"}
    closed = AllocationLog(CLOSED_DEST, "closed", "dest").pick(lines)
    assert [line.field("err") for line in closed if line.message == "onError"] == \
        ["dial tcp 127.0.0.1:3399: connect: connection refused"]
    assert not set(map(id, src)) & set(map(id, dest))
    # Nomad's own lines naming the allocation (alloc_id=) count too; another allocation's never do.
    nomad = parse_line(f"2026-12-07T14:34:19.726Z [WARN]  client.alloc_runner.task_runner: restarting: "
                       f"alloc_id={MARIA_SRC} task=src")
    assert belongs_to(nomad, MARIA_SRC, "maria", "src") and not belongs_to(nomad, MARIA_DEST, "maria", "dest")


def test_levels():
    assert level_at_least("error", "info") and level_at_least("info", "info")
    assert not level_at_least("debug", "info") and level_at_least("warn", "WARN")
