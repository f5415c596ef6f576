"""The flows of the write keys on a job (keys.job_writes: d P G U a R; Orphans' G x U): confirm, then act.

Each flow is handed a console.WriteRun (its own clients, made for this write: ops/session.py) and what the
key acts on, the job ID the screen gave (`write_target`). It shows the confirmation with the requests
exactly as they will be sent (actions.Plan, built by the clients that send them), then runs the action and
reports it. The read-only refusal never gets here (intents.Writes refuses first). Loaded with the first
write key, not with the first paint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from rich.text import Text

from dtle_tui.ops import backup
from dtle_tui.screens.add_job import AddJobScreen
from dtle_tui.screens.confirm import RESET_FIRST, ConfirmScreen
from dtle_tui.screens.pick import PickScreen
from dtle_tui.text.textsafe import safe_text

if TYPE_CHECKING:
    from dtle_tui.console import WriteRun

RESET_CHOICE = "Reset Gtid first"


def _job_or_say(run: WriteRun, job: Optional[str]) -> Optional[str]:
    if not job:
        run.say("Select a job first.", "warning")
    return job or None


async def delete(run: WriteRun, job: Optional[str]) -> None:
    await _deregister(run, job, purge=False)


async def purge(run: WriteRun, job: Optional[str]) -> None:
    await _deregister(run, job, purge=True)


async def _deregister(run: WriteRun, job: Optional[str], purge: bool) -> None:
    job = _job_or_say(run, job)
    if job is None:
        return
    plan = run.actions.plan_delete(job, purge=purge)
    if purge:
        dialog = ConfirmScreen("Purge job (removed from Nomad at once)", job, plan.lines(), "type_id",
                               confirm_label="Purge")
    else:
        dialog = ConfirmScreen("Delete (stop) job", job, plan.lines(), "yes_no", confirm_label="Delete")
    if await run.confirm(dialog) is True:
        await run.report(run.actions.purge_job(job) if purge else run.actions.delete_job(job))


def _consul_refusal(run: WriteRun, what: str) -> bool:
    """Consul known to be down: refuse at once, naming its error, instead of asking for the job ID."""
    snap = run.snapshot
    if snap is not None and snap.consul.error is not None:
        run.say(f"{what} refused: {snap.consul.error}. Nothing was sent.", "warning")
        return True
    return False


async def reset_gtid(run: WriteRun, job: Optional[str]) -> None:
    job = _job_or_say(run, job)
    if job is None or _consul_refusal(run, "Gtid reset"):
        return
    plan = await run.actions.plan_reset_gtid(job)
    if plan.refusal:  # the action itself refuses again, and audits the refusal
        await run.report(run.actions.reset_gtid(job))
        return
    dialog = ConfirmScreen("Reset the job's Gtid in Consul", job, plan.lines(), "type_id", confirm_label="Reset Gtid")
    if await run.confirm(dialog) is True:
        await run.report(run.actions.reset_gtid(job))


async def restore_gtid(run: WriteRun, job: Optional[str]) -> None:
    job = _job_or_say(run, job)
    if job is None or _consul_refusal(run, "Gtid restore"):
        return
    plan = run.actions.plan_restore_gtid(job)
    if plan.refusal:
        await run.report(run.actions.restore_gtid(job))
        return
    dialog = ConfirmScreen("Restore the job's Consul keys from its last backup", job, plan.lines(), "yes_no",
                           confirm_label="Restore")
    if await run.confirm(dialog) is True:
        await run.report(run.actions.restore_gtid(job))


async def add(run: WriteRun, _selected: Optional[str]) -> None:
    plans: dict = {}

    async def check(path: str) -> Optional[str]:
        plan = await run.actions.plan_add(path)
        plans[path] = plan
        return plan.refusal

    path = await run.ask(AddJobScreen(check))
    if not path:
        return
    plan = plans[path]
    dialog = ConfirmScreen("Add job", plan.job_id, plan.lines(), "yes_no",
                           extra_choice=RESET_CHOICE if plan.resumes else None, confirm_label="Add")
    answer = await run.confirm(dialog)
    if answer in (True, RESET_FIRST):
        await run.report(run.actions.add_job(plan.spec, reset_gtid_first=answer == RESET_FIRST))


async def readd(run: WriteRun, job: Optional[str]) -> None:
    if getattr(run.screen, "READD_PICKS_SAVED", False):
        # The Jobs screen: `R` can also bring back a purged job, which no longer has a row.
        job = await run.ask(_saved_jobs(run, job))
        if not job:
            return
    job = _job_or_say(run, job)
    if job is None:
        return
    plan = await run.actions.plan_readd(job)
    if plan.refusal:
        await run.report(run.actions.readd_job(job))
        return
    dialog = ConfirmScreen("Re-add job from its saved spec", job, plan.lines(), "yes_no",
                           extra_choice=RESET_CHOICE if plan.resumes else None, confirm_label="Re-add")
    answer = await run.confirm(dialog)
    if answer in (True, RESET_FIRST):
        await run.report(run.actions.readd_job(job, reset_gtid_first=answer == RESET_FIRST))


def _saved_jobs(run: WriteRun, selected: Optional[str]) -> PickScreen:
    """The jobs with a saved spec in this cluster's backups, each with its state in Nomad now."""
    settings = run.actions.settings
    cluster = backup.cluster_name(settings.context, settings.nomad.addr)
    shown = {r.id: r for r in run.snapshot.rows} if run.snapshot is not None else {}
    items = []
    for job in backup.saved_jobs(settings.state_dir, cluster):
        label = Text(safe_text(job), style="bold")
        row = shown.get(job)
        label.append(f"  {row.status}" if row else "  not in Nomad (purged)", style="dim")
        items.append((job, label))
    return PickScreen("Re-add which job from its saved spec?", items, highlighted=selected,
                      empty=f"No saved spec for cluster {cluster}: a spec is saved before each delete or purge.")


# By the name in their keys (keys.job_writes), which is the action's name in the audit log.
FLOWS: dict[str, Callable[[Any, Any], Awaitable[None]]] = {
    "delete": delete, "purge": purge, "reset-gtid": reset_gtid, "restore-gtid": restore_gtid, "add": add,
    "re-add": readd,
}
