"""Since when a Gtid stands still, known at start-up (issue 22 item 3): the memory's rules and its file."""

from __future__ import annotations

import json
import stat

from dtle_tui.live.gtidmemo import FILE_NAME, GtidMemoFile
from dtle_tui.live.notice import Notice
from dtle_tui.live.positions import Positions
from dtle_tui.model.stall import GtidMemo, delay_evidence, load_memo, stalled_since, unchanged_since


def test_the_same_gtid_keeps_its_time_a_new_one_starts_now():
    memo = GtidMemo()
    assert memo.seen("c", "job1", "u:1-9", 100.0) == 100.0
    assert memo.seen("c", "job1", "u:1-9", 500.0) == 100.0
    assert memo.seen("c", "job1", " u:1-9\n", 600.0) == 100.0  # the same set, spaced otherwise
    assert memo.seen("c", "job1", "u:1-10", 700.0) == 700.0
    assert memo.seen("other", "job1", "u:1-10", 800.0) == 800.0  # per cluster
    again = load_memo(memo.dumps())
    assert again.since("c", "job1") == 700.0 and again.since("other", "job1") == 800.0
    assert "u:1-10" not in memo.dumps()  # a digest is kept, not the set


def test_an_unreadable_or_foreign_memory_is_empty():
    for text in ("", "{", "[]", json.dumps({"version": 99, "clusters": {"c": {"j": ["x", 1.0]}}}),
                 json.dumps({"version": 1, "clusters": {"c": {"j": ["x", -1]}, "d": "no"}})):
        assert load_memo(text).clusters.get("c", {}) == {}


def test_the_stall_counts_from_the_earliest_evidence():
    # A delay that grew while the Gtid stood still: the last transaction was applied about delay_s ago.
    assert delay_evidence(300, 1000.0, 265, 1035.0) == 1035.0 - 300
    # A frozen delay (dtle stopped counting) says only since when it is frozen.
    assert delay_evidence(265, 1000.0, 265, 1035.0) == 1000.0
    assert delay_evidence(0, 1000.0, 0, 1000.0) is None  # an idle job's delay is 0
    assert delay_evidence(265, None, None, 1000.0) is None  # the Gtid moves
    assert unchanged_since(400.0, 735.0) == 400.0 and unchanged_since(None, None) is None
    assert stalled_since(400.0, 300.0, 699.0) is None
    assert stalled_since(400.0, 300.0, 700.0) == 400.0


class Entry:
    def __init__(self, key: str, value: bytes, index: int = 1) -> None:
        self.key, self.value, self.modify_index, self.flags, self.create_index = key, value, index, 0, index


def test_a_remembered_gtid_counts_from_the_earlier_run(tmp_path):
    """A first console sees job1's Gtid and stops; the next one, started later on the same Gtid, says it
    stood still since the first saw it, and its stall threshold counts from there."""
    gtid = [Entry("dtle/job1/Gtid", b"a81aa40a-45dd-11ee-a5f0-4b63b62ac1fe:1-60598")]
    first = Positions(Notice(None, lambda: None), GtidMemoFile(tmp_path / FILE_NAME, "prod"))
    first.answered(gtid, 10, "dtle/")
    first.close()
    # That console ran an hour ago: its memory is moved back by an hour, as it would have written it then.
    data = json.loads((tmp_path / FILE_NAME).read_text())
    data["clusters"]["prod"]["job1"][1] -= 3600
    (tmp_path / FILE_NAME).write_text(json.dumps(data))
    seen_at = data["clusters"]["prod"]["job1"][1]
    assert stat.S_IMODE((tmp_path / FILE_NAME).stat().st_mode) == 0o600
    assert "job1" in (tmp_path / FILE_NAME).read_text() and "60598" not in (tmp_path / FILE_NAME).read_text()

    second = Positions(Notice(None, lambda: None), GtidMemoFile(tmp_path / FILE_NAME, "prod"))
    second.answered(gtid, 10, "dtle/")
    assert second.unchanged_since["job1"] == seen_at
    assert second.view("job1", seen_at + 3600).unchanged_since == seen_at
    assert second.progress["job1"].stall_at(300.0) == seen_at + 300.0  # not this start + 300

    other = Positions(Notice(None, lambda: None), GtidMemoFile(tmp_path / FILE_NAME, "staging"))
    other.answered(gtid, 10, "dtle/")
    assert other.unchanged_since["job1"] > seen_at  # another cluster's memory is its own
