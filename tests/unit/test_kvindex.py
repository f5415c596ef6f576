"""Consul's dtle/ index going back: a reset, or only a deleted key's tombstone reaped (live/kvindex.py)."""

from __future__ import annotations

from dtle_tui.api.consul_kv import KvEntry
from dtle_tui.live.kvindex import KvIndexWatch


def entries(**indexes: int) -> list:
    return [KvEntry(f"dtle/{job}/Gtid", b"x", 0, index, index) for job, index in indexes.items()]


def test_only_deleted_keys_are_no_reset():
    watch = KvIndexWatch()
    assert watch.answered(entries(a=10, b=20, c=30), 30) is None
    watch.went_back(30, 20)
    assert watch.answered(entries(a=10, b=20), 20) is None  # c deleted, its tombstone reaped


def test_a_key_at_another_index_an_empty_prefix_or_a_foreign_index_is_a_reset():
    for after, index in ((entries(a=10, b=15), 15), ([], 12), (entries(a=10, b=20), 25)):
        watch = KvIndexWatch()
        watch.answered(entries(a=10, b=20, c=30), 30)
        watch.went_back(30, index)
        notice = watch.answered(after, index)
        assert notice is not None and "Consul's state was reset (index 30 → " in notice


def test_an_answer_that_did_not_go_back_says_nothing():
    watch = KvIndexWatch()
    watch.answered(entries(a=10), 10)
    assert watch.answered(entries(a=5), 5) is None  # no went_back() before it: the feed saw no drop
