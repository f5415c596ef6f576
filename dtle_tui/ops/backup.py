"""Backups written before every destructive action: atomic 0600 files in 0700 directories.

Layout: `<state>/backups/<cluster>/<job>/<UTC timestamp>/` holding
- `job.json`    the job as GET /v1/job/<id> returned it. Passwords included: re-adding the job needs
                them (docs/reference/dtle.md §7), which is why every file is 0600 and every directory 0700;
- `consul.json` every key under `dtle/<job>/` plus `dtleJobList/<job>` (base64 value, flags, indexes);
- `meta.json`   action, time, OS user, cluster, Nomad/Consul addresses. Never a token.

`cluster` and `job` are percent-encoded into one path segment each, so a job ID such as `../x`,
`a/b` or `mig-[b]ops` can never leave its directory.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional
from urllib.parse import unquote, urlsplit

__all__ = [
    "Backup",
    "BackupError",
    "backup_root",
    "cluster_name",
    "entries_to_json",
    "latest_backup",
    "load_backup",
    "safe_segment",
    "state_dir",
    "timestamp",
    "write_backup",
]

DIR_MODE = 0o700
FILE_MODE = 0o600
_SAFE = re.compile(r"[A-Za-z0-9_.\-]")


class BackupError(Exception):
    """The backup could not be written (or read); the message is one line for the operator."""


def state_dir(env: Optional[Mapping[str, str]] = None) -> Path:
    """$XDG_STATE_HOME/dtle-tui, or ~/.local/state/dtle-tui (XDG Base Directory spec)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or ""
    # The spec says a relative XDG_* path is invalid and must be ignored.
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "dtle-tui"


def safe_segment(text: str) -> str:
    """One filesystem-safe path segment: anything but [A-Za-z0-9_.-] percent-encoded (UTF-8).

    A leading dot is encoded too, so "." / ".." (and hidden names) cannot appear; reversible (unquote).
    """
    if not text:
        return "%00"
    out = []
    for i, ch in enumerate(text):
        if _SAFE.fullmatch(ch) and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def cluster_name(context: Optional[str], nomad_addr: str) -> str:
    """The backups' cluster directory: the config context, else the Nomad host:port."""
    if context:
        return context
    parts = urlsplit(nomad_addr if "://" in nomad_addr else f"http://{nomad_addr}")
    host = parts.hostname or "nomad"
    port = parts.port or (443 if parts.scheme == "https" else 4646)
    return f"{host}:{port}"


def backup_root(state: Path, cluster: str, job_id: str) -> Path:
    return Path(state) / "backups" / safe_segment(cluster) / safe_segment(job_id)


def timestamp(now: Optional[datetime] = None) -> str:
    """UTC, millisecond precision, sortable as text: 20261127T080102.123Z."""
    now = now or datetime.now(timezone.utc)
    now = now.astimezone(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S.") + f"{now.microsecond // 1000:03d}Z"


def ensure_private_dir(path: Path) -> None:
    """mkdir -p with every directory it creates 0700 (umask or not)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if not d.is_dir():
                raise
            continue
        os.chmod(d, DIR_MODE)
    if not path.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(path))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:  # some platforms cannot open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` as 0600: temp file in the same directory, fsync, rename, fsync dir."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def write_backup(state: Path, cluster: str, job_id: str, files: Mapping[str, bytes]) -> Path:
    """Write one backup directory and return it. Raises BackupError (nothing half-written is left
    looking like a complete backup: meta.json, which `latest_backup` requires, is written last)."""
    for name in files:
        if "/" in name or name in ("", ".", "..") or name.startswith("."):
            raise BackupError(f"invalid backup file name {name!r}")
    root = backup_root(state, cluster, job_id)
    try:
        ensure_private_dir(root)
        base = timestamp()
        target = root / base
        n = 0
        while True:  # two backups within one millisecond get -1, -2, … (still sorted after the first)
            try:
                target.mkdir(mode=DIR_MODE)
                break
            except FileExistsError:
                n += 1
                target = root / f"{base}-{n}"
        os.chmod(target, DIR_MODE)
        ordered = sorted(files, key=lambda name: name == "meta.json")
        for name in ordered:
            write_atomic(target / name, files[name])
        _fsync_dir(root)
    except OSError as exc:
        where = exc.filename or root
        raise BackupError(f"backup not written ({exc.strerror or exc}: {where})") from None
    return target


# ---- content helpers ---------------------------------------------------------------------------


def entries_to_json(job_id: str, entries: Iterable[Any]) -> bytes:
    """consul.json: KvEntry-like objects (key, value, flags, create_index, modify_index)."""
    out = []
    for e in entries:
        value = getattr(e, "value", None)
        out.append({
            "Key": e.key,
            "Value": None if value is None else base64.b64encode(value).decode("ascii"),
            "Flags": int(getattr(e, "flags", 0) or 0),
            "CreateIndex": int(getattr(e, "create_index", 0) or 0),
            "ModifyIndex": int(getattr(e, "modify_index", 0) or 0),
        })
    return _dump({"job": job_id, "entries": out})


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def json_bytes(value: Any) -> bytes:
    return _dump(value)


@dataclass(frozen=True)
class SavedKey:
    key: str
    value: Optional[bytes]
    flags: int
    modify_index: int


@dataclass(frozen=True)
class Backup:
    path: Path
    job: Optional[dict] = None  # the Job object as GET /v1/job returned it; None when it did not exist
    keys: tuple = ()  # SavedKey, in the order they were read
    meta: dict = field(default_factory=dict)

    def value_of(self, key: str) -> Optional[bytes]:
        for k in self.keys:
            if k.key == key:
                return k.value
        return None


def load_backup(path: Path) -> Backup:
    """Read a backup directory (BackupError on unreadable or malformed files)."""
    path = Path(path)
    try:
        meta = _load(path / "meta.json") if (path / "meta.json").exists() else {}
        job = _load(path / "job.json") if (path / "job.json").exists() else None
        consul = _load(path / "consul.json") if (path / "consul.json").exists() else {}
    except (OSError, ValueError) as exc:
        raise BackupError(f"backup {path} unreadable: {exc}") from None
    if job is not None and not isinstance(job, dict):
        raise BackupError(f"backup {path}: job.json is not a JSON object")
    if isinstance(job, dict) and isinstance(job.get("Job"), dict):
        job = job["Job"]  # also accept the register shape {"Job": {...}}
    keys = []
    entries = consul.get("entries") if isinstance(consul, dict) else None
    for e in entries or []:
        if not isinstance(e, dict) or not isinstance(e.get("Key"), str):
            continue
        raw = e.get("Value")
        try:
            value = None if raw is None else base64.b64decode(raw, validate=True)
        except (ValueError, TypeError):
            raise BackupError(f"backup {path}: consul.json has a bad value for {e['Key']!r}") from None
        keys.append(SavedKey(e["Key"], value, int(e.get("Flags") or 0), int(e.get("ModifyIndex") or 0)))
    return Backup(path=path, job=job, keys=tuple(keys), meta=meta if isinstance(meta, dict) else {})


def _load(path: Path) -> Any:
    with open(path, "rb") as fh:
        return json.loads(fh.read().decode("utf-8"))


def list_backups(state: Path, cluster: str, job_id: str) -> list:
    """Complete backup directories of one job, newest first."""
    root = backup_root(state, cluster, job_id)
    try:
        names = [p for p in root.iterdir() if p.is_dir() and (p / "meta.json").exists()]
    except OSError:
        return []
    return sorted(names, key=_sort_key, reverse=True)


def _sort_key(path: Path) -> tuple:
    base, _, n = path.name.partition("-")
    return (base, int(n) if n.isdigit() else 0)


def latest_backup(state: Path, cluster: str, job_id: str, want: str = "job") -> Optional[Path]:
    """The newest backup holding a job spec (want="job") or Consul keys of the job (want="gtid")."""
    if want not in ("job", "gtid"):
        raise ValueError("want must be 'job' or 'gtid'")
    for path in list_backups(state, cluster, job_id):
        if want == "job" and (path / "job.json").exists():
            try:
                if load_backup(path).job:
                    return path
            except BackupError:
                continue
        elif want == "gtid" and (path / "consul.json").exists():
            try:
                if load_backup(path).keys:
                    return path
            except BackupError:
                continue
    return None


def saved_jobs(state: Path, cluster: str) -> list[str]:
    """IDs of the jobs of `cluster` that have a saved spec (what `R` can re-add), sorted."""
    root = state / "backups" / safe_segment(cluster)
    try:
        dirs = [p for p in root.iterdir() if p.is_dir()]
    except OSError:
        return []
    found = []
    for path in dirs:
        job_id = unquote(path.name)
        if latest_backup(state, cluster, job_id, want="job") is not None:
            found.append(job_id)
    return sorted(found)
