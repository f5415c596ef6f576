"""Write actions on dtle jobs: delete, purge, Gtid reset and restore, add, re-add.

Every destructive action follows one order: back up (GET /v1/job/<id> when the job exists, plus every
Consul key of the job) -> if the backup fails, send nothing -> act, each write sent once and never
retried -> audit -> report exactly what was and was not done. The Gtid reset follows docs/reference/dtle.md §4: it is
refused while an allocation of the job is pending or running, deletes `dtle/<job>/` with the trailing
slash (so job1 never takes job10's keys) and `dtleJobList/<job>` exactly, and leaves the target's
`dtle.gtid_executed_v4` rows alone. `plan_*` give the confirmation dialogs the requests as they are sent
(Calls built by the clients, api/), and the actions send those same Calls.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional, Union

from dtle_tui import __version__
from dtle_tui.api.errors import ApiError
from dtle_tui.model.gtid import binlog_shown
from dtle_tui.model.jobspec import SpecError, load_spec, without_token_ids
from dtle_tui.ops import backup as bk
from dtle_tui.ops.audit import os_user, utc_now_iso
from dtle_tui.ops.guarded import GuardedOps
from dtle_tui.ops.report import (
    ACTIVE,
    GTID_NOTE,
    ActionResult,
    Plan,
    _Abort,
    _Run,
    consul_unsafe,
    gtid_of,
    no_userinfo,
    resumes_from,
    sql_quote,
)
from dtle_tui.text.secrets import collect_secrets

if TYPE_CHECKING:
    from dtle_tui.api.consul_kv import ConsulKV
    from dtle_tui.api.http import Call
    from dtle_tui.api.nomad import NomadClient

__all__ = ["ActionResult", "Actions", "Plan", "SpecError", "load_spec", "resumes_from"]



class Actions(GuardedOps):
    def __init__(self, nomad: NomadClient, consul: ConsulKV, settings: Any, state: Optional[Path] = None,
                 cluster: Optional[str] = None) -> None:
        super().__init__(settings, state, cluster)
        self.nomad, self.consul = nomad, consul

    # ---- the requests: built by the clients that send them (api/), printed as they go out ----------
    def backup_reads(self, job_id: str) -> list:
        return [self.nomad.job_call(job_id).text(), *(c.text() for c in self.consul.job_entries_calls(job_id))]

    def reset_calls(self, job_id: str) -> tuple[Call, Call]:
        """The Gtid reset's two deletes: the job's tree with the trailing slash, then its dtleJobList key."""
        return self.consul.delete_tree_call(f"dtle/{job_id}/"), self.consul.delete_call(f"dtleJobList/{job_id}")

    def reset_writes(self, job_id: str) -> list:
        return [call.text() for call in self.reset_calls(job_id)]

    def register_text(self) -> str:
        """POST /v1/jobs as it is sent (whatever the spec: its body, which holds passwords, is never shown)."""
        return self.nomad.register_call({}).text()

    def restore_calls(self, job_id: str, saved: bk.Backup) -> list:
        """One create-only PUT per saved key of the job (cas=0: a key that has a value now is never
        overwritten), with the flags it had."""
        keys = [k for k in saved.keys if k.key.startswith(f"dtle/{job_id}/") or k.key == f"dtleJobList/{job_id}"]
        return [(k.key, self.consul.put_call(k.key, k.value or b"", cas=0, flags=k.flags)) for k in keys]

    def root(self, job_id: str) -> Path:
        """The directory holding every backup of one job."""
        return bk.backup_root(self.state, self.cluster, job_id)

    def backup_dir_hint(self, job_id: str) -> Path:
        return self.root(job_id) / "<UTC timestamp>"

    # ---- shared steps ---------------------------------------------------------------------------
    async def _perform(self, action: str, job_id: Optional[str], planned: list,
                       body: Callable[[_Run], Awaitable[ActionResult]], secrets: Optional[set] = None) -> ActionResult:
        run = _Run(action, job_id, secrets or set())
        if self.read_only:
            run.pending = list(planned)  # the refusal lists all of it as not done
        return await self._guarded(run, body, planned)

    async def _read_job(self, run: _Run, job_id: str) -> Optional[dict]:
        try:
            return (await self.nomad.job(job_id)).value
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise run.fail("", f"could not read the job for the backup ({exc.one_line()}); nothing was sent") from None

    async def _read_keys(self, run: _Run, job_id: str) -> list:
        try:
            entries = await self.consul.job_entries(job_id)
        except ApiError as exc:
            raise run.fail("", f"could not read the job's Consul keys for the backup ({exc.one_line()}); "
                               "nothing was sent") from None
        # consul_kv asks with the trailing slash already; this guards the job1/job10 rule here too.
        return [e for e in entries if e.key.startswith(f"dtle/{job_id}/") or e.key == f"dtleJobList/{job_id}"]

    async def _read_keys_if_possible(self, run: _Run, job_id: str) -> Optional[list]:
        """The keys for a stop or purge backup, or None (said in the result) when Consul cannot be read:
        neither action touches Consul (dtle keeps the Gtid by design), so Consul down must not block them."""
        if self.consul is None:
            reason = "Consul: not connected yet"
        else:
            try:
                entries = await self.consul.job_entries(job_id)
            except ApiError as exc:
                reason = exc.one_line()
            else:
                return [e for e in entries if e.key.startswith(f"dtle/{job_id}/") or e.key == f"dtleJobList/{job_id}"]
        run.notes.append(f"Consul keys NOT saved in the backup ({reason}); a stop or purge does not touch them")
        return None

    async def _backup(self, run: _Run, job_id: str, job: Optional[dict], entries: Optional[list]) -> Path:
        """`entries` None: Consul could not be read (stop and purge go on without): no consul.json."""
        files = {"consul.json": bk.entries_to_json(job_id, entries)} if entries is not None else {}
        if job is not None:
            files["job.json"] = bk.json_bytes(without_token_ids(job))
        files["meta.json"] = bk.json_bytes({
            "action": run.action, "time": utc_now_iso(), "user": os_user(), "cluster": self.cluster,
            "job": job_id, "job_found": job is not None, "consul_saved": entries is not None,
            "consul_keys": [e.key for e in entries or ()],
            "nomad_addr": no_userinfo(self.settings.nomad.addr),
            "consul_addr": no_userinfo(self.settings.consul.addr), "dtle_tui": __version__,
        })
        try:
            path = await self.write_backup(job_id, files)
        except bk.BackupError as exc:
            raise run.fail("", f"{exc}; nothing was sent") from None
        run.backup = path
        what = "job spec and " if job is not None else ""
        if entries is None:
            run.done.append("backup of the job spec written (without the Consul keys)")
        else:
            run.done.append(f"backup of the {what}{len(entries)} Consul key(s) written")
        return path

    async def _active_allocations(self, run: _Run, job_id: str) -> list:
        try:
            allocs = (await self.nomad.send(self.nomad.job_allocations_call(job_id))).value
        except ApiError as exc:
            raise run.fail("", f"could not check the job's allocations ({exc.one_line()}); nothing was sent") from None
        return [a for a in allocs if isinstance(a, dict) and a.get("ClientStatus") in ACTIVE]

    @staticmethod
    def _active_reason(active: list) -> str:
        # Why the reset waits for every allocation to end: docs/reference/dtle.md §4 step 3.
        names = ", ".join(f"{str(a.get('ID', ''))[:8]} {a.get('TaskGroup', '?')} {a.get('ClientStatus')}"
                          for a in active[:4])
        return (f"{len(active)} allocation(s) of the job still pending or running ({names}). Stop the job "
                "(d) and wait until every allocation is terminal: running tasks rewrite the Gtid")

    # ---- delete / purge ---------------------------------------------------------------------------
    def plan_delete(self, job_id: str, purge: bool = False) -> Plan:
        what = ("Nomad removes the job at once (GET then answers 404)" if purge else
                "Nomad stops the job and keeps it (Stop: true) until garbage collection")
        return Plan("purge" if purge else "delete", job_id,
                    self.backup_reads(job_id) + [self.nomad.deregister_call(job_id, purge).text()],
                    self.backup_dir_hint(job_id),
                    [what, "Consul keys are kept: a re-added job resumes from its Gtid (G resets it)"])

    async def delete_job(self, job_id: str) -> ActionResult:
        return await self._deregister(job_id, purge=False)

    async def purge_job(self, job_id: str) -> ActionResult:
        return await self._deregister(job_id, purge=True)

    async def _deregister(self, job_id: str, purge: bool) -> ActionResult:
        action = "purge" if purge else "delete"
        call = self.nomad.deregister_call(job_id, purge)
        step = call.text()

        async def body(run: _Run) -> ActionResult:
            run.pending = ["backup", step]
            job = await self._read_job(run, job_id)
            if job is None:
                raise run.refuse(f"job {job_id!r} not found in Nomad; nothing to {action}")
            entries = await self._read_keys_if_possible(run, job_id)
            await self._backup(run, job_id, job, entries)
            run.pending.remove("backup")
            await run.send(step, self.nomad.send(call))
            if entries is not None:
                gtid, _ = gtid_of(entries, job_id)
                run.notes.append(f"Consul keys kept ({len(entries)}): a re-added job resumes from Gtid "
                                 f"{gtid or '(none stored)'}; G resets it, R re-adds the job from the backup"
                                 if entries else "Consul holds no keys for this job")
            verb = "purged (removed from Nomad)" if purge else "stopped (Stop: true; kept until GC)"
            return run.result(True, f"Job {job_id} {verb}.")

        return await self._perform(action, job_id, [step], body)

    # ---- Gtid reset / restore ---------------------------------------------------------------------
    async def plan_reset_gtid(self, job_id: str) -> Plan:
        plan = Plan("reset-gtid", job_id,
                    [f"{self.nomad.job_allocations_call(job_id).text()} (none may be pending or running)"]
                    + self.backup_reads(job_id) + self.reset_writes(job_id),
                    self.backup_dir_hint(job_id))
        run = _Run("reset-gtid", job_id, set())
        try:
            active = await self._active_allocations(run, job_id)
            if active:
                plan.refusal = self._active_reason(active)
            entries = await self._read_keys(run, job_id)
        except _Abort as abort:
            # Not knowing what is there is a reason to refuse at once, not to ask for the job ID first.
            plan.refusal = f"could not check now: {abort.result.error}"
            return plan
        plan.gtid, binlog = gtid_of(entries, job_id)
        plan.notes.append(f"Removes {len(entries)} key(s): " + (", ".join(e.key for e in entries) or "none")
                          + f"; Gtid now: {plan.gtid or '(empty)'}"
                          + (f"; BinlogFilePos {binlog_shown(binlog)}" if binlog else ""))
        plan.notes.append(GTID_NOTE.format(sql=self.gtid_sql(job_id)))
        return plan

    @staticmethod
    def gtid_sql(job_id: str) -> str:
        return f"DELETE FROM dtle.gtid_executed_v4 WHERE job_name={sql_quote(job_id)};"

    async def reset_gtid(self, job_id: str) -> ActionResult:
        async def body(run: _Run) -> ActionResult:
            await self._reset_steps(run, job_id)
            return run.result(True, run.notes.pop(0) if run.notes else f"Gtid of {job_id} reset")

        return await self._perform("reset-gtid", job_id, self.reset_writes(job_id), body)

    async def _reset_steps(self, run: _Run, job_id: str, backup: bool = True) -> None:
        """Check allocations, back up, delete the job's keys. Adds the summary as run.notes[0]."""
        tree_call, listed_call = self.reset_calls(job_id)
        tree, listed = tree_call.text(), listed_call.text()
        run.pending += ["backup", tree, listed] if backup else [tree, listed]
        unsafe = consul_unsafe(job_id)
        if unsafe:
            raise run.refuse(unsafe)
        active = await self._active_allocations(run, job_id)
        if active:
            raise run.refuse(self._active_reason(active))
        entries = await self._read_keys(run, job_id)
        if backup:
            job = await self._read_job(run, job_id)
            await self._backup(run, job_id, job, entries)
            run.pending.remove("backup")
        gtid, binlog = gtid_of(entries, job_id)
        await run.send(tree, self.consul.send(tree_call),
                       ", ".join(e.key for e in entries if e.key.startswith("dtle/")) or "no key was there")
        await run.send(listed, self.consul.send(listed_call))
        run.notes.insert(0, f"Gtid of job {job_id} reset: removed {len(entries)} Consul key(s); the Gtid was "
                            f"{gtid or '(empty)'}"
                            + (f", BinlogFilePos {binlog_shown(binlog)}" if binlog else "") + ".")
        run.notes.append(GTID_NOTE.format(sql=self.gtid_sql(job_id)))
        if run.backup:
            run.notes.append("U restores these keys from the backup below")

    def plan_restore_gtid(self, job_id: str) -> Plan:
        path = bk.latest_backup(self.state, self.cluster, job_id, want="gtid")
        plan = Plan("restore-gtid", job_id, [])
        if path is None:
            plan.refusal = f"no backup of job {job_id}'s Consul keys under {self.root(job_id)}"
            return plan
        saved = bk.load_backup(path)
        plan.requests = [call.text() for _key, call in self.restore_calls(job_id, saved)]
        plan.gtid = (saved.value_of(f"dtle/{job_id}/Gtid") or b"").decode("utf-8", "replace")
        plan.notes = [f"From backup {path}", "cas=0: a key that has a value now is skipped, never overwritten"]
        return plan

    async def restore_gtid(self, job_id: str) -> ActionResult:
        async def body(run: _Run) -> ActionResult:
            if consul_unsafe(job_id):
                raise run.refuse(consul_unsafe(job_id) or "")
            path = bk.latest_backup(self.state, self.cluster, job_id, want="gtid")
            if path is None:
                raise run.refuse(f"no backup of job {job_id}'s Consul keys under "
                                 f"{self.root(job_id)}")
            try:
                saved = bk.load_backup(path)
            except bk.BackupError as exc:
                raise run.refuse(str(exc)) from None
            calls = self.restore_calls(job_id, saved)
            run.pending = [call.text() for _key, call in calls]
            restored, skipped = [], []
            for key, call in calls:
                ok = await run.send(call.text(), self.consul.send(call))
                (restored if ok else skipped).append(key)
                if not ok:
                    run.done[-1] += ": skipped, the key has a value (cas=0 never overwrites)"
            gtid = (saved.value_of(f"dtle/{job_id}/Gtid") or b"").decode("utf-8", "replace")
            run.notes.append(f"restored: {', '.join(restored) or 'none'}")
            run.notes.append(f"skipped (a value exists): {', '.join(skipped) or 'none'}")
            run.backup = path
            return run.result(True, f"Restored {len(restored)} of {len(calls)} Consul key(s) of job {job_id} "
                                    f"from its backup (Gtid {gtid or '(empty)'})")

        return await self._perform("restore-gtid", job_id, self._restore_texts(job_id), body)

    def _restore_texts(self, job_id: str) -> list:
        """What a restore would send, for the audit line of a refusal: the PUTs of the latest backup."""
        path = bk.latest_backup(self.state, self.cluster, job_id, want="gtid")
        try:
            saved = bk.load_backup(path) if path is not None else None
        except bk.BackupError:
            saved = None
        return [call.text() for _key, call in self.restore_calls(job_id, saved)] if saved is not None else []

    # ---- add / re-add -----------------------------------------------------------------------------
    async def plan_add(self, source: Union[str, Path, dict]) -> Plan:
        try:
            spec = load_spec(source)
        except SpecError as exc:
            return Plan("add", None, [], refusal=str(exc))
        job_id = spec["Job"]["ID"]
        plan = await self._plan_register("add", job_id)
        plan.spec = spec
        return plan

    async def plan_readd(self, job_id: str) -> Plan:
        path = bk.latest_backup(self.state, self.cluster, job_id, want="job")
        plan = await self._plan_register("re-add", job_id)
        if path is None:
            plan.refusal = f"no saved spec for job {job_id} under {self.root(job_id)}"
        else:
            plan.notes.insert(0, f"Spec from backup {path}")
        return plan

    async def _plan_register(self, action: str, job_id: str) -> Plan:
        tree_call, _listed = self.consul.job_entries_calls(job_id)
        plan = Plan(action, job_id, [self.nomad.job_call(job_id).text(), tree_call.text(),
                                     f"{self.register_text()} (sent once)"])
        run = _Run(action, job_id, set())
        try:
            job = await self._read_job(run, job_id)
            entries = await self._read_keys(run, job_id)
        except _Abort as abort:
            plan.notes.append(f"could not check now: {abort.result.error}")
            return plan
        if job is not None and not job.get("Stop"):
            plan.refusal = self._running_reason(job_id)
        elif job is not None:
            plan.backup_dir = self.backup_dir_hint(job_id)
            plan.notes.append("Nomad still has the stopped job: registering replaces and restarts it")
        plan.gtid, binlog = gtid_of(entries, job_id)
        plan.resumes = resumes_from(plan.gtid, binlog)
        if plan.resumes:
            plan.notes.append(f"Consul still holds a position for {job_id}: the job will RESUME from Gtid "
                              f"{plan.gtid or '(empty)'}{' / ' + binlog_shown(binlog) if binlog else ''}, "
                              "NOT from its config. "
                              "Choose 'reset Gtid first' to start from the config.")
        else:
            plan.notes.append("Consul holds no position for this job: it starts from its config")
        return plan

    @staticmethod
    def _running_reason(job_id: str) -> str:
        return (f"job {job_id} exists in Nomad and is not stopped: registering would update it in place "
                "(Nomad restarts its tasks when the config changed); delete it first")

    async def add_job(self, source: Union[str, Path, dict], reset_gtid_first: bool = False) -> ActionResult:
        try:
            spec = load_spec(source)
        except SpecError as exc:
            error = str(exc)

            async def invalid(run: _Run) -> ActionResult:
                run.pending = [self.register_text()]
                return run.result(False, f"add failed: {error}. Nothing was sent.", error)

            return await self._perform("add", None, [self.register_text()], invalid)
        job_id = spec["Job"]["ID"]
        return await self._perform("add", job_id, [self.register_text()],
                                   lambda run: self._register(run, job_id, spec, reset_gtid_first),
                                   collect_secrets(spec))

    async def readd_job(self, job_id: str, reset_gtid_first: bool = False) -> ActionResult:
        async def body(run: _Run) -> ActionResult:
            path = bk.latest_backup(self.state, self.cluster, job_id, want="job")
            if path is None:
                raise run.refuse(f"no saved spec for job {job_id} under "
                                 f"{self.root(job_id)}")
            job = copy.deepcopy(bk.load_backup(path).job or {})
            if job.get("ID") != job_id:
                raise run.refuse(f"the backup {path} holds job {job.get('ID')!r}, not {job_id!r}")
            job["Stop"] = False  # a spec saved from a stopped job must not register stopped again
            run.secrets = collect_secrets(job)
            run.notes.append(f"spec from backup {path}")
            return await self._register(run, job_id, {"Job": job}, reset_gtid_first)

        return await self._perform("re-add", job_id, [self.register_text()], body)

    async def _register(self, run: _Run, job_id: str, spec: dict, reset_first: bool) -> ActionResult:
        call = self.nomad.register_call(spec)
        step = call.text()
        run.pending = [step]
        current = await self._read_job(run, job_id)
        if current is not None and not current.get("Stop"):
            raise run.refuse(self._running_reason(job_id))
        entries = await self._read_keys(run, job_id)
        if current is not None or (reset_first and entries):
            await self._backup(run, job_id, current, entries)
        if reset_first and entries:
            run.pending = []
            await self._reset_steps(run, job_id, backup=False)
            run.pending.append(step)
            entries = []
        await run.send(step, self.nomad.send(call), "registered")
        gtid, binlog = gtid_of(entries, job_id)
        start = (f"it RESUMES from the Gtid stored in Consul ({gtid or binlog_shown(binlog)}), not from its config"
                 if resumes_from(gtid, binlog) else "it starts from its config (no position in Consul)")
        return run.result(True, f"Job {job_id} {'re-added' if run.action == 're-add' else 'added'}: {start}")
