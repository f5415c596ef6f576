"""A job's incident report: one Markdown file an operator pastes into a ticket (`E` on Job detail).

Written to `<state>/reports/<cluster>/<job>-<UTC timestamp>.md`, 0600 in 0700 directories (backup.py's
helpers: atomic, and the same percent-encoding of cluster and job into one path segment each). It
changes nothing on the cluster, so `--read-only` allows it.

Markdown as GitHub, GitLab, Gitea and Redmine render it: tables for what has columns, fenced code
blocks for raw texts (Gtid set, error texts). Everything from the wire is escaped where it lands: in a
table cell no pipe, backtick, bracket or line break can end the cell or start markup; a code block's
fence is longer than any run of backticks inside it. Passwords, secrets and tokens are masked as on
screen: every secret of the job spec (text/secrets.py) and every token the HTTP clients know
(api/errors.py) is replaced in the finished text, whatever section it landed in.
"""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from dtle_tui import __version__
from dtle_tui.live.agentlogs import SEEN
from dtle_tui.live.snapshot import JobDetail, JobRow
from dtle_tui.model.allocations import Allocation
from dtle_tui.model.attention import reason_now, summary_lines
from dtle_tui.model.evaluations import placement_report
from dtle_tui.model.gtid import JobPosition, binlog_shown
from dtle_tui.model.nodes import Node
from dtle_tui.ops.audit import os_user, read_entries
from dtle_tui.ops.backup import cluster_name, ensure_private_dir, safe_segment, timestamp, write_atomic
from dtle_tui.text import fmt
from dtle_tui.text.secrets import collect_secrets, redact, redact_text
from dtle_tui.text.textsafe import safe_text

__all__ = ["ReportError", "build_report", "job_audit", "md_cell", "code_block", "report_path", "write_report"]

MAX_CELL = 400
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")


class ReportError(Exception):
    """The report could not be written; one line for the operator."""


def md_cell(value: Any, limit: int = MAX_CELL) -> str:
    """Wire text made safe for one Markdown table cell (or inline text): one line, markup escaped."""
    text = safe_text(value, max_len=limit)
    return _MD_SPECIAL.sub(r"\\\1", text) if text else "—"


def code_block(text: str, lang: str = "text") -> str:
    """A fenced code block whose fence no backtick run in `text` can close."""
    clean = safe_text(text, single_line=False)
    runs = [len(m) for m in re.findall(r"`+", clean)]
    fence = "`" * max(3, (max(runs) + 1) if runs else 3)
    return f"{fence}{lang}\n{clean}\n{fence}"


def utc(ns: Optional[int]) -> str:
    if not ns:
        return "—"
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _table(header: list, rows: Iterable[list]) -> list:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def _since(ns: Optional[int], now: float) -> str:
    return f"since {utc(ns)} ({fmt.age(ns, now)} ago)" if ns else "(no stage event on the current dest allocation)"


def _status_rows(detail: JobDetail, row: Optional[JobRow], now: float, stall_threshold_s: float) -> list:
    status = row.status if row else (detail.job.display_status if detail.job else "unknown")
    stage = detail.stage
    rows = [["Status", md_cell(status)],
            ["Stage", md_cell(f"{stage.stage.label} {_since(stage.since_ns, now)}")]]
    if row is not None and row.stalled:
        rows.append(["STALLED", md_cell(f"yes: the Gtid has not moved for {fmt.duration(stall_threshold_s)} "
                                        "(the stall threshold) while incremental")])
    if detail.error:
        rows.append(["Error", md_cell(detail.error)])
    if detail.job is not None:
        ends = detail.job.endpoints
        rows.append(["Source", md_cell(ends.src.describe() if ends.src else "?")])
        rows.append(["Destination", md_cell(ends.dest.describe() if ends.dest else "?")])
    if row is not None:
        rows.append(["Allocations", md_cell(f"src {row.src.describe()}, dest {row.dest.describe()}")])
    reschedules = sum(1 for a in detail.allocations if a.reschedule_events)
    rows.append(["Restarts", md_cell(f"{detail.restarts} (reschedules {reschedules})")])
    return rows


def _gtid_lines(position: Optional[JobPosition], consul_enabled: bool, rate: Optional[float],
                advanced_s: Optional[float], now: float) -> list:
    out = ["## Position (Consul)", ""]
    if not consul_enabled:
        return out + ["Unknown: Consul was not answering when the report was written."]
    if position is None or not position.gtid_text:
        return out + ["No Gtid saved in Consul for this job."]
    txns = position.gtid.transactions if position.gtid is not None else None
    if advanced_s is not None:
        moved = f"{fmt.duration(advanced_s)} ago ({utc(int((now - advanced_s) * 1e9))})"
    else:
        moved = "not seen advancing since the console started"
    rows = [["Transactions", md_cell(fmt.count(txns))], ["Rate", md_cell(fmt.rate(rate))],
            ["Last advance", md_cell(moved)], ["BinlogFilePos", md_cell(binlog_shown(position.binlog_text) or "—")]]
    if position.gtid_error:
        rows.append(["Gtid problem", md_cell(position.gtid_error)])
    out += _table(["Item", "Value"], rows)
    return out + ["", "Gtid set:", "", code_block(position.gtid_text)]


def _timeline_lines(detail: JobDetail) -> list:
    out = ["## Stage timeline", ""]
    if not detail.timeline:
        return out + ["No stage events (a task keeps only its last 10 events)."]
    return out + _table(["Time (UTC)", "Stage", "Allocation"],
                        ([utc(t), md_cell(st.label), md_cell(alloc[:8])] for t, st, alloc in detail.timeline))


def _events(alloc: Allocation) -> list:
    events = [(ev.time_ns, task.name, ev) for task in alloc.task_states for ev in task.events]
    events.sort(key=lambda e: e[0], reverse=True)
    return events


def _alloc_lines(detail: JobDetail, nodes: Mapping[str, Node], now: float) -> list:
    out = ["## Allocations", ""]
    if not detail.allocations:
        return out + ["No allocations."]
    rows = []
    for a in detail.allocations:
        node = nodes.get(a.node_id)
        name = a.node_name or (node.name if node else "") or a.node_id[:8]
        rows.append([md_cell(a.short_id), md_cell(a.task_group), md_cell(name),
                     md_cell(node.address if node else ""), md_cell(a.desired_status), md_cell(a.client_status),
                     str(a.restarts), utc(a.create_time_ns)])
    out += _table(["Allocation", "Group", "Node", "Node address", "Desired", "Client", "Restarts", "Created (UTC)"],
                  rows)
    for a in detail.allocations:
        out += ["", f"### Task events of allocation {md_cell(a.short_id)} ({md_cell(a.task_group)}), newest first", ""]
        events = _events(a)
        if not events:
            out.append("No task events.")
            continue
        out += _table(["Time (UTC)", "Task", "Type", "Message"],
                      ([utc(t), md_cell(task), md_cell(ev.type), md_cell(ev.text)] for t, task, ev in events))
    return out


def _dtle_log_lines(detail: JobDetail, seen: Mapping[str, list]) -> list:
    """dtle's lines of the job's allocations that the console saw (live/agentlogs.py SEEN): dtle writes no
    stdout/stderr and Nomad streams the agent's log live only, so these are all a report can carry."""
    out = ["## dtle's log lines seen by this console", ""]
    if detail.job is not None and not any(t.driver == "dtle" for g in detail.job.task_groups for t in g.tasks):
        return out + ["None: no task of this job runs under the dtle driver."]
    shown = [(a, seen[a.id]) for a in detail.allocations if seen.get(a.id)]
    if not shown:
        return out + ["None seen: dtle writes no stdout/stderr, and the console reads its lines in the Nomad "
                      "agent's log only while `l` shows them (Nomad streams that log live, never its past)."]
    out.append("dtle writes no stdout/stderr: these are its lines in the Nomad agent's log, as `l` showed them.")
    for alloc, lines in shown:
        out += ["", f"### Allocation {md_cell(alloc.short_id)} ({md_cell(alloc.task_group)}), "
                    f"{len(lines)} lines, oldest first", "", code_block("\n".join(lines))]
    return out


def _audit_lines(entries: list) -> list:
    out = ["## Actions taken on this job (audit log)", ""]
    if not entries:
        return out + ["None recorded by dtle-tui on this machine."]
    rows = ([md_cell(e.get("time")), md_cell(e.get("user")), md_cell(e.get("action")),
             md_cell("; ".join(str(r) for r in e.get("request") or [])), md_cell(e.get("result")),
             md_cell(e.get("backup") or "")] for e in entries)
    return out + _table(["Time (UTC)", "User", "Action", "Requests", "Result", "Backup"], rows)


def _optional_lines(title: str, data: Any) -> list:
    """A section for data other parts of the console may attach to the job detail (see build_report):
    rendered from its own `markdown()` when it has one, else as a table of its fields, else raw."""
    if data is None or data == () or data == []:
        return []
    out = [f"## {title}", ""]
    render = getattr(data, "markdown", None)
    if callable(render):
        return out + [str(render())]
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    if isinstance(data, Mapping):
        return out + _table(["Item", "Value"], ([md_cell(k), md_cell(v)] for k, v in data.items()))
    if isinstance(data, (list, tuple)):
        return out + [f"- {md_cell(item)}" for item in data]
    return out + [code_block(str(data))]


def cluster_summary_lines(rows: list, now: float, limit: int = 20) -> list:
    """The cluster at the time of the report, as Jobs shows it first: the counts of what needs attention
    and those jobs in the attention order (model/attention.py), with their verdict, stage reached and reason."""
    counts, needing = summary_lines(rows, lambda r: r.verdict, lambda r: r.id, limit)
    lines = ["## Cluster", "", f"{len(rows)} jobs; needing attention: {counts}."]
    if needing:
        table = [[md_cell(r.id), r.verdict.label, r.verdict.stage.stage.label,
                  md_cell(reason_now(r.verdict, int(now * 1e9), r.stalled_since_ns, width=80))] for r in needing]
        lines += [""] + _table(["Job", "Verdict", "Stage reached", "Reason"], table)
        more = sum(1 for r in rows if r.verdict is not None and r.verdict.needs_attention) - len(needing)
        if more > 0:
            lines += ["", f"And {more} more."]
    return lines


def build_report(
    detail: JobDetail,
    *,
    cluster: str,
    now: float,
    row: Optional[JobRow] = None,
    position: Optional[JobPosition] = None,
    consul_enabled: bool = True,
    rate: Optional[float] = None,
    advanced_s: Optional[float] = None,
    nodes: Iterable[Node] = (),
    audit: Iterable[dict] = (),
    stall_threshold_s: float = 300.0,
    secrets: Iterable[str] = (),
    placement: Any = None,
    dtle_progress: Any = None,
    cluster_rows: Iterable[JobRow] = (),
    dtle_log: Optional[Mapping[str, list]] = None,
) -> str:
    """The report's Markdown. `placement` and `dtle_progress` are hooks: the placement failures of the
    job and dtle's own progress/delay, rendered when given (see _optional_lines); `secrets` are extra
    texts to mask (tokens of the settings). `dtle_log`: per allocation ID, dtle's lines the console saw
    (None: the section is left out)."""
    by_node = {n.id: n for n in nodes}
    lines = [f"# Incident report: dtle job {md_cell(detail.job_id)}", "",
             f"Cluster {md_cell(cluster)}, written {utc(int(now * 1e9))} by {md_cell(os_user())} "
             f"with dtle-tui {__version__}. Times are UTC.", "", "## Status", ""]
    lines += _table(["Item", "Value"], _status_rows(detail, row, now, stall_threshold_s))
    lines += [""] + _gtid_lines(position, consul_enabled, rate, advanced_s, now)
    lines += [""] + cluster_summary_lines(list(cluster_rows), now)
    # HOOK (dtle progress/delay, issue 13): the monitor's figures when the JobDetail carries them.
    progress_lines = _optional_lines("dtle progress and delay", dtle_progress)
    lines += [""] + progress_lines if progress_lines else []
    lines += [""] + _timeline_lines(detail)
    lines += [""] + _alloc_lines(detail, by_node, now)
    # HOOK (placement failures, issue 12): why allocations were not placed, when the JobDetail carries it.
    placement_lines = _optional_lines("Placement failures", placement)
    lines += [""] + placement_lines if placement_lines else []
    lines += ["", "## Last error", ""]
    if detail.last_error is not None:
        when, alloc, text = detail.last_error
        lines += [f"{utc(when)}, allocation {md_cell(alloc)}:", "", code_block(text)]
    else:
        lines.append("No task event carries an error.")
    if dtle_log is not None:
        lines += [""] + _dtle_log_lines(detail, dtle_log)
    lines += [""] + _audit_lines(list(audit)) + [""]
    text = "\n".join(lines)
    hidden = set(secrets)
    if detail.job is not None:
        hidden |= collect_secrets(detail.job.raw)
    return redact(redact_text(text, hidden))


def job_audit(state: Path, cluster: str, job_id: str) -> list:
    """The audit entries of one job of one cluster, oldest first."""
    return [e for e in read_entries(state) if e.get("job") == job_id and e.get("cluster") == cluster]


def report_path(state: Path, cluster: str, job_id: str, when: Optional[datetime] = None) -> Path:
    return Path(state) / "reports" / safe_segment(cluster) / f"{safe_segment(job_id)}-{timestamp(when)}.md"


def write_report(state: Path, cluster: str, job_id: str, markdown: str) -> Path:
    """Write the report atomically (0600, directories 0700); returns its path. Raises ReportError."""
    path = report_path(state, cluster, job_id)
    try:
        ensure_private_dir(path.parent)
        n = 0
        while path.exists():  # two reports within one millisecond
            n += 1
            path = path.with_name(f"{path.stem.rsplit('~', 1)[0]}~{n}.md")
        write_atomic(path, markdown.encode("utf-8"))
    except OSError as exc:
        raise ReportError(f"report not written ({exc.strerror or exc}: {exc.filename or path})") from None
    return path


def placement_lines(snapshot: Any, detail: JobDetail, job_id: str) -> tuple:
    """The "Not placed" section of Job detail, as list items: per task group, its queued count and why
    Nomad could not place it (the open job's evaluations, live/troubleshoot.py). Empty when all is placed."""
    troubles = getattr(snapshot, "troubles", None)
    if troubles is None or troubles.job_id != job_id or not troubles.evaluations:
        return ()
    row = snapshot.row(job_id)
    # As on screen: with the summary saying nothing is queued, an old failed evaluation is history.
    queued = None if row is None or row.src.queued or row.dest.queued else {}
    out = []
    for group in placement_report(troubles.evaluations, detail.job, queued):
        waits = f"; blocked evaluation {group.blocked_eval[:8]} waits" if group.blocked_eval else ""
        out.append(f"group {group.group}: {group.queued} queued (evaluation {group.eval_id[:8]}{waits})")
        out.extend(f"group {group.group}: {line}" for line in group.lines)
    return tuple(out)


def report_job(settings: Any, snapshot: Any, job_id: str, rate: Optional[float] = None,
               advanced_s: Optional[float] = None, now: Optional[float] = None) -> Path:
    """`E`: the report of the job open in `snapshot.detail`, from what the console shows, written under
    the settings' state directory. Reads only local files (the audit log); raises ReportError."""
    detail = snapshot.detail
    if detail is None or detail.job_id != job_id:
        raise ReportError(f"job {job_id} is not loaded yet: try again in a moment")
    cluster = cluster_name(settings.context, settings.nomad.addr)
    state = Path(settings.state_dir)
    tokens = [settings.nomad.token, settings.consul.token]
    tokens += [auth[1] for auth in (settings.nomad.http_auth, settings.consul.http_auth) if auth]
    markdown = build_report(
        detail, cluster=cluster, now=time.time() if now is None else now, row=snapshot.row(job_id),
        position=snapshot.positions.get(job_id), consul_enabled=snapshot.consul.error is None, rate=rate,
        advanced_s=advanced_s, nodes=snapshot.nodes, audit=job_audit(state, cluster, job_id),
        stall_threshold_s=settings.stall_threshold_s, secrets=[t for t in tokens if t],
        placement=placement_lines(snapshot, detail, job_id),
        # dtle's own figures (live/monitor.py), when the dtle_api setting is on and the job was polled.
        dtle_progress=getattr(snapshot, "dtle", {}).get(job_id),
        cluster_rows=snapshot.rows,
        dtle_log={a.id: [line.text for line in SEEN.lines(settings.nomad.addr, a.id)] for a in detail.allocations},
    )
    return write_report(state, cluster, job_id, markdown)
