"""Job detail's "Not placed" section: per task group, why Nomad could not place its allocations.

From the job's evaluations (model/evaluations.placement_report) and, as a hint, the nodes of the job's
datacenters that offer a healthy dtle driver but take no new allocation (ineligible or draining).
`raw` shows the FailedTGAllocs as Nomad sent them.
"""

from __future__ import annotations

import json
from typing import Optional, Sequence

from rich.text import Text
from textual.widgets import Static

from dtle_tui.live.troubleview import TroubleView
from dtle_tui.model.evaluations import GroupPlacement, placement_report
from dtle_tui.model.jobs import Job
from dtle_tui.model.nodes import Node
from dtle_tui.text.textsafe import safe_text


def node_hints(job: Optional[Job], nodes: Sequence[Node]) -> list[str]:
    """Nodes that could run dtle but are kept out of scheduling: the usual reason of "missing drivers"."""
    dcs = set(job.datacenters) if job is not None and job.datacenters else None
    hints = []
    for node in sorted(nodes, key=lambda n: n.name):
        driver = node.dtle
        if driver is None or not driver.healthy or (dcs is not None and node.datacenter not in dcs):
            continue
        if node.drain:
            hints.append(f"node {node.name} has a healthy dtle driver but is draining (ineligible): "
                         "stop the drain (D on Nodes), then make it eligible (e)")
        elif node.scheduling_eligibility != "eligible":
            hints.append(f"node {node.name} has a healthy dtle driver but is ineligible: e on Nodes makes it eligible")
        elif node.status != "ready":
            hints.append(f"node {node.name} has a healthy dtle driver but is {node.status}")
    return hints


def not_placed_text(report: Sequence[GroupPlacement], hints: Sequence[str], raw: bool) -> Text:
    out = Text()
    for placement in report:
        if out:
            out.append("\n")
        out.append(f"Not placed: group {safe_text(placement.group)}", style="bold yellow")
        out.append(f"  {placement.queued} queued" if placement.queued else "")
        if placement.eval_id:
            out.append(f"  (evaluation {placement.eval_id[:8]})", style="dim")
        for line in placement.lines:
            out.append(f"\n  {safe_text(line)}")
        if placement.blocked_eval:
            out.append(f"\n  a blocked evaluation ({placement.blocked_eval[:8]}) waits: Nomad places it as soon "
                       "as a node fits", style="dim")
        if raw:
            body = json.dumps(placement.raw, indent=None, sort_keys=True)
            out.append(f"\n  FailedTGAllocs.{safe_text(placement.group)}: ", style="bold")
            out.append(safe_text(body, single_line=False), style="dim")
    if report:
        for hint in hints:
            out.append(f"\n  hint: {safe_text(hint)}", style="cyan")
    return out


class NotPlacedPanel(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.raw = False
        self._shown = ""
        self.report: tuple = ()

    def show(self, job_id: str, job: Optional[Job], troubles: Optional[TroubleView], nodes: Sequence[Node],
             queued: Optional[dict]) -> None:
        if troubles is None or troubles.job_id != job_id:
            report: tuple = ()
            error = None
        else:
            report = placement_report(troubles.evaluations or (), job, queued)
            error = troubles.evaluations_error
        self.report = report
        text = not_placed_text(report, node_hints(job, nodes), self.raw)
        if error and any(queued.values() if queued else ()):
            text.append(("\n" if text else "") + safe_text(error), style="yellow")
        self.display = bool(text)
        key = text.markup
        if key != self._shown:
            self._shown = key
            self.update(text)
