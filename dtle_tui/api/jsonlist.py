"""A JSON array decoded element by element as its bytes arrive (no project imports).

/v1/allocations at 15,000 allocations is ~50 MB of JSON that decodes to ~130 MB of dicts; the poller
keeps a few hundred bytes of each. Decoding the whole body at once held the body, its text and every
decoded allocation at the same time. Here each element is decoded as soon as its text is complete and
handed to `each` (which slims it), so what is held is one chunk, one element's text and the results.

With an `ElementMemo` (one per list feed), an element whose text is exactly as in the previous answer is
not decoded at all: the previous answer's result for it is used again. On Nomad 0.11 every change
re-reads the whole lists, and all but a few elements come back byte for byte the same (issue 15: the CPU
of a change was mostly the JSON decode of elements that had not changed).
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, Callable, Optional

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER_TAIL = frozenset(".eE+-0123456789")
_START, _FIRST, _ITEM, _AFTER, _DONE = range(5)


class ElementMemo:
    """The previous answer of one list, element by element: its text's length and hash, what `each` made
    of it, and its "ID" (to find the place again after an element was added or removed).

    The hash is Python's own for str (64 bits, keyed per process): two different texts of the same length
    at the same place in the list taking the same hash is not a case to design for. Kept: ~100 bytes per
    element, never the text."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, int, Any, Any]] = []  # (length, hash, result, ID)
        self.position: dict[Any, int] = {}
        self.reused = 0  # elements taken from the previous answer in the last complete one

    def commit(self, entries: list, reused: int) -> None:
        self.entries, self.reused = entries, reused
        self.position = {e[3]: i for i, e in enumerate(entries) if e[3] is not None}


class ListDecoder:
    """feed(bytes) as chunks arrive, then close() -> the list of `each(element)`.

    Raises ValueError (json.JSONDecodeError, UnicodeDecodeError) for a body that is not valid JSON.
    `is_list` is False when the body turned out not to start with `[`: the caller then gets the whole
    decoded value from close() and decides what to say about its shape.
    """

    def __init__(self, each: Optional[Callable[[Any], Any]] = None, memo: Optional[ElementMemo] = None) -> None:
        self.each = each
        self.memo = memo
        self._old = memo.entries if memo is not None else []
        self._next = 0  # the element of the previous answer expected next
        self._new: list[tuple[int, int, Any, Any]] = []
        self._reused = 0
        self.items: list = []
        self.is_list = True
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._text = ""
        self._pos = 0
        self._state = _START
        self._need = 0  # pending text length before an incomplete element is tried again
        self._other: list[str] = []  # the whole text of a body that is not a list
        self._decode = json.JSONDecoder().raw_decode

    def feed(self, chunk: bytes) -> None:
        text = self._utf8.decode(chunk)
        if not self.is_list:
            self._other.append(text)
            return
        self._text = self._text[self._pos:] + text if self._pos else self._text + text
        self._pos = 0
        self._run(final=False)

    def close(self) -> Any:
        text = self._utf8.decode(b"", final=True)
        if not self.is_list:
            self._other.append(text)
            return json.loads("".join(self._other))
        self._text = self._text[self._pos:] + text
        self._pos = 0
        self._run(final=True)
        if self._state != _DONE:
            # The same message json.loads gives for a truncated document.
            raise json.JSONDecodeError("Expecting value" if self._state in (_START, _ITEM) else
                                       "Expecting ',' delimiter", self._text, len(self._text))
        if self.memo is not None:  # only a whole, valid answer becomes the next one's reference
            self.memo.commit(self._new, self._reused)
        return self.items

    def _run(self, final: bool) -> None:
        text, decode, items, each = self._text, self._decode, self.items, self.each
        pos, state = self._pos, self._state
        end = len(text)
        try:
            while True:
                pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
                if pos >= end:
                    break
                if state == _DONE:
                    raise json.JSONDecodeError("Extra data", text, pos)
                char = text[pos]
                if state == _AFTER:
                    if char == ",":
                        state, pos = _ITEM, pos + 1
                    elif char == "]":
                        state, pos = _DONE, pos + 1
                    else:
                        raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
                    continue
                if state == _START:
                    if char != "[":
                        # Not a list (an object, a string, garbage): decoded whole at close(), as before.
                        self.is_list = False
                        self._other.append(text[pos:])
                        pos = end
                        break
                    state, pos = _FIRST, pos + 1
                    continue
                if state == _FIRST and char == "]":
                    state, pos = _DONE, pos + 1
                    continue
                # An element (state _FIRST or _ITEM). The same text as the previous answer's element here:
                # its previous result, nothing decoded.
                old = self._old
                if self._next < len(old):
                    entry = old[self._next]
                    stop = pos + entry[0]
                    if stop < end:
                        if text[stop] in ",]" and hash(text[pos:stop]) == entry[1]:
                            state, pos = _AFTER, self._take_unchanged(text, stop, entry)
                            continue
                    elif not final:
                        break  # not enough text yet to compare it with the previous answer's
                # Until its text is complete raw_decode fails; try again only once the pending text has
                # doubled, so a huge element costs O(n), not O(n^2).
                if not final and end - pos < self._need:
                    break
                try:
                    value, stop = decode(text, pos)
                except json.JSONDecodeError:
                    if final:
                        raise
                    self._need = 2 * (end - pos)
                    break
                if not final and (stop >= end or (type(value) in (int, float) and text[stop] in _NUMBER_TAIL)):
                    break  # a number cut by the chunk boundary ("12|34", "0.|5") decodes short: wait
                self._need = 0
                result = each(value) if each is not None else value
                items.append(result)
                if self.memo is not None:
                    self._remember(text, pos, stop, value, result)
                state, pos = _AFTER, stop
        finally:
            self._pos, self._state = pos, state

    def _take_unchanged(self, text: str, stop: int, entry: tuple) -> int:
        """`entry` matched the text ending at `stop`: take it, then every following element that is also
        unchanged, in a tight loop (most of a re-read list is). Returns where the last one taken ends."""
        old, new, items, end = self._old, self._new, self.items, len(text)
        taken, nxt = 0, self._next
        while True:
            nxt += 1
            taken += 1
            new.append(entry)
            items.append(entry[2])
            if text[stop] != "," or nxt >= len(old):
                break
            entry = old[nxt]
            start = stop + 1
            after = start + entry[0]
            if after >= end or text[after] not in ",]" or hash(text[start:after]) != entry[1]:
                break
            stop = after
        self._next, self._reused = nxt, self._reused + taken
        return stop

    def _remember(self, text: str, pos: int, stop: int, value: Any, result: Any) -> None:
        key = value.get("ID") if type(value) is dict else None
        key = key if isinstance(key, str) else None
        self._new.append((stop - pos, hash(text[pos:stop]), result, key))
        where = self.memo.position.get(key) if key is not None and self.memo is not None else None
        if where is not None and where >= self._next:
            self._next = where + 1  # changed (or elements before it went away): carry on after it
