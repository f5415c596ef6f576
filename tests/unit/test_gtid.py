"""Gtid sets, BinlogFilePos and per-job KV positions (reference dtle.md §2, §3)."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dtle_tui.model.gtid import (
    KEEP_S,
    SAMPLE_GAP_S,
    BinlogFilePos,
    GtidProgress,
    GtidSet,
    JobPosition,
    positions_from_kv,
)
from tests.helpers.paths import FIXTURES

A = "acd7d195-06cd-11e9-928f-02000aba3e28"
U1 = "00003306-0000-0000-0000-000000003306"
U2 = "047aedfe-c9c7-11eb-adf1-0242ac640901"
A38 = "a38fd24c-0000-11eb-0000-000000000001"


def test_dtle_md_examples():
    one = GtidSet.parse(f"{A}:1-143934")
    assert one.transactions == 143934 and one.uuids == (A,) and str(one) == f"{A}:1-143934"
    two = GtidSet.parse(f"{U1}:1-16,{U2}:1-110")
    assert two.transactions == 126 and two.uuids == (U1, U2)


def test_multi_line_from_mysql():
    # github.com/actiontech/dtle/issues/636 shows "…:1-16,\na38fd24c-…:1-6".
    text = f"  {U1}:1-16,\n{A38}:1-6\n"
    gs = GtidSet.parse(text)
    assert gs.transactions == 22
    assert gs.format() == f"{U1}:1-16,{A38}:1-6"
    assert gs.format(multiline=True) == f"{U1}:1-16,\n{A38}:1-6"
    assert GtidSet.parse(gs.format(multiline=True)) == gs


def test_equality_regardless_of_uuid_order_and_case():
    a = GtidSet.parse(f"{U1}:1-16,{U2}:1-110")
    b = GtidSet.parse(f"{U2.upper()}:1-110, {U1}:1-16")
    assert a == b and hash(a) == hash(b) and str(a) == str(b)
    assert a != GtidSet.parse(f"{U1}:1-16,{U2}:1-109")


def test_merge_overlapping_adjacent_and_repeated():
    gs = GtidSet.parse(f"{U1}:7-9:1-5:6,{U1}:3-4:20")
    assert gs.format() == f"{U1}:1-9:20" and gs.transactions == 10
    assert GtidSet.parse(f"{U1}:5").format() == f"{U1}:5"
    assert gs.intervals(U1.upper()) == ((1, 9), (20, 20))


def test_empty():
    for text in (None, "", "  \n", ","):
        gs = GtidSet.parse(text)
        assert gs.is_empty and gs.transactions == 0 and str(gs) == "" and gs.uuids == ()
    assert GtidSet.parse("") == GtidSet()
    assert GtidSet.parse(b"" + f"{U1}:1-2".encode()) == GtidSet.parse(f"{U1}:1-2")


@pytest.mark.parametrize("garbage, hint", [
    ("not a gtid", "not a server UUID"),
    (f"{U1}", "no transaction interval"),
    (f"{U1}:", "no transaction interval"),
    (f"{U1}:5-3", "empty"),
    (f"{U1}:0-3", "empty"),
    (f"{U1}:1-x", "not n or a-b"),
    (f"{U1}:-3", "not n or a-b"),
    ("zzzzzzzz-0000-0000-0000-000000000000:1", "not a server UUID"),
    ("<html>502</html>", "not a server UUID"),
])
def test_garbage_raises_clear_value_error(garbage, hint):
    with pytest.raises(ValueError, match=hint):
        GtidSet.parse(garbage)


def test_parse_rejects_non_text():
    with pytest.raises(ValueError):
        GtidSet.parse(123)  # type: ignore[arg-type]


def test_subset_and_diff():
    executed = GtidSet.parse(f"{U1}:1-100,{U2}:1-50")
    applied = GtidSet.parse(f"{U1}:1-90")
    assert applied.issubset(executed) and applied <= executed and executed >= applied
    assert not executed <= applied
    assert executed.diff(applied) == 10 + 50
    assert applied.diff(executed) == 0
    assert GtidSet().issubset(applied) and GtidSet().diff(applied) == 0
    holes = GtidSet.parse(f"{U1}:1-10:20-30")
    assert holes.diff(GtidSet.parse(f"{U1}:5-25")) == 4 + 5
    assert executed.union(GtidSet.parse(f"{A}:1")).transactions == 151
    assert (applied | GtidSet.parse(f"{U1}:91-100")) == GtidSet.parse(f"{U1}:1-100")


intervals = st.lists(st.tuples(st.integers(1, 200), st.integers(0, 20)), min_size=1, max_size=6)


@given(sets=st.dictionaries(st.sampled_from([U1, U2, A]), intervals, min_size=1), data=st.data())
def test_roundtrip_and_count_properties(sets, data):
    elements = []
    numbers = {}
    for uuid, ivs in sets.items():
        elements.append(uuid + "".join(f":{a}-{a + n}" for a, n in ivs))
        numbers[uuid] = {x for a, n in ivs for x in range(a, a + n + 1)}
    order = data.draw(st.permutations(elements))
    text = data.draw(st.sampled_from([",", ",\n", " , "])).join(order)
    gs = GtidSet.parse(text)
    assert gs.transactions == sum(len(v) for v in numbers.values())
    assert GtidSet.parse(gs.format()) == gs
    assert GtidSet.parse(gs.format(multiline=True)) == gs
    assert gs.diff(GtidSet()) == gs.transactions and gs.issubset(gs) and gs.diff(gs) == 0


@pytest.mark.parametrize("value, expected", [
    ("bin.000075//dtle//11909", ("bin.000075", 11909)),
    (b"mysql-bin.000001//dtle//154", ("mysql-bin.000001", 154)),
    ("//dtle//0", ("", 0)),
])
def test_binlog_file_pos(value, expected):
    pos = BinlogFilePos.parse(value)
    assert (pos.file, pos.pos) == expected
    assert str(pos) == f"{expected[0]}:{expected[1]}"


@pytest.mark.parametrize("value", ["bin.000075:11909", "a//dtle//1//dtle//2", "a//dtle//", "a//dtle//x",
                                   "a//dtle//-1", "a//dtle//١٢", None, 5, ""])
def test_binlog_file_pos_bad(value):
    assert BinlogFilePos.parse(value) is None


def test_positions_from_kv_groups_per_job_and_never_confuses_job1_with_job10():
    entries = [
        ("dtle/job1/Gtid", f"{A}:1-143934".encode(), 51),
        ("dtle/job1/BinlogFilePos", b"bin.000075//dtle//11909", 52),
        ("dtle/job1/NatsAddr", b"127.0.0.1:8193", 40),
        ("dtle/job10/Gtid", b"", 60),
        ("dtle/job10/ReplChanBufferSize", b"32", 61),
        SimpleNamespace(key="dtleJobList/job1", value=b'{"job_id":"job1","job_status":"paused"}', modify_index=9),
        SimpleNamespace(key="dtleJobList/job10", value=b"not json", modify_index=10),
        ("dtle/job_old/Gtid", b"garbage", 3),
        ("dtleUser/platform/admin", b"{}", 1),
        ("other/key", b"x", 1),
        ("dtle/", None, 1),
    ]
    positions = positions_from_kv(entries)
    assert sorted(positions) == ["job1", "job10", "job_old"]
    job1 = positions["job1"]
    assert isinstance(job1, JobPosition)
    assert job1.gtid == GtidSet.parse(f"{A}:1-143934") and job1.gtid.transactions == 143934
    assert job1.modify_index == 51 and job1.binlog == BinlogFilePos("bin.000075", 11909)
    assert job1.keys == ("dtle/job1/BinlogFilePos", "dtle/job1/Gtid", "dtle/job1/NatsAddr", "dtleJobList/job1")
    assert job1.job_list["job_status"] == "paused" and job1.job_status == "paused"
    assert job1.nats_addr == "127.0.0.1:8193" and job1.has_progress
    job10 = positions["job10"]
    assert job10.gtid is not None and job10.gtid.is_empty and job10.gtid_text == ""
    assert job10.binlog is None and job10.job_list is None and job10.job_status == ""
    assert job10.keys == ("dtle/job10/Gtid", "dtle/job10/ReplChanBufferSize", "dtleJobList/job10")
    assert not job10.has_progress
    old = positions["job_old"]
    assert old.gtid is None and old.gtid_text == "garbage" and "not a server UUID" in old.gtid_error


def test_positions_tolerate_odd_entries():
    positions = positions_from_kv([("dtle/a/b/Gtid", f"{U1}:1".encode(), 1), ("dtle/x/Gtid",), (None, None, None),
                                   ("dtle/y/Gtid", f"{U1}:1-2", "7"), SimpleNamespace(), 42])
    assert positions["a/b"].gtid.transactions == 1  # a job ID containing "/" stays whole
    assert positions["x"].gtid.is_empty and positions["x"].modify_index == 0
    assert positions["y"].gtid.transactions == 2 and positions["y"].modify_index == 0


def test_binlog_only_counts_as_progress():
    # A leftover BinlogFilePos still makes the extractor skip the full copy (dtle.md §4).
    (pos,) = positions_from_kv([("dtle/j/BinlogFilePos", b"bin.1//dtle//4", 1)]).values()
    assert pos.gtid is None and pos.has_progress


def test_progress_rate_and_stall():
    p = GtidProgress()
    assert p.rate() is None and p.last_advanced_s(0) is None and not p.is_stalled(100, 10)
    p.feed(0, 100)
    assert p.rate() is None and p.transactions == 100
    p.feed(10, 200)
    p.feed(20, 400)
    assert p.rate() == pytest.approx(15.0)
    assert p.rate(window_s=10) == pytest.approx(20.0)
    p.feed(30, 400)
    p.feed(30, 999)  # duplicate timestamp ignored
    assert p.last_advanced_s(now=50) == 30 and not p.is_stalled(now=50, threshold_s=60)
    assert p.is_stalled(now=80, threshold_s=60)


def test_progress_never_advancing_is_stalled_from_first_sample():
    p = GtidProgress()
    p.feed(0, 5)
    p.feed(100, 5)
    assert p.last_advanced_s(200) is None and p.is_stalled(200, 120) and not p.is_stalled(100, 120)


def test_progress_reset_starts_over_and_memory_is_bounded():
    p = GtidProgress(maxlen=10)
    for i in range(100):
        p.feed(i * 10, i * 10)
    assert len(p._times) == 10 and p.transactions == 990 and p.rate() == pytest.approx(1.0)
    p.feed(1000, 3)  # Gtid reset: the count dropped
    assert p.rate() is None and p.bucketed_rates(10) == [] and p.transactions == 3


def test_progress_keeps_samples_apart_and_only_the_sparkline_span():
    """A sample a second for an hour keeps ~KEEP_S / SAMPLE_GAP_S samples, the newest count exact."""
    p = GtidProgress()
    for t in range(3600):
        p.feed(t, 10 * t)
    assert len(p._times) <= (KEEP_S + 60) / SAMPLE_GAP_S + 2  # pruned once a minute past KEEP_S
    assert p._times[-1] == 3599 and p.transactions == 35990
    assert p._times[-1] - p._times[0] <= KEEP_S + 60
    assert all(b - a >= SAMPLE_GAP_S for a, b in zip(p._times[:-2], p._times[1:-1]))
    assert p.rate() == pytest.approx(10.0) and p.bucketed_rates(60) == [pytest.approx(10.0)] * 60
    # a job that never moves is still stalled from its first sample, after the pruning
    q = GtidProgress()
    for t in range(0, 2000, 3):
        q.feed(t, 7)
    assert q.is_stalled(1999, threshold_s=1800) and not q.is_stalled(1700, threshold_s=1800)


REF = FIXTURES / "reference"


def _kv_json_entries(entries: list) -> list:
    """Consul's /v1/kv JSON (base64 Value, null for empty) as (key, bytes, ModifyIndex) tuples."""
    return [(e["Key"], base64.b64decode(e["Value"]) if e["Value"] is not None else None, e["ModifyIndex"])
            for e in entries]


def test_consul_doc_samples():
    sample = json.loads((REF / "consul_kv_get.json").read_text())
    assert _kv_json_entries(sample) == [("zip", b"test", 200)]
    assert positions_from_kv(_kv_json_entries(sample)) == {}  # not a dtle key
    keys = json.loads((REF / "consul_kv_keys.json").read_text())
    assert positions_from_kv([(k, None, 0) for k in keys]) == {}
    # The same entry shape under dtle's keys, with the dtleJobList entry of the /v2 docs.
    job = json.loads((REF / "dtle_v2_jobs_migration_response_docs.json").read_text())["jobs"][0]
    dtle_entries = [dict(sample[0], Key="dtle/demo-migration/Gtid", ModifyIndex=77,
                         Value=base64.b64encode(f"{U1}:1-24".encode()).decode()),
                    dict(sample[0], Key="dtleJobList/demo-migration", ModifyIndex=78,
                         Value=base64.b64encode(json.dumps(job).encode()).decode()),
                    dict(sample[0], Key="dtle/demo-migration/", Value=None)]
    (pos,) = positions_from_kv(_kv_json_entries(dtle_entries)).values()
    assert pos.job_id == "demo-migration" and pos.gtid.transactions == 24 and pos.modify_index == 77
    assert pos.job_status == "running" and pos.job_list["job_steps"][0]["step_name"] == "job_stage_full"
    assert "dtle/demo-migration/" in pos.keys


@given(st.text(alphabet=st.sampled_from(list("0123456789abcdefABCDEF-:, \n\txz")), max_size=120))
def test_parse_raises_only_value_error(text):
    try:
        gs = GtidSet.parse(text)
    except ValueError:
        return
    assert GtidSet.parse(gs.format()) == gs and gs.transactions >= 0


kv_entries = st.lists(st.one_of(
    st.tuples(st.sampled_from(["dtle/j/Gtid", "dtle/j/BinlogFilePos", "dtleJobList/j", "dtle/j1/Gtid", "dtle/x",
                               "dtle//Gtid", "dtleJobList/", "", "dtle/j/"]),
              st.one_of(st.none(), st.binary(max_size=20), st.text(max_size=20),
                        st.just(f"{U1}:1-5".encode()), st.just(b'{"job_status": 3}'), st.just(b"[1]")),
              st.one_of(st.integers(), st.none(), st.text(max_size=3))),
    st.none(), st.integers(), st.builds(SimpleNamespace, key=st.text(max_size=12), value=st.binary(max_size=8)),
), max_size=8)


@given(kv_entries)
def test_positions_from_kv_never_raises(entries):
    for job_id, pos in positions_from_kv(entries).items():
        assert isinstance(pos, JobPosition) and pos.job_id == job_id and job_id
        assert pos.gtid is None or isinstance(pos.gtid, GtidSet)
        assert isinstance(pos.job_status, str) and isinstance(pos.modify_index, int)
        assert pos.job_list is None or isinstance(pos.job_list, dict)


def test_bucketed_rates_are_steady_when_samples_arrive_unevenly():
    p = GtidProgress()
    # 10 transactions/s, but the count is only seen to move every 5 s while samples come every second
    for t in range(0, 61):
        p.feed(t, 100 + (t // 5) * 50)
    rates = p.bucketed_rates(6, bucket_s=10)
    assert rates == [pytest.approx(10.0)] * 5 or rates == [pytest.approx(10.0)] * 6
    assert p.bucketed_rates(0) == [] and GtidProgress().bucketed_rates(5) == []
