"""A dtle task that fails at every start, and what Nomad's restart and reschedule policies make of it.

The recorded real dtle 3.21.11.0 (docs/reference/real-dtle.md §2-§4): each start is `Started`, for a dest
that reached its MySQL a `Driver` event `job_stage_full` (Details null) milliseconds later, then
`Terminated` with exit code 2 and dtle's error as the exit message; nothing on stdout or stderr, the lines
in the client agent's log. Nomad's restart tracker (client/allocrunner/taskrunner/restarts): within the
policy's Interval a restart after Delay plus up to a quarter of it ("Task restarting in 17.48s"); past
Attempts restarts, mode "delay" waits out the interval ("Exceeded allowed attempts, applying a delay -
Task restarting in 9m6.35s", the task and its allocation `pending`), mode "fail" gives up ("Not
Restarting", "Alloc Unhealthy", the allocation failed) and the ReschedulePolicy places a replacement
after its Delay (doubled per earlier reschedule when exponential) while attempts are left.

Steps in the past are played at once (a story built "hours ago"); later ones wait on the cluster clock.
dtle's lines reach the agent's log only once the cluster serves (the monitor is live only: a story's
past left nothing anybody could stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import shapes

if TYPE_CHECKING:
    from .state import Alloc

S = shapes.SEC


@dataclass(frozen=True)
class Failure:
    """What happens to a task at each start."""

    error: str  # dtle's exit message, e.g. "Error 1193: Unknown system variable 'GTID_MODE'"
    stage_event: bool = False  # the dest reached its MySQL and emitted job_stage_full before failing
    run_ms: float = 25.0  # how long each start lives


def policy_of(alloc: Alloc, kind: str) -> dict:
    group = next(g for g in alloc.job["TaskGroups"] if g["Name"] == alloc.task_group)
    return group["RestartPolicy"] if kind == "restart" else group["ReschedulePolicy"]


class CrashLoop:
    """One task of one allocation failing at every start, from `first_start` on. `driver` is the cluster's
    DtleDriver (sim/dtle.py): its state, agent log, stage events and reschedule."""

    def __init__(self, driver, alloc: Alloc, task: str, failure: Failure, first_start: int | None = None,
                 fail_at: int | None = None, replacement: Failure | None = None) -> None:
        """From `first_start`, or (the task runs already) with a first failure at `fail_at`. A replacement
        placed by the reschedule policy fails with `replacement`, or runs when that is None."""
        self.driver, self.alloc, self.task, self.failure = driver, alloc, task, failure
        self.replacement = replacement
        self.window_start: int | None = None  # the restart tracker's interval start
        self.count = 0
        self.first = fail_at is None
        self.handle = f"{driver.state.rng.getrandbits(32):08x}"
        if fail_at is not None:
            self.at(fail_at, self.fail)
        else:
            self.at(first_start if first_start is not None else driver.state.now(), self.start)

    @property
    def st(self):
        return self.driver.state

    def at(self, t: int, step) -> None:
        now = self.st.now()
        if t <= now:
            step(t, live=self.st.streaming)
        else:
            self.st.after((t - now) / S, lambda: step(t, live=self.st.streaming))

    def _stopped(self) -> bool:
        return self.alloc.desired_status != "run" or self.alloc.terminal

    def start(self, t: int, live: bool) -> None:
        alloc, run, st = self.alloc, self.alloc.task_states[self.task], self.st
        with st.lock:
            if self._stopped():
                return
            if self.first:
                run.add(shapes.task_event("Received", t - 212_000_000))
                run.add(shapes.task_event("Task Setup", t - 201_000_000, {"message": "Building Task Directory"},
                                          Message="Building Task Directory"))
                self.first = False
            run.add(shapes.task_event("Started", t))
            run.state, run.started_at = "running", t
            self.handle = f"{st.rng.getrandbits(32):08x}"
            if live:
                self.driver.agent_logs.task_started(alloc.node.id, t, alloc.id, alloc.job_id, self.task, self.handle)
            if self.failure.stage_event and self.task == "dest":
                self.driver.stage(alloc, "job_stage_full", t + 9_000_000)
            alloc.client_status, alloc.client_description = "running", "Tasks are running"
            st.touch(alloc)
        self.at(t + int(self.failure.run_ms * 1_000_000), self.fail)

    def fail(self, t: int, live: bool) -> None:
        alloc, run, st, error = self.alloc, self.alloc.task_states[self.task], self.st, self.failure.error
        with st.lock:
            if self._stopped() or run.state != "running":
                return
            run.add(shapes.task_event("Terminated", t, {"exit_code": "2", "exit_message": error, "oom_killed": "false",
                                                        "signal": "0"}, ExitCode=2, Message=error))
            if live:
                self.driver.agent_logs.task_failed(alloc.node.id, t, alloc.id, alloc.job_id, self.task, self.handle,
                                                   error)
            policy = policy_of(alloc, "restart")
            if self.window_start is None or t - self.window_start > policy["Interval"]:
                self.window_start, self.count = t, 0
            self.count += 1
            then = t + 3_000_000
            if self.count <= policy["Attempts"]:
                delay = policy["Delay"] + st.rng.randrange(max(1, policy["Delay"] // 4))
                reason = "Restart within policy"
            elif policy["Mode"] == "fail":
                self._give_up(t, then, policy)
                return
            else:
                delay = self.window_start + policy["Interval"] - then
                reason = "Exceeded allowed attempts, applying a delay"
            run.add(shapes.task_event("Restarting", then, {"restart_reason": reason, "start_delay": str(delay)},
                                      RestartReason=reason, StartDelay=delay))
            run.restarts += 1
            run.last_restart = then
            run.state = "pending"
            alloc.client_status, alloc.client_description = "pending", "No tasks have started"
            st.touch(alloc)
        self.at(then + delay, self.start)

    def _give_up(self, t: int, then: int, policy: dict) -> None:
        alloc, run, st = self.alloc, self.alloc.task_states[self.task], self.st
        minutes = shapes.format_duration(policy["Interval"])
        reason = f'Exceeded allowed attempts {policy["Attempts"]} in interval {minutes} and mode is "fail"'
        run.add(shapes.task_event("Not Restarting", then, {"fails_task": "true", "restart_reason": reason},
                                  FailsTask=True, RestartReason=reason))
        run.add(shapes.task_event("Alloc Unhealthy", then + 5_000_000, {"message": "Unhealthy because of failed task"},
                                  Message="Unhealthy because of failed task"))
        run.state, run.failed, run.finished_at = "dead", True, t
        alloc.client_status, alloc.client_description = "failed", "Failed tasks"
        alloc.reschedule_transition = True  # every failed allocation is marked so, attempts left or not (recorded)
        alloc.healthy, alloc.health_time = False, then + 5_000_000
        # The client kills what is left of the allocation a moment later (recorded after Alloc Unhealthy).
        run.add(shapes.task_event("Killing", then + 1_456_000_000, {"kill_timeout": "5s"}, KillTimeout=5 * S))
        alloc.health_index = st.touch(alloc)
        reschedule = policy_of(alloc, "reschedule")
        done = len(alloc.reschedule_events)
        if reschedule["Unlimited"] or done < reschedule["Attempts"]:
            delay = reschedule["Delay"] * (2 ** done if reschedule["DelayFunction"] == "exponential" else 1)
            delay = min(delay, reschedule["MaxDelay"] or delay)
            alloc.followup_eval_id = st.uuid()
            st.touch(alloc, client=False)
            self.at(t + delay, lambda when, live: self.driver.reschedule(alloc, self, when, delay))
