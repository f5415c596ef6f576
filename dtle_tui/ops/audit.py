"""The audit log: one JSON object per line appended to $XDG_STATE_HOME/dtle-tui/audit.jsonl.

Each write is a single O_APPEND write of one whole line followed by fsync, so two consoles on one
account interleave lines, never bytes. Tokens never reach it: requests are method + path and results
pass through `errors.redact`; passwords live only in job specs, which are never logged here.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Optional

from dtle_tui.ops.backup import ensure_private_dir
from dtle_tui.text.secrets import redact

AUDIT_FILE = "audit.jsonl"


def audit_path(state: Path) -> Path:
    return Path(state) / AUDIT_FILE


def os_user() -> str:
    """The login name; containers without a passwd entry give their uid instead of failing."""
    try:
        return getpass.getuser()
    except Exception:  # KeyError/OSError when neither $USER nor a passwd entry exists
        try:
            return f"uid {os.getuid()}"
        except AttributeError:  # pragma: no cover - not POSIX
            return "unknown"


def utc_now_iso() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def record(
    state: Path,
    *,
    cluster: str,
    action: str,
    job: Optional[str],
    requests: Iterable[str],
    result: str,
    backup: Optional[Path] = None,
) -> Path:
    """Append one line; returns the log's path. Raises OSError when it cannot be written."""
    entry = {
        "time": utc_now_iso(),
        "user": os_user(),
        "cluster": cluster,
        "action": action,
        "job": job,
        "request": [redact(r) for r in requests],
        "result": redact(result),
        "backup": str(backup) if backup else None,
    }
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    path = audit_path(state)
    ensure_private_dir(path.parent)
    fd = os.open(str(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_entries(state: Path) -> list:
    """Every audit entry (for tests and a future audit viewer); unreadable lines are skipped."""
    path = audit_path(state)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
