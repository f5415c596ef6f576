"""Audit log: append-only 0600 JSON lines, no secrets."""

from __future__ import annotations

import json
import os
import stat

from dtle_tui.ops import audit
from dtle_tui.text.secrets import add_secret


def test_lines_are_appended_with_every_field(tmp_path):
    state = tmp_path / "s" / "dtle-tui"
    audit.record(state, cluster="prod", action="delete", job="job1", requests=["DELETE /v1/job/job1"],
                 result="ok", backup=state / "backups" / "x")
    audit.record(state, cluster="prod", action="purge", job="job1", requests=[], result="failed: boom")
    path = state / "audit.jsonl"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert set(first) == {"time", "user", "cluster", "action", "job", "request", "result", "backup"}
    assert first["time"].endswith("Z") and first["user"] and first["backup"].endswith("/x")
    assert audit.read_entries(state)[1]["result"] == "failed: boom"


def test_tokens_are_redacted(tmp_path):
    token = "5f0c9e7a-token-value-that-must-not-leak"
    add_secret(token)
    audit.record(tmp_path, cluster="c", action="delete", job="j", requests=[f"GET /x?token={token}"],
                 result=f"failed: bad token {token}")
    assert token not in (tmp_path / "audit.jsonl").read_text()


def test_os_user_never_fails(monkeypatch):
    def boom():
        raise KeyError("no passwd entry")

    monkeypatch.setattr(audit.getpass, "getuser", boom)
    assert audit.os_user().startswith("uid ")
