"""Task events: DisplayMessage as Nomad computes it (nomad-api.md §4.3) and "why it failed" (dtle.md §6)."""

from __future__ import annotations

import pytest

from dtle_tui.model.allocations import parse_allocations
from dtle_tui.model.wire import go_duration

S = 1_000_000_000


def one_task(events: list, *, client_status: str = "running", failed: bool = False, restarts: int = 0,
             description: str = ""):
    (alloc,) = parse_allocations([{
        "ID": "a" * 36, "TaskGroup": "dest", "ClientStatus": client_status, "ClientDescription": description,
        "TaskStates": {"dest": {"State": "dead" if failed else "running", "Failed": failed, "Restarts": restarts,
                                "Events": [dict(e, Time=e.get("Time", i * S)) for i, e in enumerate(events)]}},
    }])
    return alloc


@pytest.mark.parametrize("event, text", [
    ({"Type": "Received"}, "Task received by client"),
    ({"Type": "Started"}, "Task started by client"),
    ({"Type": "Task Setup", "Message": "Building Task Directory"}, "Building Task Directory"),
    ({"Type": "Driver", "DriverMessage": "job_stage_full"}, "job_stage_full"),
    ({"Type": "Terminated", "ExitCode": 2}, "Exit Code: 2"),
    ({"Type": "Terminated", "ExitCode": 1, "Signal": 9, "Message": 'DstPutNats: "nats" down'},
     'Exit Code: 1, Signal: 9, Exit Message: "DstPutNats: \\"nats\\" down"'),
    ({"Type": "Killing", "KillTimeout": 5 * S}, "Sent interrupt. Waiting 5s before force killing"),
    ({"Type": "Killing", "KillReason": "stopped by operator"}, "stopped by operator"),
    ({"Type": "Killed"}, "Task successfully killed"),
    ({"Type": "Restarting", "StartDelay": 2087756415, "RestartReason": "Restart within policy"},
     "Restart within policy - Task restarting in 2.087756415s"),
    ({"Type": "Not Restarting"}, "Task exceeded restart policy"),
    ({"Type": "Driver Failure"}, "Failed to start task"),
    ({"Type": "Driver Failure", "DriverError": "invalide driver config"}, "invalide driver config"),
    ({"Type": "Sibling Task Failed", "FailedSibling": "src"}, 'Task\'s sibling "src" failed'),
    ({"Type": "Leader Task Dead"}, "Leader Task in Group dead"),
    ({"Type": "Setup Failure", "SetupError": "no space"}, "no space"),
    ({"Type": "Whatever", "Message": "m"}, "m"),
])
def test_display_message_computed_when_absent(event, text):
    (ev,) = one_task([event]).task_states[0].events
    assert ev.display_message == text and ev.text == text


def test_server_display_message_wins():
    (ev,) = one_task([{"Type": "Received", "DisplayMessage": "from server"}]).task_states[0].events
    assert ev.text == "from server"


@pytest.mark.parametrize("ns, text", [
    (0, "0s"), (500_000_000, "500ms"), (1_500, "1.5µs"), (7, "7ns"), (5 * S, "5s"), (2087756415, "2.087756415s"),
    (600 * S, "10m0s"), (3600 * S, "1h0m0s"), (3725 * S + 5 * 10**8, "1h2m5.5s"), (-S, "-1s"),
])
def test_go_duration(ns, text):
    assert go_duration(ns) == text


def test_dtle_error_exit_1_while_restarting():
    # The job stays "running" while tasks fail and restart (dtle.md §6): the text still says why.
    alloc = one_task([
        {"Type": "Started"},
        {"Type": "Terminated", "ExitCode": 1, "Message": "GetGtidFromConsul: connection refused",
         "Details": {"exit_message": "GetGtidFromConsul: connection refused"}},
        {"Type": "Restarting", "RestartReason": "Restart within policy", "StartDelay": 15 * S},
        {"Type": "Started"},
    ], restarts=1)
    assert alloc.restarts == 1 and alloc.client_status == "running"
    assert alloc.error_text == 'dest: Exit Code: 1, Exit Message: "GetGtidFromConsul: connection refused"'


def test_clean_exit_is_not_an_error():
    alloc = one_task([{"Type": "Started"}, {"Type": "Terminated", "ExitCode": 0}], client_status="complete")
    assert alloc.task_states[0].last_error is None and alloc.error_text is None


def test_driver_failure_then_not_restarting():
    alloc = one_task([
        {"Type": "Driver Failure", "DriverError": "invalide driver config, errors: Gtid"},
        {"Type": "Not Restarting", "RestartReason": "Error was unrecoverable", "FailsTask": True},
    ], client_status="failed", failed=True)
    assert alloc.error_text == ("dest: invalide driver config, errors: Gtid; "
                                "Not Restarting: Error was unrecoverable")


def test_verdict_without_cause_left_in_last_10_events():
    alloc = one_task([{"Type": "Not Restarting", "RestartReason": "Exceeded allowed attempts 3"}],
                     client_status="failed", failed=True)
    assert alloc.error_text == "dest: Not Restarting: Exceeded allowed attempts 3"


def test_lost_allocation_without_events_uses_client_description():
    alloc = one_task([], client_status="lost", description="alloc is lost since its node is down")
    assert alloc.error_text == "alloc is lost since its node is down"
    assert one_task([], client_status="failed").error_text == "failed"


def test_a_new_cause_clears_an_older_verdict():
    alloc = one_task([
        {"Type": "Terminated", "ExitCode": 2},
        {"Type": "Not Restarting", "RestartReason": "old"},
        {"Type": "Terminated", "ExitCode": 1, "Message": "NatsAddr changed to x. will restart dst"},
    ], restarts=2)
    assert "NatsAddr changed" in alloc.error_text and "old" not in alloc.error_text


def test_events_sorted_by_time():
    alloc = one_task([{"Type": "Started", "Time": 5 * S}, {"Type": "Received", "Time": 1 * S}])
    assert [e.type for e in alloc.task_states[0].events] == ["Received", "Started"]
    assert alloc.task_states[0].events[0].time.timestamp() == 1
