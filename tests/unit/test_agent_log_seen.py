"""live/agentlogs.py's pure parts against the recorded real dtle 3.21.11.0: a task's driver and when its
next lines can come from a whole allocation, the lines of one allocation shortened for a narrow view, and
the memory of the lines seen (bounded, without repeats, filtered by level)."""

from __future__ import annotations

import json

from dtle_tui.live.agentlogs import SeenLines, task_driver, task_note
from dtle_tui.model.agentlog import AllocationLog, decode_monitor, parse_line, short_text
from tests.helpers.paths import FIXTURES

REAL = FIXTURES / "real-dtle" / "3.21.11.0"
MARIA_SRC = "1394932c-4599-a6e9-e833-52bec299b74b"  # job maria's src: GTID_MODE at every start, then a delay


def allocation(alloc_id: str) -> dict:
    return json.loads((REAL / f"10_v1_allocation_{alloc_id}.json").read_text())


def agent_log() -> list:
    return decode_monitor((REAL / "90_nomad_agent_log_dtle_lines.txt").read_bytes(), framed=False)


def test_the_recorded_allocation_names_its_tasks_driver():
    alloc = allocation(MARIA_SRC)
    assert task_driver(alloc, "src") == "dtle"
    assert task_driver(alloc, "nosuch") == ""
    assert task_driver({"TaskGroup": "src"}, "src") == ""  # a stub carries no job: unknown, not "not dtle"


def test_a_task_waiting_out_its_restart_delay_says_when_its_next_lines_can_come():
    alloc = allocation(MARIA_SRC)
    state = alloc["TaskStates"]["src"]
    restarting = state["Events"][-1]
    assert "applying a delay" in restarting["DisplayMessage"]
    next_try_s = (restarting["Time"] + restarting["StartDelay"]) / 1e9
    note = task_note("src", state, next_try_s - 9 * 60)
    assert note.startswith("src is between restarts: next lines at its next try, ") and note.endswith("(in 9m)")
    assert task_note("src", state, next_try_s + 1).endswith("(now)")


def test_running_dead_and_not_started_tasks():
    started = {"State": "running", "Events": [{"Type": "Started", "Time": 1}]}
    assert task_note("src", started, 0) == ""
    gave_up = 'Exceeded allowed attempts 2 in interval 30m0s and mode is "fail"'
    dead = {"State": "dead", "Failed": True, "Events": [
        {"Type": "Terminated", "Time": 1, "ExitCode": 2},
        {"Type": "Not Restarting", "Time": 2, "RestartReason": gave_up}]}
    assert task_note("dest", dead, 0) == f"dest is dead ({gave_up}): no more lines will come from it"
    pending = {"State": "pending", "Events": []}
    assert task_note("dest", pending, 0) == "dest has not started: its lines come when it starts"


def test_one_allocations_lines_shortened_for_a_narrow_view():
    mine = AllocationLog(MARIA_SRC, "maria", "src").pick(agent_log())
    assert mine, "the recording holds maria's src lines"
    today = mine[0].time_text[:10]
    shown = [short_text(line, today) for line in mine]
    start_line = next(line for line in mine if line.message == "StartTask")
    start = short_text(start_line, today)
    assert start.startswith(start_line.time_text[11:] + " [INFO]  StartTask: ")  # "14:22:18.577Z …"
    assert "client.driver_mgr.dtle" not in start and "driver=dtle" not in start and "timestamp=" not in start
    assert f"allocID={MARIA_SRC}" in start
    error = next(text for text in shown if "onError" in text)
    assert error.split(" ", 1)[1].startswith("[ERROR] onError: ")
    assert 'err="Error 1193: Unknown system variable' in error
    # Another day's line keeps its date; lines that are not dtle's stay as written.
    assert short_text(mine[0], "1999-01-01").startswith(mine[0].time_text)
    other = parse_line("2026-12-07T14:34:08.016Z [DEBUG] http: request complete: method=GET path=/v1/jobs")
    assert short_text(other, "2026-12-07") == other.text


def test_seen_lines_are_bounded_kept_once_and_filtered_by_level():
    lines = agent_log()
    seen = SeenLines(per_allocation=5, allocations=2)
    assert not seen.followed("nomad-a", "a1") and seen.lines("nomad-a", "a1") == []
    seen.follow("nomad-a", "a1")
    assert seen.followed("nomad-a", "a1") and seen.lines("nomad-a", "a1") == []
    seen.add("nomad-a", "a1", lines[:3])
    seen.add("nomad-a", "a1", lines[:3])  # a second stream a moment later: nothing kept twice
    assert seen.lines("nomad-a", "a1") == lines[:3]
    seen.add("nomad-a", "a1", lines[3:10])
    assert seen.lines("nomad-a", "a1") == lines[5:10]  # the newest five
    assert seen.lines("nomad-b", "a1") == []  # per cluster
    infos = [line for line in lines[5:10] if line.level in ("info", "warn", "error")]
    assert seen.lines("nomad-a", "a1", "info") == infos and len(infos) < 5
    seen.add("nomad-a", "a2", lines[:1])
    seen.add("nomad-a", "a3", lines[:1])
    assert not seen.followed("nomad-a", "a1")  # the allocation seen longest ago goes first
    assert seen.followed("nomad-a", "a3")
