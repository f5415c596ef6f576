"""Keys for the write actions, mixed into the Jobs and Job detail screens.

    class JobsScreen(JobActionsMixin, ConsoleScreen):
        BINDINGS = [..., *JobActionsMixin.ACTION_BINDINGS]
        def current_job_id(self) -> str | None: ...

Each key opens the confirmation modal with the exact requests (actions.Plan), then runs the action on
the poller's loop (its HTTP clients live there) and waits for it with asyncio.wrap_future inside an app
worker, so the UI never blocks and a screen closed meanwhile does not cancel a half-done action.
Read-only mode hides the keys (check_action) and still answers a press with the refusal, audited.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from textual import events
from textual.binding import Binding
from textual.widgets import Input

from dtle_tui.api.errors import redact

if TYPE_CHECKING:
    from dtle_tui.ops.actions import Actions
    from dtle_tui.ops.report import ActionResult
    from dtle_tui.screens.confirm import ConfirmScreen

# The actions, their backups and the confirmation screens are imported at the first write key, not
# with the Jobs screen: the first paint of the job list does not need them (~10 ms of imports).

log = logging.getLogger(__name__)

ACTION_KEYS = {
    "d": "delete_job",
    "P": "purge_job",
    "G": "reset_gtid",
    "U": "restore_gtid",
    "a": "add_job",
    "R": "readd_job",
}
RESET_CHOICE = "Reset Gtid first"


class JobActionsMixin:
    ACTION_BINDINGS = [
        Binding("d", "delete_job", "Delete", id="job.delete"),
        Binding("P", "purge_job", "Purge", id="job.purge"),
        Binding("G", "reset_gtid", "Gtid reset", id="job.reset_gtid"),
        Binding("U", "restore_gtid", "Restore Gtid", show=False, id="job.restore_gtid"),
        # Shown in help and the palette; the footer keeps its room for the keys used most.
        Binding("a", "add_job", "Add", show=False, id="job.add"),
        Binding("R", "readd_job", "Re-add", show=False, id="job.readd"),
    ]

    _action_busy = False

    def action_commands(self) -> list:
        """The write actions for the command palette, each with its key; none in read-only mode."""
        from textual.app import SystemCommand

        if self._read_only:
            return []
        job = self.current_job_id()
        bound = {b.action for b in getattr(self, "BINDINGS", []) if isinstance(b, Binding)}
        entries = [
            ("delete_job", f"Delete job {job}", "Stop it: DELETE /v1/job/<id> (d)"),
            ("purge_job", f"Purge job {job}", "DELETE /v1/job/<id>?purge=true (P)"),
            ("reset_gtid", f"Reset Gtid of {job}", "Delete its Consul position (G)"),
            ("restore_gtid", f"Restore Gtid of {job}", "Put back the last Gtid backup (U)"),
            ("readd_job", f"Re-add job {job}", "Register it again from its saved spec (R)"),
            ("add_job", "Add a job", "Register a job.json file (a)"),
        ]
        return [SystemCommand(title, help_text, getattr(self, f"action_{name}"))
                for name, title, help_text in entries
                if name in bound and (job or name == "add_job")]

    def current_job_id(self) -> Optional[str]:  # provided by the screen
        raise NotImplementedError

    # ---- read-only: keys hidden, a press still answered -------------------------------------------
    @property
    def _read_only(self) -> bool:
        return bool(getattr(self.app.settings, "read_only", False))  # type: ignore[attr-defined]

    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
        if action in ACTION_KEYS.values() and self._read_only:
            return False
        return super().check_action(action, parameters)  # type: ignore[misc]

    def on_key(self, event: events.Key) -> None:
        # Textual calls on_key of every class in the MRO, so the screen's own handler still runs.
        name = ACTION_KEYS.get(event.character or "")
        if name is None or not self._read_only or isinstance(self.focused, Input):  # type: ignore[attr-defined]
            return
        bound = {b.action for b in getattr(type(self), "BINDINGS", []) if isinstance(b, Binding)}
        if name not in bound:  # a screen may leave a key out (Job detail has no `a`)
            return
        event.stop()
        job = self.current_job_id()
        calls = {
            "delete_job": lambda a: a.delete_job(job or ""),
            "purge_job": lambda a: a.purge_job(job or ""),
            "reset_gtid": lambda a: a.reset_gtid(job or ""),
            "restore_gtid": lambda a: a.restore_gtid(job or ""),
            "add_job": lambda a: a.add_job(""),
            "readd_job": lambda a: a.readd_job(job or ""),
        }
        self._start(lambda actions: self._run(actions, calls[name](actions)))

    # ---- plumbing ----------------------------------------------------------------------------------
    def _say(self, text: str, severity: str = "information", timeout: float = 8.0) -> None:
        self.app.notify(text, severity=severity, timeout=timeout, markup=False)  # type: ignore[attr-defined]

    def _actions(self) -> Optional[Actions]:
        poller = getattr(self.app, "poller", None)  # type: ignore[attr-defined]
        if poller is None or poller.nomad is None:
            self._say("Not connected yet: try again in a moment. Nothing was sent.", "warning")
            return None
        from dtle_tui.live.startup import ConsulWhenReady
        from dtle_tui.ops.actions import Actions

        # Consul starts after the first paint: an action in the first moments waits for it.
        consul = poller.consul if poller.consul is not None else ConsulWhenReady(poller)
        return Actions(poller.nomad, consul, self.app.settings)  # type: ignore[attr-defined]

    async def _call(self, coro: Awaitable[Any]) -> Any:
        """Run `coro` on the poller's loop; a cancelled caller does not cancel it (shield)."""
        future = self.app.poller.submit(coro)  # type: ignore[attr-defined]
        return await asyncio.shield(asyncio.wrap_future(future))

    def _start(self, flow: Callable[[Actions], Awaitable[None]]) -> None:
        if self._action_busy:
            self._say("Another action is still running; wait for its result.", "warning")
            return
        actions = self._actions()
        if actions is None:
            return

        async def guarded() -> None:
            self._action_busy = True
            try:
                await flow(actions)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must be visible, never a silent dead key
                log.exception("job action failed")
                self._say(redact(f"Action failed inside dtle-tui: {type(exc).__name__}: {exc}"), "error", 30)
            finally:
                self._action_busy = False

        # An app worker: it outlives this screen, so leaving the screen never cuts an action short.
        self.app.run_worker(guarded(), group="job-actions", exit_on_error=False)  # type: ignore[attr-defined]

    async def _run(self, actions: Actions, coro: Awaitable[ActionResult]) -> ActionResult:
        result = await self._call(coro)
        poller = getattr(self.app, "poller", None)  # type: ignore[attr-defined]
        if poller is not None:
            poller.refresh_now()
        self.report(result)
        return result

    def report(self, result: ActionResult) -> None:
        severity = "information" if result.ok else ("warning" if result.refused else "error")
        log.info("%s %s: %s", result.action, result.job_id, result.text())
        self._say(result.brief(), severity, 20.0 if result.ok else 60.0)

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
        job = self._job_or_say()
        if job:
            self._start(lambda actions: self._deregister(actions, job, purge=False))

    def action_purge_job(self) -> None:
        job = self._job_or_say()
        if job:
            self._start(lambda actions: self._deregister(actions, job, purge=True))

    async def _deregister(self, actions: Actions, job: str, purge: bool) -> None:
        from dtle_tui.screens.confirm import ConfirmScreen

        plan = actions.plan_delete(job, purge=purge)
        if purge:
            screen = ConfirmScreen("Purge job (removed from Nomad at once)", job, plan.lines(), "type_id",
                                   confirm_label="Purge")
        else:
            screen = ConfirmScreen("Delete (stop) job", job, plan.lines(), "yes_no", confirm_label="Delete")
        if await self._confirm(screen) is True:
            await self._run(actions, actions.purge_job(job) if purge else actions.delete_job(job))

    def _consul_refusal(self, what: str) -> bool:
        """Consul known to be down: refuse at once, naming its error, instead of asking for the job ID."""
        snap = getattr(self.app, "snapshot", None)
        if snap is not None and not snap.consul_enabled:
            reason = snap.consul.error or "Consul is unavailable"
            self._say(f"{what} refused: {reason}. Nothing was sent.", "warning")
            return True
        return False

    def action_reset_gtid(self) -> None:
        job = self._job_or_say()
        if job and not self._consul_refusal("Gtid reset"):
            self._start(lambda actions: self._reset(actions, job))

    async def _reset(self, actions: Actions, job: str) -> None:
        from dtle_tui.screens.confirm import ConfirmScreen

        plan = await self._call(actions.plan_reset_gtid(job))
        if plan.refusal:  # the action itself refuses again, and audits the refusal
            await self._run(actions, actions.reset_gtid(job))
            return
        screen = ConfirmScreen("Reset the job's Gtid in Consul", job, plan.lines(), "type_id",
                               confirm_label="Reset Gtid")
        if await self._confirm(screen) is True:
            await self._run(actions, actions.reset_gtid(job))

    def action_restore_gtid(self) -> None:
        job = self._job_or_say()
        if job and not self._consul_refusal("Gtid restore"):
            self._start(lambda actions: self._restore(actions, job))

    async def _restore(self, actions: Actions, job: str) -> None:
        from dtle_tui.screens.confirm import ConfirmScreen

        plan = actions.plan_restore_gtid(job)
        if plan.refusal:
            await self._run(actions, actions.restore_gtid(job))
            return
        screen = ConfirmScreen("Restore the job's Consul keys from its last backup", job, plan.lines(),
                               "yes_no", confirm_label="Restore")
        if await self._confirm(screen) is True:
            await self._run(actions, actions.restore_gtid(job))

    def action_add_job(self) -> None:
        self._start(self._add)

    async def _add(self, actions: Actions) -> None:
        from dtle_tui.screens.add_job import AddJobScreen
        from dtle_tui.screens.confirm import RESET_FIRST, ConfirmScreen

        plans: dict = {}

        async def check(path: str) -> Optional[str]:
            plan = await self._call(actions.plan_add(path))
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
            await self._run(actions, actions.add_job(plan.spec, reset_gtid_first=answer == RESET_FIRST))

    def action_readd_job(self) -> None:
        job = self._job_or_say()
        if job:
            self._start(lambda actions: self._readd(actions, job))

    async def _readd(self, actions: Actions, job: str) -> None:
        from dtle_tui.screens.confirm import RESET_FIRST, ConfirmScreen

        plan = await self._call(actions.plan_readd(job))
        if plan.refusal:
            await self._run(actions, actions.readd_job(job))
            return
        screen = ConfirmScreen("Re-add job from its saved spec", job, plan.lines(), "yes_no",
                               extra_choice=RESET_CHOICE if plan.resumes else None, confirm_label="Re-add")
        answer = await self._confirm(screen)
        if answer in (True, RESET_FIRST):
            await self._run(actions, actions.readd_job(job, reset_gtid_first=answer == RESET_FIRST))
