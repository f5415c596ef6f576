"""The flows of the repair keys (keys.ALLOC_WRITES: r restart, K stop an allocation, on Allocation and Job
detail; keys.NODE_WRITES: e eligibility, D drain, on Nodes). Same safety model as the job actions
(job_actions.py): a confirmation naming the exact request with Cancel focused, then the repair, audited and
reported. The screen gives what the key acts on (`write_target`): the Allocation, or the Node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from dtle_tui.ops.repair import repair_refusal, restart_task
from dtle_tui.screens.confirm import ConfirmScreen
from dtle_tui.screens.drain import DrainScreen

if TYPE_CHECKING:
    from dtle_tui.console import WriteRun
    from dtle_tui.model.allocations import Allocation
    from dtle_tui.model.nodes import Node


async def _ask(run: WriteRun, title: str, lines: list, label: str) -> bool:
    return await run.confirm(ConfirmScreen(title, None, lines, "yes_no", confirm_label=label)) is True


async def restart(run: WriteRun, alloc: Optional[Allocation]) -> None:
    if alloc is None:
        run.say("No allocation selected.", "warning")
        return
    refusal = repair_refusal("restart", alloc)
    if refusal:  # the footer and the palette do not offer it; the key still says why
        run.say(refusal, "warning")
        return
    task = restart_task(alloc)
    plan = run.repairs.plan_restart(alloc.job_id, alloc.id, task)
    title = f"Restart {'task ' + task if task else 'every task'} of allocation {alloc.short_id}"
    if await _ask(run, title, [f"Job: {alloc.job_id}", *plan.lines()], "Restart"):
        await run.report(run.repairs.restart(alloc.job_id, alloc.id, task))


async def stop(run: WriteRun, alloc: Optional[Allocation]) -> None:
    """The screen follows the replacement once the stop is done (its write_done)."""
    if alloc is None:
        run.say("No allocation selected.", "warning")
        return
    refusal = repair_refusal("stop-alloc", alloc)
    if refusal:
        run.say(refusal, "warning")
        return
    plan = run.repairs.plan_stop(alloc.job_id, alloc.id)
    if await _ask(run, f"Stop allocation {alloc.short_id} (Nomad reschedules it)",
                  [f"Job: {alloc.job_id}", *plan.lines()], "Stop"):
        await run.report(run.repairs.stop(alloc.job_id, alloc.id))


async def eligibility(run: WriteRun, node: Optional[Node]) -> None:
    if node is None:
        run.say("No node selected.", "warning")
        return
    eligible = node.scheduling_eligibility != "eligible"
    plan = run.repairs.plan_eligibility(node.id, node.name, eligible)
    word = "eligible" if eligible else "ineligible"
    if await _ask(run, f"Make node {node.name} {word}", [f"Node: {node.name} ({node.short_id})", *plan.lines()],
                  f"Make {word}"):
        await run.report(run.repairs.set_eligibility(node.id, node.name, eligible))


async def drain(run: WriteRun, node: Optional[Node]) -> None:
    if node is None:
        run.say("No node selected.", "warning")
        return
    # Before the dialog: the dtle tasks the drain would move, read now (none when stopping a drain).
    moves = [] if node.drain else await run.repairs.plan_drain_moves(node.id)
    answer = await run.ask(DrainScreen(node, run.repairs, moves))
    if answer is not None:
        await run.report(run.repairs.drain(node.id, node.name, answer if answer >= 0 else None))


# By the name in their keys (keys.ALLOC_WRITES, keys.NODE_WRITES), the action's name in the audit log.
FLOWS: dict[str, Callable[[Any, Any], Awaitable[None]]] = {
    "restart": restart, "stop-alloc": stop, "node-eligibility": eligibility, "node-drain": drain,
}
