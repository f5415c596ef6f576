"""Backups: private atomic files, safe names, newest-first lookup."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dtle_tui.api.consul_kv import KvEntry
from dtle_tui.ops.backup import (
    BackupError,
    backup_root,
    cluster_name,
    entries_to_json,
    latest_backup,
    load_backup,
    safe_segment,
    state_dir,
    write_backup,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_state_dir_follows_xdg():
    assert state_dir({"XDG_STATE_HOME": "/x/state"}) == Path("/x/state/dtle-tui")
    assert state_dir({"XDG_STATE_HOME": "relative"}) == Path.home() / ".local/state/dtle-tui"
    assert state_dir({}) == Path.home() / ".local/state/dtle-tui"


@pytest.mark.parametrize("job_id", ["mig-[b]ops", "..", ".", "../../etc", "a/b", "job one", "作业", ""])
def test_hostile_names_stay_one_segment(job_id, tmp_path):
    seg = safe_segment(job_id)
    assert "/" not in seg and seg not in (".", "..") and not seg.startswith(".")
    path = write_backup(tmp_path, "c", job_id, {"meta.json": b"{}"})
    assert path.parent == tmp_path / "backups" / "c" / seg
    assert path.resolve().is_relative_to(tmp_path.resolve())


def test_names_are_distinct_for_distinct_ids():
    ids = ["job1", "job10", "job.1", "job%2E1", "job_1", "job-1", "mig-[b]ops", "mig-%5Bb%5Dops"]
    assert len({safe_segment(i) for i in ids}) == len(ids)


def test_cluster_name():
    assert cluster_name("prod", "http://x:1") == "prod"
    assert cluster_name(None, "http://127.0.0.1:4646") == "127.0.0.1:4646"
    assert cluster_name(None, "https://nomad.example") == "nomad.example:443"
    assert safe_segment(cluster_name(None, "http://127.0.0.1:4646")) == "127.0.0.1%3A4646"
    assert safe_segment("..") == "%2E." and safe_segment(".x") == "%2Ex"


def test_write_backup_modes_atomic_and_loadable(tmp_path):
    state = tmp_path / "new" / "state"
    entries = [KvEntry("dtle/job1/Gtid", b"uuid:1-5", 3304740253564472344, 5, 9),
               KvEntry("dtle/job1/Empty", None, 0, 6, 6)]
    files = {"job.json": b'{"ID": "job1", "Password": "pw"}', "consul.json": entries_to_json("job1", entries),
             "meta.json": b"{}"}
    path = write_backup(state, "prod", "job1", files)
    assert path.parent == backup_root(state, "prod", "job1")
    for d in (path, path.parent, path.parent.parent, state / "backups", state, state.parent):
        assert mode(d) == 0o700, d
    assert sorted(os.listdir(path)) == ["consul.json", "job.json", "meta.json"]  # no temp files left
    for name in files:
        assert mode(path / name) == 0o600
    saved = load_backup(path)
    assert saved.job == {"ID": "job1", "Password": "pw"}
    assert saved.value_of("dtle/job1/Gtid") == b"uuid:1-5"
    assert saved.keys[0].flags == 3304740253564472344 and saved.keys[1].value is None


def test_latest_backup_picks_newest_with_what_is_wanted(tmp_path):
    with_keys = entries_to_json("j", [KvEntry("dtle/j/Gtid", b"g", 0, 1, 1)])
    first = write_backup(tmp_path, "c", "j", {"job.json": b'{"ID": "j"}', "consul.json": with_keys,
                                               "meta.json": b"{}"})
    second = write_backup(tmp_path, "c", "j", {"consul.json": entries_to_json("j", []), "meta.json": b"{}"})
    third = write_backup(tmp_path, "c", "j", {"consul.json": entries_to_json("j", []), "meta.json": b"{}"})
    assert first.name < second.name or second.name.startswith(first.name)
    assert third != second
    assert latest_backup(tmp_path, "c", "j", "job") == first
    assert latest_backup(tmp_path, "c", "j", "gtid") == first
    assert latest_backup(tmp_path, "c", "other", "job") is None
    with pytest.raises(ValueError):
        latest_backup(tmp_path, "c", "j", "spec")


def test_a_file_in_the_way_is_a_backup_error(tmp_path):
    (tmp_path / "backups").write_text("x")
    with pytest.raises(BackupError, match="backup not written"):
        write_backup(tmp_path, "c", "j", {"meta.json": b"{}"})


def test_bad_file_names_are_refused(tmp_path):
    with pytest.raises(BackupError):
        write_backup(tmp_path, "c", "j", {"../x": b""})


def test_saved_jobs_lists_jobs_with_a_saved_spec_only(tmp_path):
    from dtle_tui.ops.backup import saved_jobs, write_backup

    write_backup(tmp_path, "prod", "mig-[b]ops", {"job.json": b'{"ID": "mig-[b]ops"}', "meta.json": b"{}"})
    write_backup(tmp_path, "prod", "keys-only", {"consul.json": b'{"keys": []}', "meta.json": b"{}"})
    write_backup(tmp_path, "staging", "other", {"job.json": b'{"ID": "other"}', "meta.json": b"{}"})
    assert saved_jobs(tmp_path, "prod") == ["mig-[b]ops"]
    assert saved_jobs(tmp_path, "nowhere") == []
