"""Repair keys: `r` restart task(s) and `K` stop an allocation (Allocation, Job detail), `e` eligibility
and `D` drain (Nodes). Same safety model as the job actions (job_actions.py): a confirmation naming the
exact request with Cancel focused, run on the poller's loop inside an app worker, audited, refused in
read-only mode (keys hidden, a press still answered with the refusal and audited).

A screen mixes in the half it needs and says what is selected:
    current_allocation() -> Allocation | None   (AllocRepairMixin)
    current_node() -> Node | None               (NodeRepairMixin)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable, Optional

from textual.binding import Binding

from dtle_tui.screens.write_runs import WriteRunsMixin

if TYPE_CHECKING:
    from dtle_tui.console import ActionRun
    from dtle_tui.model.allocations import Allocation
    from dtle_tui.model.nodes import Node
    from dtle_tui.ops.repair import Repairs
    from dtle_tui.ops.report import ActionResult



class _RepairBase(WriteRunsMixin):
    def _refusal_call(self, name: str) -> Optional[Callable[[Repairs], Awaitable[ActionResult]]]:
        raise NotImplementedError

    def _repair_refused(self, name: str) -> bool:
        """In read-only mode (keys hidden from footer and palette), a press is answered with the refusal, audited."""
        if not self._read_only:
            return False
        refused = self._refusal_call(name)
        if refused is not None:
            self._start_write("repair", lambda run: self._report_run(run, refused(run.repairs)))
        return True

    async def _ask(self, title: str, lines: list, label: str) -> bool:
        from dtle_tui.screens.confirm import ConfirmScreen

        answer = await self.app.push_screen_wait(  # type: ignore[attr-defined]
            ConfirmScreen(title, None, lines, "yes_no", confirm_label=label))
        if answer is not True:
            self._say("Cancelled. Nothing was sent.")
        return answer is True


class AllocRepairMixin(_RepairBase):
    @staticmethod
    def repair_bindings() -> list:
        # One ID on Allocation and Job detail alike: one remap in [keys] covers both screens.
        return [Binding("r", "restart_alloc", "Restart", id="dtle.alloc.restart",
                        tooltip="restart the (selected) allocation's task(s) in place"),
                Binding("K", "stop_alloc", "Stop alloc", id="dtle.alloc.stop",
                        tooltip="stop the (selected) allocation so Nomad reschedules it")]

    def current_allocation(self) -> Optional[Allocation]:
        raise NotImplementedError

    def followed(self, old_id: str) -> None:
        """After a stop was sent: the screen may follow the replacement allocation."""

    def _target(self) -> Optional[tuple]:
        alloc = self.current_allocation()
        if alloc is None:
            self._say("No allocation selected.", "warning")
            return None
        tasks = [t.name for t in alloc.task_states] or [alloc.task_group]
        return alloc, (tasks[0] if len(tasks) == 1 else None)

    def _refusal_call(self, name: str):
        target = self._target()
        if target is None:
            return None
        alloc, task = target
        if name == "restart_alloc":
            return lambda r: r.restart(alloc.job_id, alloc.id, task)
        return lambda r: r.stop(alloc.job_id, alloc.id)

    def action_restart_alloc(self) -> None:
        if self._repair_refused("restart_alloc"):
            return
        target = self._target()
        if target is None:
            return
        alloc, task = target

        async def flow(run: ActionRun) -> None:
            repairs = run.repairs
            plan = repairs.plan_restart(alloc.job_id, alloc.id, task)
            title = f"Restart {'task ' + task if task else 'every task'} of allocation {alloc.short_id}"
            if await self._ask(title, [f"Job: {alloc.job_id}", *plan.lines()], "Restart"):
                await self._report_run(run, repairs.restart(alloc.job_id, alloc.id, task))

        self._start_write("repair", flow)

    def action_stop_alloc(self) -> None:
        if self._repair_refused("stop_alloc"):
            return
        target = self._target()
        if target is None:
            return
        alloc, _task = target

        async def flow(run: ActionRun) -> None:
            repairs = run.repairs
            plan = repairs.plan_stop(alloc.job_id, alloc.id)
            if await self._ask(f"Stop allocation {alloc.short_id} (Nomad reschedules it)",
                               [f"Job: {alloc.job_id}", *plan.lines()], "Stop"):
                result = await self._report_run(run, repairs.stop(alloc.job_id, alloc.id))
                if result.ok:
                    self.followed(alloc.id)

        self._start_write("repair", flow)


class NodeRepairMixin(_RepairBase):
    REPAIR_BINDINGS = [Binding("e", "toggle_eligibility", "Eligibility", id="dtle.nodes.eligibility",
                               tooltip="toggle the selected node's scheduling eligibility"),
                       Binding("D", "drain_node", "Drain", id="dtle.nodes.drain",
                               tooltip="drain the node with a deadline, or stop its running drain")]

    def current_node(self) -> Optional[Node]:
        raise NotImplementedError

    def _node(self) -> Optional[Node]:
        node = self.current_node()
        if node is None:
            self._say("No node selected.", "warning")
        return node

    def _refusal_call(self, name: str):
        node = self._node()
        if node is None:
            return None
        if name == "toggle_eligibility":
            return lambda r: r.set_eligibility(node.id, node.name, node.scheduling_eligibility != "eligible")
        return lambda r: r.drain(node.id, node.name, None if node.drain else 3600 * 1_000_000_000)

    def action_toggle_eligibility(self) -> None:
        if self._repair_refused("toggle_eligibility"):
            return
        node = self._node()
        if node is None:
            return
        eligible = node.scheduling_eligibility != "eligible"

        async def flow(run: ActionRun) -> None:
            repairs = run.repairs
            plan = repairs.plan_eligibility(node.id, node.name, eligible)
            word = "eligible" if eligible else "ineligible"
            if await self._ask(f"Make node {node.name} {word}", [f"Node: {node.name} ({node.short_id})",
                                                               *plan.lines()], f"Make {word}"):
                await self._report_run(run, repairs.set_eligibility(node.id, node.name, eligible))

        self._start_write("repair", flow)

    def action_drain_node(self) -> None:
        if self._repair_refused("drain_node"):
            return
        node = self._node()
        if node is None:
            return

        async def flow(run: ActionRun) -> None:
            repairs = run.repairs
            from dtle_tui.screens.drain import DrainScreen

            answer = await self.app.push_screen_wait(DrainScreen(node, repairs))  # type: ignore[attr-defined]
            if answer is None:
                self._say("Cancelled. Nothing was sent.")
                return
            await self._report_run(run, repairs.drain(node.id, node.name, answer if answer >= 0 else None))

        self._start_write("repair", flow)
