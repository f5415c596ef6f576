"""Why the jobs that cannot be placed are not placed: one short reason per job for the Jobs row (issue 23).

Evaluations are read only for jobs whose JobSummary counts queued allocations, and again only when that
job's stub or summary moved: the requests of a refresh grow with the jobs Nomad cannot place, never with
the healthy ones. At most a few reads run at once; a failed read leaves the reason unknown (the verdict
then says which group cannot be placed, without why).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Iterable, Mapping, Optional

from dtle_tui.model.attention import placement_reason
from dtle_tui.model.evaluations import parse_evaluations
from dtle_tui.model.jobs import JobStub

log = logging.getLogger(__name__)

AT_ONCE = 4  # evaluation reads in flight at most


def queued_groups(stub: JobStub) -> tuple[str, ...]:
    return tuple(sorted(g for g, s in stub.summary.items() if s.queued))


class Placements:
    def __init__(self, loop: asyncio.AbstractEventLoop, nomad: Callable[[], Any],
                 job_changed: Callable[[str], None]) -> None:
        self.loop = loop
        self._nomad = nomad  # the Nomad client, once there is one
        self._job_changed = job_changed  # marks the job's row for a rebuild and asks for a snapshot
        self.reasons: dict[str, str] = {}
        self._read_for: dict[str, tuple] = {}  # job ID -> the stub's indexes its reason was read at
        self._running: set[str] = set()
        self._gate: Optional[asyncio.Semaphore] = None  # made on the poller's loop (3.9 binds it at creation)
        self.requests = 0  # evaluation reads sent (tests count them)

    def answered(self, job_ids) -> bool:
        """Every one of `job_ids` had its evaluations read at its current indexes (tests, snapshots)."""
        return not self._running and all(job_id in self._read_for for job_id in job_ids)

    def reason(self, job_id: str) -> str:
        return self.reasons.get(job_id, "")

    def check(self, stubs: Mapping[str, JobStub], changed: Iterable[str]) -> None:
        """On the poller's loop, with the jobs that changed since the last snapshot: read the evaluations
        of those that have queued allocations and were not read at their current indexes."""
        for job_id in changed:
            stub = stubs.get(job_id)
            groups = queued_groups(stub) if stub is not None else ()
            if not groups:
                self.reasons.pop(job_id, None)
                self._read_for.pop(job_id, None)
                continue
            key = (stub.modify_index, stub.summary_modify_index, groups)
            if self._read_for.get(job_id) == key or job_id in self._running:
                continue
            self._read_for[job_id] = key
            self._running.add(job_id)
            self.loop.create_task(self._read(job_id, groups))

    async def _read(self, job_id: str, groups: tuple[str, ...]) -> None:
        try:
            nomad = self._nomad()
            if nomad is None:
                return
            if self._gate is None:
                self._gate = asyncio.Semaphore(AT_ONCE)
            async with self._gate:
                self.requests += 1
                answer = await nomad.job_evaluations(job_id)
            reason = placement_reason(parse_evaluations(answer.value), groups)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # unknown then: the verdict says which group waits, without why
            log.info("evaluations of %s not read: %s", job_id, exc)
            self._read_for.pop(job_id, None)
            reason = ""
        finally:
            self._running.discard(job_id)
        if reason != self.reasons.get(job_id, ""):
            if reason:
                self.reasons[job_id] = reason
            else:
                self.reasons.pop(job_id, None)
            self._job_changed(job_id)

    def forget(self, job_id: Optional[str] = None) -> None:
        """Nomad's state was reset (None) or a job went away: read again when needed."""
        if job_id is None:
            self.reasons.clear()
            self._read_for.clear()
        else:
            self.reasons.pop(job_id, None)
            self._read_for.pop(job_id, None)
