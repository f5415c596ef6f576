"""The element-by-element JSON list decoder (jsonlist.py) and the streamed list reads built on it."""

from __future__ import annotations

import json

import httpx
import pytest

from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.jsonlist import ElementMemo, ListDecoder
from dtle_tui.api.nomad import NomadClient
from dtle_tui.config.settings import NomadSettings

DOC = [
    {"ID": "a-1", "Name": "héllo wörld 🚀", "Events": [{"Msg": "x,]}\" [{", "Time": 1795766400000000001}]},
    {"ID": "b-2", "Count": 12345, "Ratio": -0.5e3, "Ok": True, "None": None, "Esc": "tab\tquote\"\\"},
    [], {}, "plain string with ] and ,", 7, 1e-3, None, False,
]


def decode(chunks, each=None):
    decoder = ListDecoder(each)
    for chunk in chunks:
        decoder.feed(chunk)
    return decoder, decoder.close()


def test_every_split_point_inside_strings_numbers_and_multibyte_characters():
    body = json.dumps(DOC, ensure_ascii=False).encode()
    assert len(body) != len(body.decode())  # multi-byte UTF-8 in there
    for cut in range(len(body) + 1):
        decoder, items = decode([body[:cut], body[cut:]])
        assert items == DOC, cut
        assert decoder.is_list


def test_one_byte_at_a_time_and_pretty_printed():
    body = json.dumps(DOC, ensure_ascii=False, indent=2).encode()
    _, items = decode([body[i:i + 1] for i in range(len(body))])
    assert items == DOC


def test_each_is_applied_as_elements_complete():
    seen = []

    def each(value):
        seen.append(value)
        return ("kept", value)

    decoder = ListDecoder(each)
    decoder.feed(b'[{"ID":1},{"ID":')
    assert seen == [{"ID": 1}]  # the first element was handed over before the body ended
    decoder.feed(b'2}]')
    assert decoder.close() == [("kept", {"ID": 1}), ("kept", {"ID": 2})]


def test_a_number_cut_at_the_chunk_boundary_is_not_taken_short():
    _, items = decode([b"[12", b"34, 5", b"6]"])
    assert items == [1234, 56]


@pytest.mark.parametrize("body", [b"[]", b" [ ] ", b"\n[\n]\n"])
def test_empty_lists(body):
    decoder, items = decode([body])
    assert items == [] and decoder.is_list


def test_a_large_element_over_many_chunks():
    element = {"ID": "x", "Blob": "ü" * 200_000}
    body = json.dumps([element, element], ensure_ascii=False).encode()
    _, items = decode([body[i:i + 1000] for i in range(0, len(body), 1000)])
    assert items == [element, element]


@pytest.mark.parametrize("body", [
    b'[{"ID":"abc', b'[{"ID":"ab\x00}', b"[1,]", b"[1 2]", b"[1]x", b"[", b"", b"  ", b"[{]", b"\xff\xfe[]",
    b'<html><title>502</title></html>', b'[{"ID":"a"},',
])
def test_garbage_is_a_value_error(body):
    decoder = ListDecoder()
    with pytest.raises(ValueError):
        decoder.feed(body)
        decoder.close()


def test_a_body_that_is_not_a_list_is_decoded_whole():
    decoder, value = decode([b' {"not":', b' "a list"}'])
    assert not decoder.is_list and value == {"not": "a list"}


# ---- the streamed reads over HTTP (the same ApiErrors as before) -----------------------------------
def mocked(content: bytes, ctype: str = "application/json", chunk: int = 7) -> NomadClient:
    def handler(request: httpx.Request) -> httpx.Response:
        parts = [content[i:i + chunk] for i in range(0, len(content), chunk)]
        return httpx.Response(200, headers={"Content-Type": ctype, "X-Nomad-Index": "42"},
                              stream=_Chunks(parts))

    client = NomadClient(NomadSettings(addr="http://nomad.test:4646"), timeout=3)
    client._http.client = httpx.AsyncClient(base_url="http://nomad.test:4646", transport=httpx.MockTransport(handler))
    return client


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, parts):
        self.parts = parts

    async def __aiter__(self):
        for part in self.parts:
            yield part


async def test_a_streamed_list_read_applies_each_and_keeps_the_index():
    body = json.dumps([{"ID": f"alloc-{i}", "Name": "ünïcode"} for i in range(50)], ensure_ascii=False).encode()
    client = mocked(body)
    try:
        got = await client.allocations(each=lambda d: d["ID"])
    finally:
        await client.aclose()
    assert got.value == [f"alloc-{i}" for i in range(50)] and got.index == 42


@pytest.mark.parametrize("body,ctype,start", [
    (b'[{"ID":"a"},{"ID":"b', "application/json", "Nomad sent invalid JSON: "),
    (b"<!doctype html><title>Login</title>", "application/octet-stream", "Nomad sent HTML, not JSON (a proxy?): Login"),
    (b"  \n <html><title>Gateway</title>", "", "Nomad sent HTML, not JSON (a proxy?): Gateway"),
    (b'{"not": "a list"}', "application/json", "Nomad sent an unexpected answer: expected a list, got an object"),
])
async def test_streamed_list_errors(body, ctype, start):
    client = mocked(body, ctype, chunk=3)
    try:
        with pytest.raises(ApiError) as info:
            await client.jobs()
    finally:
        await client.aclose()
    assert info.value.kind is ErrorKind.BAD_RESPONSE and info.value.one_line().startswith(start)


# ---- ElementMemo: an element unchanged since the previous answer is not decoded again (issue 15) -------
def answer(items) -> bytes:
    """A list as Nomad writes one (Go's encoder: no spaces between elements)."""
    return json.dumps(items, separators=(",", ":")).encode()


def read_with_memo(memo, body: bytes, cuts=()):
    """Decode `body` (split at `cuts`) with `memo`; returns (results, the elements `each` was given)."""
    decoded = []

    def each(value):
        decoded.append(value)
        return {"kept": value["ID"], "n": value.get("N")}

    decoder = ListDecoder(each, memo)
    last = 0
    for cut in (*cuts, len(body)):
        decoder.feed(body[last:cut])
        last = cut
    return decoder.close(), decoded


def allocs(*specs):
    return [{"ID": f"alloc-{i}", "N": n, "Pad": "x" * (10 + i)} for i, n in specs]


def test_unchanged_elements_are_not_decoded_again_and_keep_their_previous_result():
    memo = ElementMemo()
    first = allocs((1, 0), (2, 0), (3, 0), (4, 0))
    results, decoded = read_with_memo(memo, answer(first))
    assert len(decoded) == 4 and memo.reused == 0

    second = allocs((1, 0), (2, 5), (3, 0), (4, 0))  # alloc-2 changed
    again, decoded = read_with_memo(memo, answer(second))
    assert [d["ID"] for d in decoded] == ["alloc-2"] and memo.reused == 3
    assert again[0] is results[0] and again[2] is results[2] and again[3] is results[3]
    assert again[1] == {"kept": "alloc-2", "n": 5}


def test_added_and_removed_elements_are_decoded_and_the_rest_found_again():
    memo = ElementMemo()
    read_with_memo(memo, answer(allocs((1, 0), (2, 0), (3, 0), (4, 0), (5, 0))))
    # alloc-2 went away, alloc-9 is new in the middle, alloc-5 changed
    changed = allocs((1, 0), (3, 0), (9, 0), (4, 0), (5, 1))
    results, decoded = read_with_memo(memo, answer(changed))
    assert [r["kept"] for r in results] == ["alloc-1", "alloc-3", "alloc-9", "alloc-4", "alloc-5"]
    assert results[4]["n"] == 1
    assert sorted(d["ID"] for d in decoded) == ["alloc-3", "alloc-5", "alloc-9"]  # alloc-3: out of step once
    assert memo.reused == 2


def test_the_memo_works_across_every_chunk_boundary():
    body = answer(allocs((1, 0), (2, 0), (3, 0)))
    changed = answer(allocs((1, 0), (2, 7), (3, 0)))
    for cut in range(1, len(changed)):
        memo = ElementMemo()
        read_with_memo(memo, body)
        results, decoded = read_with_memo(memo, changed, cuts=(cut,))
        assert [r["n"] for r in results] == [0, 7, 0], cut
        assert [d["ID"] for d in decoded] == ["alloc-2"], cut


def test_a_failed_answer_leaves_the_memo_as_it_was():
    memo = ElementMemo()
    read_with_memo(memo, answer(allocs((1, 0), (2, 0))))
    kept = memo.entries
    with pytest.raises(ValueError):
        read_with_memo(memo, answer(allocs((1, 0), (2, 0)))[:-5])  # cut short
    assert memo.entries is kept
    results, decoded = read_with_memo(memo, answer(allocs((1, 0), (2, 0))))
    assert decoded == [] and [r["kept"] for r in results] == ["alloc-1", "alloc-2"]
