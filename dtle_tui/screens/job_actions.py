"""Keys for the write actions, mixed into the Jobs and Job detail screens.

    class JobsScreen(JobActionsMixin, ConsoleScreen):
        BINDINGS = [..., *write_bindings()]
        def current_job_id(self) -> str | None: ...

Each key opens the confirmation modal with the exact requests (actions.Plan), then asks the console to
run the action (`run_job_action`: on the poller's loop, where the HTTP clients live, awaited inside an app
worker), so the UI never blocks and a screen closed meanwhile does not cancel a half-done action.
Read-only mode hides the keys (footer, palette) and still answers a press with the refusal, audited.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from textual.binding import Binding

from dtle_tui.screens.write_runs import WriteRunsMixin

if TYPE_CHECKING:
    from dtle_tui.console import ActionRun
    from dtle_tui.ops.actions import Actions
    from dtle_tui.ops.report import ActionResult
    from dtle_tui.screens.confirm import ConfirmScreen

# The actions, their backups and the confirmation screens are imported at the first write key, not
# with the Jobs screen: the first paint of the job list does not need them (~10 ms of imports).

log = logging.getLogger(__name__)

RESET_CHOICE = "Reset Gtid first"


def write_bindings(without: tuple[str, ...] = ()) -> list[Binding]:
    """The write keys, one ID each whatever the screen (`[keys]` remaps them on Jobs and Job detail alike).
    `without`: actions a screen leaves out (Job detail has no `a`)."""
    bindings = [
        Binding("d", "delete_job", "Delete", tooltip="delete (stop) the job", id="dtle.job.delete"),
        Binding("P", "purge_job", "Purge", tooltip="purge the job (removed from Nomad at once)", id="dtle.job.purge"),
        Binding("G", "reset_gtid", "Gtid reset", tooltip="reset the job's Gtid in Consul", id="dtle.job.reset_gtid"),
        Binding("U", "restore_gtid", "Restore Gtid", show=False, tooltip="restore the job's last Gtid backup",
                id="dtle.job.restore_gtid"),
        # In help and the palette; the footer keeps its room for the keys used most.
        Binding("a", "add_job", "Add", show=False, tooltip="add a job from a job.json file", id="dtle.job.add"),
        Binding("R", "readd_job", "Re-add", show=False, tooltip="re-add a deleted or purged job from its saved spec",
                id="dtle.job.readd"),
    ]
    return [b for b in bindings if b.action not in without]


# What a write key sends in read-only mode: the action itself refuses, and audits the refusal.
REFUSALS: dict[str, Callable[[Actions, str], Awaitable[ActionResult]]] = {
    "delete_job": lambda a, job: a.delete_job(job),
    "purge_job": lambda a, job: a.purge_job(job),
    "reset_gtid": lambda a, job: a.reset_gtid(job),
    "restore_gtid": lambda a, job: a.restore_gtid(job),
    "add_job": lambda a, job: a.add_job(""),
    "readd_job": lambda a, job: a.readd_job(job),
}


class JobActionsMixin(WriteRunsMixin):
    def current_job_id(self) -> Optional[str]:  # provided by the screen
        raise NotImplementedError

    # ---- read-only: keys hidden (ConsoleScreen.active_bindings), a press still answered ------------

    def _refused(self, action: str) -> bool:
        """In read-only mode, answer a write key with the refusal (audited) instead of a dialog."""
        if not self._read_only:
            return False
        job = self.current_job_id() or ""
        self._start_write("action", lambda run: self._report_run(run, REFUSALS[action](run.actions, job)))
        return True

    # ---- plumbing (write_runs.py) --------------------------------------------------------------------
    async def _confirm(self, screen: ConfirmScreen) -> Any:
        from dtle_tui.screens.confirm import RESET_FIRST

        answer = await self.app.push_screen_wait(screen)  # type: ignore[attr-defined]
        if answer not in (True, RESET_FIRST):
            self._say("Cancelled. Nothing was sent.")
        return answer

    def _job_or_say(self) -> Optional[str]:
        job = self.current_job_id()
        if not job:
            self._say("Select a job first.", "warning")
        return job

    # ---- the six actions ---------------------------------------------------------------------------
    def action_delete_job(self) -> None:
        if self._refused("delete_job"):
            return
        job = self._job_or_say()
        if job:
            self._start_write("action", lambda run: self._deregister(run, job, purge=False))

    def action_purge_job(self) -> None:
        if self._refused("purge_job"):
            return
        job = self._job_or_say()
        if job:
            self._start_write("action", lambda run: self._deregister(run, job, purge=True))

    async def _deregister(self, run: ActionRun, job: str, purge: bool) -> None:
        from dtle_tui.screens.confirm import ConfirmScreen

        plan = run.actions.plan_delete(job, purge=purge)
        if purge:
            screen = ConfirmScreen("Purge job (removed from Nomad at once)", job, plan.lines(), "type_id",
                                   confirm_label="Purge")
        else:
            screen = ConfirmScreen("Delete (stop) job", job, plan.lines(), "yes_no", confirm_label="Delete")
        if await self._confirm(screen) is True:
            await self._report_run(run, run.actions.purge_job(job) if purge else run.actions.delete_job(job))

    def _consul_refusal(self, what: str) -> bool:
        """Consul known to be down: refuse at once, naming its error, instead of asking for the job ID."""
        snap = self.console.snapshot
        if snap is not None and not snap.consul_enabled:
            reason = snap.consul.error or "Consul is unavailable"
            self._say(f"{what} refused: {reason}. Nothing was sent.", "warning")
            return True
        return False

    def action_reset_gtid(self) -> None:
        if self._refused("reset_gtid"):
            return
        job = self._job_or_say()
        if job and not self._consul_refusal("Gtid reset"):
            self._start_write("action", lambda run: self._reset(run, job))

    async def _reset(self, run: ActionRun, job: str) -> None:
        from dtle_tui.screens.confirm import ConfirmScreen

        plan = await run.call(run.actions.plan_reset_gtid(job))
        if plan.refusal:  # the action itself refuses again, and audits the refusal
            await self._report_run(run, run.actions.reset_gtid(job))
            return
        screen = ConfirmScreen("Reset the job's Gtid in Consul", job, plan.lines(), "type_id",
                               confirm_label="Reset Gtid")
        if await self._confirm(screen) is True:
            await self._report_run(run, run.actions.reset_gtid(job))

    def action_restore_gtid(self) -> None:
        if self._refused("restore_gtid"):
            return
        job = self._job_or_say()
        if job and not self._consul_refusal("Gtid restore"):
            self._start_write("action", lambda run: self._restore(run, job))

    async def _restore(self, run: ActionRun, job: str) -> None:
        from dtle_tui.screens.confirm import ConfirmScreen

        plan = run.actions.plan_restore_gtid(job)
        if plan.refusal:
            await self._report_run(run, run.actions.restore_gtid(job))
            return
        screen = ConfirmScreen("Restore the job's Consul keys from its last backup", job, plan.lines(),
                               "yes_no", confirm_label="Restore")
        if await self._confirm(screen) is True:
            await self._report_run(run, run.actions.restore_gtid(job))

    def action_add_job(self) -> None:
        if not self._refused("add_job"):
            self._start_write("action", self._add)

    async def _add(self, run: ActionRun) -> None:
        from dtle_tui.screens.add_job import AddJobScreen
        from dtle_tui.screens.confirm import RESET_FIRST, ConfirmScreen

        plans: dict = {}

        async def check(path: str) -> Optional[str]:
            plan = await run.call(run.actions.plan_add(path))
            plans[path] = plan
            return plan.refusal

        path = await self.app.push_screen_wait(AddJobScreen(check))  # type: ignore[attr-defined]
        if not path:
            self._say("Cancelled. Nothing was sent.")
            return
        plan = plans[path]
        screen = ConfirmScreen("Add job", plan.job_id, plan.lines(), "yes_no",
                               extra_choice=RESET_CHOICE if plan.resumes else None, confirm_label="Add")
        answer = await self._confirm(screen)
        if answer in (True, RESET_FIRST):
            await self._report_run(run, run.actions.add_job(plan.spec, reset_gtid_first=answer == RESET_FIRST))

    def action_readd_job(self) -> None:
        if self._refused("readd_job"):
            return
        job = self._job_or_say()
        if job:
            self._start_write("action", lambda run: self._readd(run, job))

    async def _readd(self, run: ActionRun, job: str) -> None:
        from dtle_tui.screens.confirm import RESET_FIRST, ConfirmScreen

        plan = await run.call(run.actions.plan_readd(job))
        if plan.refusal:
            await self._report_run(run, run.actions.readd_job(job))
            return
        screen = ConfirmScreen("Re-add job from its saved spec", job, plan.lines(), "yes_no",
                               extra_choice=RESET_CHOICE if plan.resumes else None, confirm_label="Re-add")
        answer = await self._confirm(screen)
        if answer in (True, RESET_FIRST):
            await self._report_run(run, run.actions.readd_job(job, reset_gtid_first=answer == RESET_FIRST))
