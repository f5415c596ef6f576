"""Results, plans and the bookkeeping of one write action (see actions.py).

`ActionResult` is what the operator reads after an action: what was done, what was not, the backup.
`Plan` is what the confirmation dialog shows before it: the exact requests and the backup directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Optional
from urllib.parse import urlsplit, urlunsplit

from dtle_tui.api.errors import ApiError
from dtle_tui.text.secrets import redact_text

ACTIVE = ("pending", "running")
GTID_NOTE = ("The target database's dtle.gtid_executed_v4 rows are NOT touched; to re-apply transactions, "
             "run on the target MySQL: {sql}")


@dataclass
class ActionResult:
    ok: bool
    summary: str
    done: list = field(default_factory=list)
    not_done: list = field(default_factory=list)
    backup: Optional[Path] = None
    error: Optional[str] = None
    action: str = ""
    job_id: Optional[str] = None
    refused: bool = False
    notes: list = field(default_factory=list)

    def text(self) -> str:
        """The whole report, for a notification or a log: summary, done, not done, notes, backup."""
        lines = [self.summary]
        lines += [f"done: {d}" for d in self.done]
        lines += [f"NOT done: {d}" for d in self.not_done]
        lines += self.notes
        if self.backup:
            lines.append(f"backup: {self.backup}")
        return "\n".join(lines)

    def brief(self) -> str:
        """The report for a notification: a success leaves out the steps its summary already says."""
        lines = [self.summary]
        if not self.ok and not self.refused:
            lines += [f"done: {d}" for d in self.done] + [f"NOT done: {d}" for d in self.not_done]
        lines += self.notes
        if self.backup:
            lines.append(f"backup: {self.backup}")
        return "\n".join(lines)


@dataclass
class Plan:
    """What a confirmed action will send; `refusal` set when it would be refused as things stand."""

    action: str
    job_id: Optional[str]
    requests: list
    backup_dir: Optional[Path] = None
    notes: list = field(default_factory=list)
    refusal: Optional[str] = None
    gtid: Optional[str] = None  # the Gtid Consul holds for the job, when it was read
    resumes: bool = False  # a re-added job would resume from Consul, not from its config
    spec: Optional[dict] = None  # add: the parsed job.json

    def lines(self) -> list:
        """Dialog text: what it means first (it must be seen at 60x20), then the exact requests."""
        out = [f"Refused: {self.refusal}"] if self.refusal else []
        out += self.notes
        out += [f"→ {r}" for r in self.requests]
        if self.backup_dir is not None:
            out.append(f"Backup first, to {self.backup_dir}")
        return out


class _Abort(Exception):
    def __init__(self, result: ActionResult) -> None:
        super().__init__(result.summary)
        self.result = result


class _Run:
    """The bookkeeping of one action: what is done, what is still to do, what was requested."""

    def __init__(self, action: str, job_id: Optional[str], secrets: set) -> None:
        self.action, self.job_id, self.secrets = action, job_id, secrets
        self.done: list = []
        self.pending: list = []
        self.requests: list = []
        self.notes: list = []
        self.backup: Optional[Path] = None

    def _clean(self, text: str) -> str:
        return redact_text(text, self.secrets)

    def result(self, ok: bool, summary: str, error: Optional[str] = None, refused: bool = False) -> ActionResult:
        return ActionResult(ok=ok, summary=self._clean(summary), done=list(self.done),
                            not_done=[self._clean(p) for p in self.pending], backup=self.backup,
                            error=self._clean(error) if error else None, action=self.action,
                            job_id=self.job_id, refused=refused, notes=[self._clean(n) for n in self.notes])

    def refuse(self, reason: str) -> _Abort:
        what = f"{self.action} {self.job_id}" if self.job_id else self.action
        return _Abort(self.result(False, f"{what}: refused: {reason}", reason, True))

    def fail(self, step: str, error: str) -> _Abort:
        if step in self.pending:
            self.pending[self.pending.index(step)] = f"{step} — failed: {error}"
        nothing = "" if self.done else " Nothing was changed."
        return _Abort(self.result(False, f"{self.action} {self.job_id or ''} failed: {error}.{nothing}", error))

    async def send(self, step: str, call: Awaitable[Any], ok_text: str = "") -> Any:
        """Send one write (listed in `pending`); an ApiError aborts with what was and was not done."""
        self.requests.append(step)
        try:
            value = await call
        except ApiError as exc:
            raise self.fail(step, exc.one_line()) from None
        self.pending.remove(step)
        self.done.append(f"{step}{': ' + ok_text if ok_text else ''}")
        return value


def gtid_of(entries: Any, job_id: str) -> tuple:
    """(Gtid text, BinlogFilePos text) from KV entries or SavedKeys of one job."""
    values = {e.key: (e.value or b"").decode("utf-8", "replace") for e in entries}
    return values.get(f"dtle/{job_id}/Gtid", "").strip(), values.get(f"dtle/{job_id}/BinlogFilePos", "").strip()


def resumes_from(gtid: str, binlog: str) -> bool:
    """A non-empty Gtid, or a BinlogFilePos with a file part, replaces the config's start
    (docs/reference/dtle.md §4)."""
    return bool(gtid) or bool(binlog.split("//dtle//")[0].strip())


def consul_unsafe(job_id: str) -> Optional[str]:
    """Why a Consul write for this job ID is refused, or None. python-consul2 puts keys into the URL
    unencoded: with `?` or `#` in the ID, DELETE dtle/a?b/?recurse would reach the prefix `dtle/a` and
    take every job starting with "a"; `%` would be decoded into another key."""
    bad = sorted({ch for ch in job_id if ch in "?#%" or ord(ch) < 32 or ord(ch) == 127})
    if not bad:
        return None
    shown = " ".join(repr(ch) for ch in bad)
    return (f"the job ID holds {shown}, which the Consul client would not encode: the request could reach "
            f"other jobs' keys. Nothing was sent; delete or restore dtle/<job>/ by hand (consul kv)")


def sql_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def no_userinfo(addr: str) -> str:
    parts = urlsplit(addr)
    if parts.username or parts.password:
        parts = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))
    return urlunsplit(parts)


