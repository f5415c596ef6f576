"""The incident report (ops/incident.py): what it says, what it hides, how it is written."""

from __future__ import annotations

import copy
import json
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from dtle_tui.config.settings import NomadSettings, Settings
from dtle_tui.live.snapshot import AllocCounts, FeedState, JobRow, OpenView, Snapshot, build_detail
from dtle_tui.model.allocations import parse_allocations
from dtle_tui.model.gtid import positions_from_kv
from dtle_tui.model.jobs import parse_job
from dtle_tui.model.nodes import parse_nodes
from dtle_tui.model.stage import Stage
from dtle_tui.ops import audit
from dtle_tui.ops.incident import build_report, code_block, md_cell, report_job, write_report
from tests.helpers.paths import FIXTURES

S = 1_000_000_000
T0 = 1_764_000_000 * S  # 2025-11-24 16:00:00Z
PASSWORD = "Zq9-very-secret"
TOKEN = "3f1c0e2a-nomad-token-value"
GTID = "4806aa81-04a1-11ee-282e-db87336b1a45:1-43957"


def job():
    spec = copy.deepcopy(json.loads((FIXTURES / "reference" / "dtle_job_example.json").read_text())["Job"])
    for group in spec["TaskGroups"]:
        for task in group["Tasks"]:  # dtle 3.x: Config.ConnectionConfig.Password (dtle.md §7)
            task["Config"]["ConnectionConfig"]["Password"] = PASSWORD
    return parse_job(spec)


def event(kind: str, at: int, **fields) -> dict:
    return {"Type": kind, "Time": T0 + at * S, "Details": {}, **fields}


def allocations() -> list:
    failing = {
        "ID": "88c9da8a-0000-4000-8000-000000000001", "JobID": "job1", "TaskGroup": "dest", "NodeID": "node-b",
        "NodeName": "", "DesiredStatus": "run", "ClientStatus": "failed", "CreateIndex": 20,
        "CreateTime": T0 + 100 * S, "TaskStates": {"dest": {"State": "dead", "Failed": True, "Restarts": 2, "Events": [
            event("Started", 110, DisplayMessage="Task started by client"),
            event("Driver", 120, DriverMessage="job_stage_full", DisplayMessage="job_stage_full"),
            event("Driver", 300, DriverMessage="job_stage_incr", DisplayMessage="job_stage_incr"),
            event("Terminated", 400, ExitCode=1, DisplayMessage=(
                f"Exit Code: 1, Exit Message: \"dsn root:{PASSWORD}@tcp(127.0.9.9:3306) | col `a` ```x```\"")),
        ]}},
    }
    src = {
        "ID": "1abb8ba3-0000-4000-8000-000000000002", "JobID": "job1", "TaskGroup": "src", "NodeID": "node-a",
        "NodeName": "dtle-node-1", "DesiredStatus": "run", "ClientStatus": "running", "CreateIndex": 10,
        "CreateTime": T0, "TaskStates": {"src": {"State": "running", "Events": [
            event("Received", 1, DisplayMessage="Task received by client")]}},
    }
    return parse_allocations([failing, src])


def nodes():
    return parse_nodes([{"ID": "node-a", "Name": "dtle-node-1", "Address": "127.0.3.21", "Status": "ready"},
                        {"ID": "node-b", "Name": "dtle-node-2", "Address": "127.0.3.22", "Status": "ready"}])


def row(**kw) -> JobRow:
    base = dict(id="job1", status="running", stage=Stage.INCREMENTAL, stage_since_ns=T0 + 300 * S,
                src=AllocCounts(running=1), dest=AllocCounts(failed=1), transactions=43957, gtid_text=GTID,
                binlog=None, rate=0.0, stalled=True, submit_time_ns=T0, stop=False)
    base.update(kw)
    return JobRow(**base)


def position():
    return positions_from_kv([("dtle/job1/Gtid", GTID.encode(), 7),
                              ("dtle/job1/BinlogFilePos", b"mysql-bin.000123//dtle//4567", 7)])["job1"]


def report(**kw) -> str:
    detail = build_detail("job1", job(), allocations(), None)
    args = dict(cluster="prod", now=(T0 + 1000 * S) / 1e9, row=row(), position=position(), rate=0.0,
                advanced_s=600.0, nodes=nodes(), stall_threshold_s=300, secrets=[TOKEN])
    args.update(kw)
    return build_report(detail, **args)


def section(text: str, title: str) -> str:
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_report_says_status_stage_endpoints_and_position() -> None:
    text = report()
    assert text.startswith("# Incident report: dtle job job1\n")
    status = section(text, "Status")
    assert "| Status | running |" in status
    assert "| Stage | incr since 2025-11-24 16:05:00Z (11m ago) |" in status
    assert "| STALLED | yes: the Gtid has not moved for 5m" in status
    assert "| Source | 127.0.0.1:3307 \\[db1\\] |" in status and "| Destination |" in status
    assert "| Restarts | 2 (reschedules 0) |" in status
    pos = section(text, "Position (Consul)")
    assert "| Transactions | 43,957 |" in pos and "| Rate | 0.0/s |" in pos
    assert "| Last advance | 10m ago (2025-11-24 16:06:40Z) |" in pos
    assert f"```text\n{GTID}\n```" in pos


def test_timeline_allocations_with_nodes_and_events_newest_first() -> None:
    text = report()
    timeline = section(text, "Stage timeline")
    assert timeline.index("16:02:00Z | full") < timeline.index("16:05:00Z | incr")
    allocs = section(text, "Allocations")
    assert "| 88c9da8a | dest | dtle-node-2 | 127.0.3.22 | run | failed | 2 |" in allocs  # name from /v1/nodes
    assert "| 1abb8ba3 | src | dtle-node-1 | 127.0.3.21 | run | running | 0 |" in allocs
    dest_events = allocs.split("### Task events of allocation 88c9da8a (dest), newest first")[1].split("###")[0]
    times = re.findall(r"^\| (\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ) \|", dest_events, re.M)
    assert times == sorted(times, reverse=True) and len(times) == 4


def test_wire_text_cannot_break_a_table_or_a_code_block() -> None:
    text = report()
    for line in text.splitlines():
        if line.startswith("| 2025-11-24 16:06:40Z | dest | Terminated"):
            # 4 cells: the pipe in the message is escaped, backticks too.
            assert len(re.findall(r"(?<!\\)\|", line)) == 5
            assert "\\`a\\`" in line
            break
    else:
        raise AssertionError("the Terminated event is missing")
    last = section(text, "Last error")
    assert "2025-11-24 16:06:40Z, allocation 88c9da8a:" in last
    assert "\n````text\n" in last and last.rstrip().endswith("````")  # fence longer than the ``` inside
    assert md_cell("a|b`c[d]\nnext") == "a\\|b\\`c\\[d\\]⏎next"
    assert code_block("x\x1b[31mred\x07") == "```text\nxred\\x07\n```"


def test_passwords_and_tokens_never_reach_the_report() -> None:
    text = report(placement={"note": f"token {TOKEN}"})
    assert PASSWORD not in text and TOKEN not in text
    assert "root:******@tcp" in text  # masked where it was, as on screen


def test_actions_of_this_job_from_the_audit_log(tmp_path: Path) -> None:
    state = tmp_path / "state"
    audit.record(state, cluster="prod", action="reset_gtid", job="job1", requests=["DELETE dtle/job1/"],
                 result="done | ok", backup=state / "backups" / "x")
    audit.record(state, cluster="prod", action="delete_job", job="job2", requests=["DELETE /v1/job/job2"],
                 result="done")
    audit.record(state, cluster="staging", action="purge_job", job="job1", requests=["DELETE /v1/job/job1"],
                 result="done")
    from dtle_tui.ops.incident import job_audit

    entries = job_audit(state, "prod", "job1")
    text = report(audit=entries)
    actions = section(text, "Actions taken on this job (audit log)")
    assert "reset\\_gtid" in actions and "DELETE dtle/job1/" in actions and "done \\| ok" in actions
    assert "delete\\_job" not in actions and "purge\\_job" not in actions
    assert "None recorded" in section(report(), "Actions taken on this job (audit log)")


@dataclass(frozen=True)
class Progress:
    delay_s: int
    backlog: str


def test_optional_sections_render_when_the_detail_carries_them() -> None:
    plain = report()
    assert "## Placement failures" not in plain and "## dtle progress and delay" not in plain
    text = report(placement=("dest: missing drivers (dtle) on 3 nodes",), dtle_progress=Progress(4, "0/1024"))
    assert "## Placement failures\n\n- dest: missing drivers (dtle) on 3 nodes" in text
    assert "| delay\\_s | 4 |" in section(text, "dtle progress and delay")


def test_written_0600_in_0700_directories_with_a_safe_name(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = write_report(state, "prod:4646", "../etc/x", "# r\n")
    assert path.parent == state / "reports" / "prod%3A4646"
    assert re.fullmatch(r"%2E\.%2Fetc%2Fx-\d{8}T\d{6}\.\d{3}Z\.md", path.name)  # no "..", no "/"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for d in (state / "reports", path.parent):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    second = write_report(state, "prod:4646", "../etc/x", "# r2\n")
    assert second != path or second.read_text() == "# r2\n"


def test_report_job_from_a_snapshot_and_the_settings(tmp_path: Path) -> None:
    settings = Settings(nomad=NomadSettings(addr="http://127.0.0.1:4646", token=TOKEN), state_dir=tmp_path,
                        context=None, stall_threshold_s=60)
    detail = build_detail("job1", job(), allocations(), None)
    snap = Snapshot(generation=3, rows=(row(),), nodes=tuple(nodes()), positions={"job1": position()},
                    nomad=FeedState(ok_at=1.0), consul=FeedState(ok_at=1.0), open=OpenView(job=detail))
    audit.record(tmp_path, cluster="127.0.0.1:4646", action="delete_job", job="job1", requests=["x"], result="ok")
    path = report_job(settings, snap, "job1", rate=2.5, advanced_s=None, now=(T0 + 1000 * S) / 1e9)
    assert path.parent == tmp_path / "reports" / "127.0.0.1%3A4646"
    text = path.read_text()
    assert "| Rate | 2.5/s |" in text and "not seen advancing" in text and "delete\\_job" in text
    assert PASSWORD not in text and TOKEN not in text
    other = replace(snap, open=OpenView())
    try:
        report_job(settings, other, "job1")
    except Exception as exc:
        assert "not loaded yet" in str(exc)
    else:
        raise AssertionError("a report without the job's detail must be refused")


def test_dtle_log_lines_seen_or_that_none_were() -> None:
    assert "## dtle's log lines seen by this console" not in report()  # not asked for: left out
    none = section(report(dtle_log={}), "dtle's log lines seen by this console").strip()
    assert none.startswith("None seen: dtle writes no stdout/stderr") and "live" in none
    failing = "88c9da8a-0000-4000-8000-000000000001"
    lines = ["2026-12-07T14:22:18.663Z [ERROR] client.driver_mgr.dtle: onError: driver=dtle job=job1 "
             f"@module=dtle.applier err=\"dsn root:{PASSWORD}@tcp(127.0.9.9:3306) ```x```\""]
    seen = section(report(dtle_log={failing: lines}), "dtle's log lines seen by this console")
    assert "### Allocation 88c9da8a (dest), 1 lines, oldest first" in seen
    assert "onError: driver=dtle job=job1" in seen and PASSWORD not in seen  # masked as everywhere
    assert "1abb8ba3" not in seen  # nothing seen of the src: no block for it
    assert seen.count("````") == 2  # the fence outgrows the backticks inside
