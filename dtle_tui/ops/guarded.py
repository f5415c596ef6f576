"""What every write operation (ops/actions.py's job actions, ops/repair.py's repairs) shares: where its
backups and audit lines go, the read-only refusal, and a run that always ends in a report and an audit
line, whatever happened on the way (a refusal, an API error, a bug).

Writes run on the UI's event loop (ops/session.py): the files (backups, audit lines, each fsynced) are
written in a worker thread (`asyncio.to_thread`), so a slow disk never holds the screen."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from dtle_tui.ops import backup as bk
from dtle_tui.ops.audit import record
from dtle_tui.ops.report import ActionResult, _Abort, _Run

log = logging.getLogger(__name__)

READ_ONLY = "read-only mode (--read-only / read_only = true); nothing was sent"


class GuardedOps:
    def __init__(self, settings: Any, state: Optional[Path] = None, cluster: Optional[str] = None) -> None:
        self.settings = settings
        self.state = Path(state or getattr(settings, "state_dir", None) or bk.state_dir())
        self.cluster = cluster or bk.cluster_name(getattr(settings, "context", None), settings.nomad.addr)

    @property
    def read_only(self) -> bool:
        return bool(getattr(self.settings, "read_only", False))

    async def _guarded(self, run: _Run, body: Callable[[_Run], Awaitable[ActionResult]],
                       refused_requests: list) -> ActionResult:
        """Run `body` (refused in read-only mode) and audit the outcome. `refused_requests`: what the audit
        line names when nothing was sent."""
        try:
            if self.read_only:
                raise run.refuse(READ_ONLY)
            result = await body(run)
        except _Abort as abort:
            result = abort.result
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must still produce a report of what was done
            log.exception("%s on %r", run.action, run.job_id)
            result = run.fail("", f"internal error: {type(exc).__name__}: {exc}").result
        return await self._audited(run, result, refused_requests)

    async def _audited(self, run: _Run, result: ActionResult, refused_requests: list) -> ActionResult:
        result.notes = [n for n in result.notes if n]
        outcome = "ok" if result.ok else ("refused: " if result.refused else "failed: ") + (result.error or "")
        try:
            await asyncio.to_thread(record, self.state, cluster=self.cluster, action=run.action, job=run.job_id,
                                    requests=run.requests or (refused_requests if result.refused else []),
                                    result=outcome, backup=result.backup)
        except OSError as exc:
            result.notes.append(f"audit log not written: {exc.strerror or exc}")
        return result

    async def write_backup(self, name: str, files: dict) -> Path:
        """bk.write_backup in a worker thread (BackupError as it raises it)."""
        return await asyncio.to_thread(bk.write_backup, self.state, self.cluster, name, files)


async def refuse_read_only(settings: Any, action: str, target: Optional[str],
                           state: Optional[Path] = None) -> ActionResult:
    """A write key pressed in read-only mode (keys.write_key): refused and audited before anything else,
    with the same words as an operation's own refusal, and without a connection."""
    run = _Run(action, target, set())
    return await GuardedOps(settings, state)._audited(run, run.refuse(READ_ONLY).result, [])
