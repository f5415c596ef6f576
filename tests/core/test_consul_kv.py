"""ConsulKV against the simulated Consul over real HTTP: dtle's keys, cas, the trailing-slash rule, errors."""

from __future__ import annotations

import asyncio
import warnings

import httpx
import pytest

from dtle_tui.api.consul_kv import ConsulKV, KvEntry
from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.nomad import Indexed
from dtle_tui.config.settings import ConsulSettings
from dtle_tui.sim import SimCluster
from tests.helpers.wait import PATIENCE_S, until

DTLE_FLAGS = 3304740253564472344
TOKEN = "c0ffee00-1111-2222-3333-444455556666"


@pytest.fixture
def cluster():
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        yield sim


@pytest.fixture
async def kv(cluster):
    client = ConsulKV(ConsulSettings(addr=cluster.consul_addr), timeout=3)
    yield client
    await client.aclose()


async def test_get_existing_and_missing(kv):
    entry = await kv.get("dtle/job1/Gtid")
    assert isinstance(entry, KvEntry) and entry.key == "dtle/job1/Gtid"
    assert isinstance(entry.value, bytes) and b":" in entry.value
    assert entry.flags == DTLE_FLAGS  # uint64 above 2**53 kept exact
    assert 0 < entry.create_index <= entry.modify_index
    assert await kv.get("dtle/job1/NoSuchKey") is None


async def test_get_prefix_and_missing_prefix(kv):
    result = await kv.get_prefix("dtle/job1/")
    assert isinstance(result, Indexed) and result.index > 0
    keys = {e.key for e in result.value}
    assert "dtle/job1/Gtid" in keys and all(k.startswith("dtle/job1/") for k in keys)
    empty = await kv.get_prefix("dtle/nothing-here/")
    assert empty.value == [] and empty.index > 0


async def test_job_entries_keeps_job1_and_job10_apart(kv):
    entries = await kv.job_entries("job1")
    keys = {e.key for e in entries}
    assert keys and not any(k.startswith("dtle/job10/") for k in keys)
    assert all(k.startswith("dtle/job1/") or k == "dtleJobList/job1" for k in keys)


async def test_put_plain_cas_and_flags(kv):
    assert await kv.put("dtle/t/Gtid", b"abc:1-5", flags=DTLE_FLAGS) is True
    entry = await kv.get("dtle/t/Gtid")
    assert entry.value == b"abc:1-5" and entry.flags == DTLE_FLAGS
    assert await kv.put("dtle/t/Gtid", b"stale", cas=entry.modify_index - 1) is False
    assert (await kv.get("dtle/t/Gtid")).value == b"abc:1-5"
    assert await kv.put("dtle/t/Gtid", b"new", cas=entry.modify_index) is True
    assert await kv.put("dtle/t/Gtid", b"again", cas=0) is False  # 0: only if absent
    assert await kv.put("dtle/t/Other", b"", cas=0) is True
    assert (await kv.get("dtle/t/Other")).value is None  # Consul sends null for an empty value


async def test_delete_is_exact(kv):
    await kv.put("dtle/d/Gtid", b"x")
    await kv.put("dtle/d/Gtid2", b"y")
    assert await kv.delete("dtle/d/Gtid") is True
    assert await kv.get("dtle/d/Gtid") is None
    assert (await kv.get("dtle/d/Gtid2")).value == b"y"
    assert await kv.delete("dtle/d/absent") is True  # Consul answers true for an absent key


async def test_delete_tree_job1_leaves_job10_whole(kv, cluster):
    before10 = {e.key: e.value for e in (await kv.get_prefix("dtle/job10/")).value}
    assert before10
    assert await kv.delete_tree("dtle/job1/") is True
    assert (await kv.get_prefix("dtle/job1/")).value == []
    after10 = {e.key: e.value for e in (await kv.get_prefix("dtle/job10/")).value}
    assert after10 == before10
    deletes = [e for e in cluster.requests.entries() if e[0] == "consul" and e[1] == "DELETE"]
    assert deletes[-1][2] == "/v1/kv/dtle/job1/" and "recurse" in deletes[-1][3]


@pytest.mark.parametrize("prefix", ["dtle/job1", "", "/", "/dtle/job1/"])
async def test_delete_tree_refuses_prefixes_without_trailing_slash(kv, cluster, prefix):
    cluster.reset_requests()
    with pytest.raises(ValueError):
        await kv.delete_tree(prefix)
    assert cluster.request_count("consul") == 0


async def test_leading_slash_keys_rejected(kv):
    with pytest.raises(ValueError):
        await kv.get("/dtle/job1/Gtid")
    with pytest.raises(ValueError):
        await kv.delete("")


async def test_blocking_get_prefix_returns_on_change(cluster):
    async with ConsulKV(ConsulSettings(addr=cluster.consul_addr), timeout=1) as kv:
        first = await kv.get_prefix("dtle/job1/")
        # Held for up to 10 minutes, far past this test's deadline: an answer at all is the change's.
        waiter = asyncio.ensure_future(kv.get_prefix("dtle/job1/", index=first.index, wait="10m"))
        await until(None, lambda: cluster.requests.in_flight("consul", "/v1/kv/dtle/job1/"), "the query held")
        assert not waiter.done()
        await kv.put("dtle/job1/Gtid", b"changed:1-2")
        changed = await asyncio.wait_for(waiter, PATIENCE_S)
        assert changed.index > first.index
        assert {e.key: e.value for e in changed.value}["dtle/job1/Gtid"] == b"changed:1-2"
        # the client timeout (1s) is below the wait: blocking extends it, then the same index comes back
        quiet = await kv.get_prefix("dtle/job10/")
        again = await kv.get_prefix("dtle/job10/", index=quiet.index, wait="1200ms")
        assert again.index == quiet.index


async def test_token_sent_and_403():
    with SimCluster(dialect="1.1", frozen=True, consul_token=TOKEN) as sim:
        async with ConsulKV(ConsulSettings(addr=sim.consul_addr, token=TOKEN)) as good:
            assert (await good.get("dtle/job1/Gtid")) is not None
        async with ConsulKV(ConsulSettings(addr=sim.consul_addr, token="wrong-token-value")) as bad:
            # A token Consul does not know is refused outright, reads included (consul-kv.md §4).
            with pytest.raises(ApiError) as unknown:
                await bad.get_prefix("dtle/job1/")
            with pytest.raises(ApiError) as put_info:
                await bad.put("dtle/job1/Gtid", b"x")
        async with ConsulKV(ConsulSettings(addr=sim.consul_addr, token=None)) as anonymous:
            with pytest.raises(ApiError) as info:
                await anonymous.get("dtle/job1/Gtid")
            # the anonymous token's recursive read is ACL-filtered: a 404, so an empty list (§4)
            assert (await anonymous.get_prefix("dtle/job1/")).value == []
    err = info.value
    assert err.kind is ErrorKind.FORBIDDEN and err.status == 403 and err.service == "Consul"
    assert "403: Permission denied" in err.one_line() and "CONSUL_HTTP_TOKEN" in err.one_line()
    assert unknown.value.kind is ErrorKind.FORBIDDEN and "ACL not found" in unknown.value.one_line()
    assert put_info.value.kind is ErrorKind.FORBIDDEN
    for e in (err, unknown.value, put_info.value):
        for text in (e.one_line(), repr(e), str(e.args)):
            assert TOKEN not in text and "wrong-token-value" not in text


@pytest.mark.parametrize(
    "knob,value,kind,line",
    [
        ("status", 500, ErrorKind.SERVER_ERROR, "Consul answered 500: "),
        ("status", 403, ErrorKind.FORBIDDEN, "Consul: permission denied (403"),
        ("html", True, ErrorKind.BAD_RESPONSE, "Consul sent HTML, not JSON (a proxy?): 502 Bad Gateway"),
        ("garbage", True, ErrorKind.BAD_RESPONSE, "Consul sent invalid JSON: "),
        ("down", True, ErrorKind.UNREACHABLE, "Consul unreachable at "),
    ],
)
async def test_faults_become_api_errors(cluster, kv, knob, value, kind, line):
    setattr(cluster.consul_faults, knob, value)
    with pytest.raises(ApiError) as info:
        await kv.get("dtle/job1/Gtid")
    assert info.value.kind is kind and info.value.one_line().startswith(line)


async def test_timeout(cluster):
    cluster.consul_faults.latency = 2.0
    async with ConsulKV(ConsulSettings(addr=cluster.consul_addr), timeout=0.3) as kv:
        with pytest.raises(ApiError) as info:
            await kv.get("dtle/job1/Gtid")
    assert info.value.kind is ErrorKind.TIMEOUT


async def test_200_without_x_consul_index_does_not_crash():
    body = b'[{"LockIndex":0,"Key":"k","Flags":0,"Value":"dg==","CreateIndex":1,"ModifyIndex":2}]'
    kv = ConsulKV(ConsulSettings(addr="http://consul.test:8500"))
    kv._http.client = httpx.AsyncClient(
        base_url="http://consul.test:8500",
        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=body)),
    )
    try:
        assert (await kv.get("k")).value == b"v"
        result = await kv.get_prefix("k")
        assert result.index == 0 and [e.key for e in result.value] == ["k"]
    finally:
        await kv.aclose()


def test_no_deprecation_warning_and_environment_ignored(monkeypatch):
    # python-consul2 would take these over the explicit settings, and choke on the IPv6 address
    monkeypatch.setenv("CONSUL_HTTP_ADDR", "http://[::1]:1")
    monkeypatch.setenv("CONSUL_HTTP_TOKEN", "env-token-should-not-be-used")
    monkeypatch.setenv("CONSUL_HTTP_SSL", "true")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kv = ConsulKV(ConsulSettings(addr="http://127.0.0.1:8500", token="settings-token"))
    assert [w for w in caught if issubclass(w.category, DeprecationWarning)] == []
    assert kv.addr == "http://127.0.0.1:8500"
    assert kv._consul.token == "settings-token"


async def test_python_consul2_adds_the_settings_token():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("X-Consul-Token"))
        return httpx.Response(200, content=b"true")

    kv = ConsulKV(ConsulSettings(addr="http://consul.test:8500", token="settings-token"))
    kv._http.client = httpx.AsyncClient(
        base_url="http://consul.test:8500",  # no default headers: the token must come from python-consul2
        transport=httpx.MockTransport(handler),
    )
    try:
        assert await kv.put("a/b", b"1") is True
    finally:
        await kv.aclose()
    assert seen == ["settings-token"]


@pytest.mark.parametrize("job_id", ["mig-[b]ops", "odd job?x=1#frag", "pct%41"])
async def test_keys_are_quoted(kv, job_id):
    key = f"dtle/{job_id}/Gtid"
    assert await kv.put(key, b"uuid:1-3") is True
    entry = await kv.get(key)
    assert entry is not None and entry.key == key and entry.value == b"uuid:1-3"
    assert [e.key for e in await kv.job_entries(job_id) if e.key == key] == [key]
    assert await kv.delete_tree(f"dtle/{job_id}/") is True
    assert await kv.get(key) is None
