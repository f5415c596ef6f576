"""A JSON array decoded element by element as its bytes arrive (no project imports).

/v1/allocations at 15,000 allocations is ~50 MB of JSON that decodes to ~130 MB of dicts; the poller
keeps a few hundred bytes of each. Decoding the whole body at once held the body, its text and every
decoded allocation at the same time. Here each element is decoded as soon as its text is complete and
handed to `each` (which slims it), so what is held is one chunk, one element's text and the results.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, Callable, Optional

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER_TAIL = frozenset(".eE+-0123456789")
_START, _FIRST, _ITEM, _AFTER, _DONE = range(5)


class ListDecoder:
    """feed(bytes) as chunks arrive, then close() -> the list of `each(element)`.

    Raises ValueError (json.JSONDecodeError, UnicodeDecodeError) for a body that is not valid JSON.
    `is_list` is False when the body turned out not to start with `[`: the caller then gets the whole
    decoded value from close() and decides what to say about its shape.
    """

    def __init__(self, each: Optional[Callable[[Any], Any]] = None) -> None:
        self.each = each
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
                # An element (state _FIRST or _ITEM). Until its text is complete raw_decode fails; try
                # again only once the pending text has doubled, so a huge element costs O(n), not O(n^2).
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
                items.append(each(value) if each is not None else value)
                state, pos = _AFTER, stop
        finally:
            self._pos, self._state = pos, state
