"""Simulated Consul KV against consul-kv.md §1-§5 and §8, and python-consul2's sync client."""

from __future__ import annotations

import base64
import time
import warnings

import pytest

from dtle_tui.sim import SimCluster
from tests.helpers import loopback
from tests.helpers.sim import released_by
from tests.helpers.wait import PATIENCE_S

FLAGS = 3304740253564472344


@pytest.fixture(scope="module")
def sim():
    with SimCluster(dialect="1.1", frozen=True) as cluster:
        yield cluster


@pytest.fixture
def kv(sim):
    return loopback.Client(base_url=sim.consul_addr + "/v1/kv/", timeout=10)


def test_missing_key_is_404_empty_with_index_headers(kv):
    got = kv.get("no/such/key")
    assert got.status_code == 404 and got.content == b""
    assert int(got.headers["X-Consul-Index"]) > 0
    assert got.headers["X-Consul-Knownleader"] == "true" and got.headers["X-Consul-Lastcontact"] == "0"
    assert kv.get("no/such/", params={"recurse": ""}).status_code == 404
    assert kv.get("no/such/", params={"keys": ""}).status_code == 404
    assert kv.get("", params={"keys": ""}).status_code == 200  # empty prefix: a list, never 404 unless empty


def test_get_entry_wire_order_flags_and_base64(kv, sim):
    got = kv.get("dtle/job1/Gtid")
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    (entry,) = got.json()
    assert list(entry) == ["LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex"]
    assert entry["Flags"] == FLAGS and '"Flags":3304740253564472344' in got.text
    assert base64.b64decode(entry["Value"]).decode() == sim.scenario.gtid("job1")
    assert got.headers["X-Consul-Index"] == str(entry["ModifyIndex"])


def test_raw_keys_separator_and_presence_flags(kv, sim):
    raw = kv.get("dtle/job1/ReplChanBufferSize", params={"raw": ""})
    assert raw.content == b"32" and raw.headers["content-type"].startswith("text/plain")
    keys = kv.get("dtle/", params={"keys": "", "separator": "/"}).json()
    assert "dtle/job1/" in keys and "dtle/job10/" in keys and "dtle/old-purged-job/" in keys
    # presence-keyed: recurse=false still recurses (§1)
    assert len(kv.get("dtle/job1/", params={"recurse": "false"}).json()) == 4
    assert kv.get("", params={}).status_code == 400 and kv.get("").text == "Missing key name"
    empty = kv.get("dtle/billing-migrate/Gtid").json()[0]
    assert empty["Value"] is None  # stored "" comes back as null


def test_put_cas_and_true_false_bodies(kv):
    put = kv.put("test/cas", content=b"one", params={"cas": "0"})
    assert put.text == "true" and "X-Consul-Index" not in put.headers
    assert kv.put("test/cas", content=b"two", params={"cas": "0"}).text == "false"
    index = kv.get("test/cas").json()[0]["ModifyIndex"]
    assert kv.put("test/cas", content=b"two", params={"cas": str(index + 100)}).text == "false"
    assert kv.put("test/cas", content=b"two", params={"cas": str(index), "flags": str(FLAGS)}).text == "true"
    entry = kv.get("test/cas").json()[0]
    assert base64.b64decode(entry["Value"]) == b"two" and entry["Flags"] == FLAGS
    assert kv.delete("test/cas", params={"cas": str(index)}).text == "false"
    assert kv.delete("test/cas", params={"cas": str(entry["ModifyIndex"])}).text == "true"
    assert kv.delete("test/absent").text == "true"  # deleting an absent key is true too
    conflict = kv.delete("test/", params={"recurse": "", "cas": "1"})
    assert conflict.status_code == 400 and conflict.text.startswith("Conflicting flags: ")


def test_recursive_delete_has_the_real_prefix_pitfall():
    with SimCluster(dialect="1.1", frozen=True) as sim:
        kv = loopback.Client(base_url=sim.consul_addr + "/v1/kv/")
        assert kv.get("dtle/job10/Gtid").status_code == 200
        assert kv.delete("dtle/job1", params={"recurse": ""}).text == "true"
        assert kv.get("dtle/job1/Gtid").status_code == 404
        assert kv.get("dtle/job10/Gtid").status_code == 404  # dtle/job1 is a string prefix of dtle/job10
        assert kv.get("dtle/mig-[b]ops/Gtid").status_code == 200


def test_trailing_slash_delete_spares_the_neighbour():
    with SimCluster(dialect="1.1", frozen=True) as sim:
        kv = loopback.Client(base_url=sim.consul_addr + "/v1/kv/")
        kv.delete("dtle/job1/", params={"recurse": ""})
        assert kv.get("dtle/job1/Gtid").status_code == 404
        assert kv.get("dtle/job10/Gtid").status_code == 200


def test_blocking_query_held_then_released_by_a_change(kv, sim):
    index = kv.get("dtle/job10/Gtid").headers["X-Consul-Index"]
    started = time.monotonic()
    held = kv.get("dtle/job10/Gtid", params={"index": index, "wait": "1s"})
    assert time.monotonic() - started >= 0.95  # held for its wait (how much longer is never asserted)
    assert held.headers["X-Consul-Index"] == index
    # Held for up to 10 minutes, far past the client's deadline: an answer at all is the change's.
    moved = released_by(lambda: kv.get("dtle/job10/Gtid", params={"index": index, "wait": "10m"}, timeout=PATIENCE_S),
                        lambda: sim.requests.in_flight("consul", "/v1/kv/dtle/job10/Gtid"),
                        lambda: loopback.put(kv.base_url.join("dtle/job10/Gtid"), content=b"x:1-2").raise_for_status())
    assert int(moved.headers["X-Consul-Index"]) > int(index)
    assert kv.get("x", params={"index": "abc"}).text == "Invalid index"


def test_tokens_403_and_filtered_recursive_404():
    with SimCluster(dialect="1.1", frozen=True, consul_token="root-token") as sim:
        base = sim.consul_addr + "/v1/kv/"
        denied = loopback.get(base + "dtle/job1/Gtid")
        assert (denied.status_code, denied.text) == (403, "Permission denied")
        assert loopback.get(base + "dtle/job1/Gtid", headers={"X-Consul-Token": "wrong"}).status_code == 403
        filtered = loopback.get(base + "dtle/", params={"recurse": ""})
        assert filtered.status_code == 404 and "X-Consul-Index" in filtered.headers
        assert loopback.put(base + "a", content=b"1").status_code == 403
        assert loopback.get(base + "dtle/job1/Gtid", headers={"X-Consul-Token": "root-token"}).status_code == 200
        bearer = loopback.get(base + "dtle/job1/Gtid", headers={"Authorization": "Bearer root-token"})
        assert bearer.status_code == 200


def test_python_consul2_sync_client(sim):
    consul = pytest.importorskip("consul")
    host, port = sim.consul_addr.rsplit("//", 1)[1].split(":")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = consul.Consul(host=host, port=int(port))
    index, entry = client.kv.get("dtle/job1/Gtid")
    assert isinstance(index, str) and entry["Value"].decode() == sim.scenario.gtid("job1")
    assert client.kv.get("dtle/nothing/here") == (client.kv.get("dtle/nothing/here")[0], None)
    _, listing = client.kv.get("dtle/job1/", recurse=True)
    assert {e["Key"] for e in listing} >= {"dtle/job1/Gtid", "dtle/job1/BinlogFilePos"}
    _, names = client.kv.get("dtle/", keys=True, separator="/")
    assert "dtle/job10/" in names
    assert client.kv.put("py/key", b"value", flags=FLAGS) is True
    assert client.kv.put("py/key", b"other", cas=0) is False
    assert client.kv.get("py/key")[1]["Flags"] == FLAGS
    assert client.kv.delete("py/", recurse=True) is True
    assert client.kv.get("py/key")[1] is None


def test_unknown_consul_token_is_refused_while_anonymous_reads_are_filtered():

    from dtle_tui.sim import SimCluster

    with SimCluster(frozen=True, consul_token="right-token") as sim:
        wrong = loopback.get(sim.consul_addr + "/v1/kv/dtle?recurse", headers={"X-Consul-Token": "wrong"})
        assert (wrong.status_code, wrong.text) == (403, "ACL not found")
        anonymous = loopback.get(sim.consul_addr + "/v1/kv/dtle?recurse")
        assert (anonymous.status_code, anonymous.text) == (404, "")
        right = loopback.get(sim.consul_addr + "/v1/kv/dtle?recurse", headers={"X-Consul-Token": "right-token"})
        assert right.status_code == 200 and right.json()
