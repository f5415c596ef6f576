"""dtle's /v2/monitor/task answers (dtle-monitor.md §1.4-§1.6) and the figures made of them (§2)."""

from __future__ import annotations

import json

import pytest

from dtle_tui.model.monitor import (
    FROZEN_AFTER_S,
    TaskMonitor,
    TaskReading,
    dtle_plugin_config,
    error_message,
    frozen_since,
    host_of,
    job_progress,
    parse_backlog,
    parse_eta,
    parse_task_monitor,
)
from dtle_tui.model.wire import ParseError
from tests.helpers.paths import FIXTURES

# The two derived bodies of the reference (§1.6), verbatim.
KAFKA = ('{"tasks_status":{"current_coordinates":{"file":"mysql-bin.000003","position":1234,"gtid_set":"<uuid>:1-100",'
         '"relay_master_log_file":"","read_master_log_pos":0,"retrieved_gtid_set":""},'
         '"delay_count":{"num":0,"time":0},"progress_PCT":"","exec_master_row_count":0,"exec_master_tx_count":0,'
         '"read_master_row_count":0,"read_master_tx_count":0,"ETA":"","backlog":"","throughput_status":null,'
         '"nats_message_status":{"in_messages":0,"out_messages":0,"in_bytes":0,"out_bytes":0,"reconnects":0},'
         '"buffer_status":{"binlog_event_queue_size":0,"extractor_tx_queue_size":0,"applier_tx_queue_size":0,'
         '"send_by_timeout":0,"send_by_size_full":0},"stage":"","timestamp":1620882952},"message":"ok"}')
NIL_RUNNER = ('{"tasks_status":{"current_coordinates":null,"delay_count":null,"progress_PCT":"",'
              '"exec_master_row_count":0,"exec_master_tx_count":0,"read_master_row_count":0,"read_master_tx_count":0,'
              '"ETA":"","backlog":"","throughput_status":null,"nats_message_status":{"in_messages":0,"out_messages":0,'
              '"in_bytes":0,"out_bytes":0,"reconnects":0},"buffer_status":{"binlog_event_queue_size":0,'
              '"extractor_tx_queue_size":0,"applier_tx_queue_size":0,"send_by_timeout":0,"send_by_size_full":0},'
              '"stage":"","timestamp":0},"message":"ok"}')


def docs_sample() -> dict:
    return json.loads((FIXTURES / "reference" / "dtle_v2_monitor_task_response_docs.json").read_text())


def test_docs_sample_is_read_field_by_field():
    m = parse_task_monitor(docs_sample())
    assert m.progress == 100.0 and m.progress_text == "100.0"
    assert (m.exec_rows, m.read_rows, m.exec_tx, m.read_tx) == (4, 4, 958859, 958859)
    assert m.eta_text == "0s" and m.eta_s == 0
    assert m.backlog == (0, 128)
    assert m.delay_s == 0
    assert (m.file, m.position, m.gtid_set) == ("mysql-bin.000001", 154, "00003307-1111-1111-1111-111111111111:1-24")
    assert m.stage.startswith("Master has sent all binlog")
    assert m.timestamp == 1620882952091441700 and not m.kafka_like and m.has_runner


def test_kafka_and_nil_runner_bodies():
    kafka = parse_task_monitor(json.loads(KAFKA))
    assert kafka.kafka_like and kafka.progress is None and kafka.backlog is None and kafka.eta_s is None
    assert kafka.file == "mysql-bin.000003" and kafka.delay_s == 0
    nil = parse_task_monitor(json.loads(NIL_RUNNER))
    assert not nil.has_runner and not nil.kafka_like and nil.delay_s is None and nil.progress is None


def test_src_gtid_with_newlines_reads_as_one_set():
    body = docs_sample()
    body["tasks_status"]["current_coordinates"]["gtid_set"] = "a:1-16,\nb:1-6"  # issue #636's raw form
    assert parse_task_monitor(body).gtid_set == "a:1-16,b:1-6"


def test_error_bodies_are_not_answers():
    error = {"message": "can not find the task. allocation_id=x task_name=dest"}
    with pytest.raises(ParseError, match="can not find the task"):
        parse_task_monitor(error)
    with pytest.raises(ParseError):
        parse_task_monitor([1, 2])
    assert error_message({"message": "invalid params:\nKey: 'A'\nKey: 'B'"}) == "invalid params: Key: 'A' Key: 'B'"
    assert error_message("nope") == ""


@pytest.mark.parametrize("text, seconds", [("0s", 0), ("45s", 45), ("3m0s", 180), ("1h2m3s", 3723),
                                           ("N/A", None), ("", None), ("soon", None), ("5m", 300)])
def test_eta(text, seconds):
    assert parse_eta(text) == seconds


@pytest.mark.parametrize("text, value", [("3/96", (3, 96)), ("0/16", (0, 16)), ("", None), ("x/9", None)])
def test_backlog(text, value):
    assert parse_backlog(text) == value


def reading(task: str, at: float = 0.0, still: float | None = None, **fields) -> TaskReading:
    return TaskReading(task, TaskMonitor(**fields), None, at, still)


def test_full_copy_takes_the_dest_and_marks_over_100():
    dest = reading("dest", progress_text="57.3", exec_rows=573, read_rows=1000, eta_text="3m0s", backlog_text="2/16")
    src = reading("src", progress_text="60.0", exec_rows=600, read_rows=1000, eta_text="2m0s")
    p = job_progress("full", src, dest)
    assert (p.phase, p.percent, p.percent_from, p.rows_done, p.rows_estimated) == ("full", 57.3, "dest", 573, 1000)
    assert p.eta_s == 180 and p.backlog == (2, 16) and p.delay_s is None and not p.over_100
    over = job_progress("full", None, reading("dest", progress_text="104.2", exec_rows=1042, read_rows=1000))
    assert over.over_100 and any("over 100" in n and "table_rows" in n for n in over.notes)


def test_full_copy_falls_back_to_src_and_says_so():
    src = reading("src", progress_text="40.0", exec_rows=400, read_rows=1000, eta_text="N/A")
    failed = TaskReading("dest", None, "dtle API answered 500: can not find the task", 0.0)
    p = job_progress("full", src, failed)
    assert p.percent == 40.0 and p.percent_from == "src" and p.eta_s is None and p.eta_text == "N/A"
    assert any("dest not readable" in n for n in p.notes)
    assert p.errors == ("dest: dtle API answered 500: can not find the task",)
    assert any("no running dest" in n for n in job_progress("full", src, None).notes)


def test_incremental_shows_the_larger_delay_and_the_dest_position():
    src = reading("src", delay_s=7, backlog_text="5/128", file="mysql-bin.000009", position=99, progress_text="98.7")
    dest = reading("dest", delay_s=3, backlog_text="4/96", file="mysql-bin.000008", position=42, gtid_set="u:1-5",
                   progress_text="103.0")
    p = job_progress("incr", src, dest)
    assert p.phase == "incr" and p.delay_s == 7 and p.backlog == (4, 96)
    assert (p.file, p.position, p.gtid_set) == ("mysql-bin.000008", 42, "u:1-5")
    assert p.percent is None  # the frozen src figure and the estimate-ridden dest one are not progress now
    skewed = job_progress("incr", None, reading("dest", delay_s=-4))
    assert skewed.delay_s == -4 and any("clock" in n for n in skewed.notes)


def test_kafka_dest_gives_delay_and_position_only():
    dest = TaskReading("dest", parse_task_monitor(json.loads(KAFKA)), None, 0.0)
    src = reading("src", delay_s=2, progress_text="100.0", exec_rows=10, read_rows=10, backlog_text="0/128")
    p = job_progress("", src, dest)
    assert p.kafka and p.delay_s == 2 and p.file == "mysql-bin.000003"
    assert p.percent is None and p.backlog is None and p.eta_text == "" and p.rows_done is None


def test_phase_without_stage_events_comes_from_the_dest_backlog():
    assert job_progress("", None, reading("dest", progress_text="10.0", backlog_text="1/16")).phase == "full"
    assert job_progress("unknown", None, reading("dest", delay_s=1, backlog_text="1/96")).phase == "incr"


def test_a_delay_frozen_with_the_gtid_is_marked_after_the_threshold():
    a = TaskMonitor(delay_s=265, gtid_set="u:1-9", position=4567)
    assert frozen_since(None, a, None, 0.0) is None
    since = frozen_since(a, TaskMonitor(delay_s=265, gtid_set="u:1-9", position=4567), None, 100.0)
    assert since == 100.0
    assert frozen_since(a, TaskMonitor(delay_s=265, gtid_set="u:1-9", position=4567), since, 103.0) == 100.0
    # A delay that grows while the Gtid stands still is as stuck (issue 22 item 3); one that shrinks is not.
    assert frozen_since(a, TaskMonitor(delay_s=266, gtid_set="u:1-9", position=4567), since, 103.0) == 100.0
    assert frozen_since(a, TaskMonitor(delay_s=12, gtid_set="u:1-9", position=4567), since, 103.0) is None
    assert frozen_since(a, TaskMonitor(delay_s=265, gtid_set="u:1-10", position=4567), since, 103.0) is None
    idle = TaskMonitor(delay_s=0, gtid_set="u:1-9")
    assert frozen_since(idle, idle, None, 1.0) is None  # an idle job's delay is 0: nothing frozen
    early = job_progress("incr", None, reading("dest", still=100.0, delay_s=265), now=100.0 + FROZEN_AFTER_S - 1)
    assert not early.delay_frozen
    late = job_progress("incr", None, reading("dest", still=100.0, delay_s=265), now=100.0 + FROZEN_AFTER_S)
    assert late.delay_frozen and late.delay_frozen_since == 100.0


def test_dtle_plugin_config_from_agent_self():
    # config.Plugins as live 0.11.1 / 1.1.2 agents answer it (dtle-monitor.md §7), with a dtle entry.
    dtle = {"api_addr": "0.0.0.0:8290", "nomad_addr": "127.0.5.5:4646"}
    agent = {"config": {"Plugins": [{"Args": None, "Config": {"enabled": True}, "Name": "raw_exec"},
                                    {"Args": None, "Config": dtle, "Name": "dtle"}]}}
    conf = dtle_plugin_config(agent)
    assert (conf.api_port, conf.nomad_addr, conf.found) == (8290, "127.0.5.5:4646", True)
    bare = dtle_plugin_config({"config": {"Plugins": [{"Args": None, "Config": {}, "Name": "dtle"}]}})
    assert (bare.api_port, bare.nomad_addr, bare.found) == (None, "127.0.0.1:4646", True)
    assert not dtle_plugin_config({"config": {"Plugins": [{"Args": None, "Config": {"enabled": True},
                                                           "Name": "raw_exec"}]}}).found
    assert not dtle_plugin_config("garbage").found
    assert host_of("127.0.3.21:4646") == "127.0.3.21" and host_of("[::1]:4646") == "::1"


def test_kept_dest_figures_give_way_to_fresh_src_ones():
    kept = TaskReading("dest", TaskMonitor(progress_text="50.0", exec_rows=50, read_rows=100), "timed out", 0.0)
    src = reading("src", progress_text="52.0", exec_rows=52, read_rows=100)
    p = job_progress("full", src, kept)
    assert p.percent_from == "src" and p.errors == ("dest: timed out",)
    alone = job_progress("full", None, kept)  # nothing fresher: the dest's last figures, with the error
    assert alone.percent == 50.0 and alone.percent_from == "dest" and alone.errors == ("dest: timed out",)


def test_dtle4_dummy_answers_and_a_task_without_runner_are_said_for_what_they_are():
    dummy = reading("dest", stage="TODO", progress_text="0.0")
    assert any("dtle 4.x" in n for n in job_progress("full", None, dummy).notes)
    nil = TaskReading("dest", parse_task_monitor(json.loads(NIL_RUNNER)), None, 0.0)
    p = job_progress("incr", None, nil)
    assert p.delay_s is None and any("no runner" in n and "paused" in n for n in p.notes)


def test_markdown_for_the_incident_report_escapes_the_wire():
    dest = reading("dest", progress_text="104.2", exec_rows=1042, read_rows=1000, eta_text="0s",
                   backlog_text="3/16", file="mysql|bin.000001", position=9)
    text = job_progress("full", None, dest).markdown()
    lines = text.splitlines()
    assert lines[:2] == ["| Figure | Value |", "|---|---|"]
    assert "| full copy | 104.2 % (from dest) |" in lines
    assert "| rows | 1042 of about 1000 (InnoDB table_rows estimate) |" in lines
    assert "| applied position | mysql\\|bin.000001:9 |" in lines
    assert any(line.startswith("| note | over 100 %") for line in lines)
    assert all(line.count("|") - line.count("\\|") == 3 for line in lines)
