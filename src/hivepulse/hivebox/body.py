"""Bounded reading of an upstream body: a size cap on the wire and after decompression, and bounded JSON.

An openSenseMap box document is a few KiB; anything far larger is a fault or an attack, so HiveBox reads at
most ``max_bytes`` (``HIVEBOX_UPSTREAM_MAX_BYTES``, default :data:`DEFAULT_MAX_BODY_BYTES`) of a body:

- a ``Content-Length`` above the cap is refused before anything is read;
- the raw (possibly compressed) bytes are counted as they arrive; more than ``max_bytes`` is refused;
- ``Content-Encoding`` ``gzip``, ``deflate`` (zlib or raw) and ``br`` (brotli) are decoded incrementally with
  an output limit per step (zlib ``max_length``, brotli ``output_buffer_limit``), so a small "bomb" never
  expands beyond ``max_bytes + 1`` bytes in memory: it is refused as soon as its output passes the cap;
  ``identity`` or no header means no decoding; any other or a stacked encoding is refused;
- JSON is parsed by the C parser and refused when nested deeper than :data:`MAX_JSON_DEPTH` (a box is 4
  levels deep), including documents deep enough to exhaust the parser's recursion (100,000 nested arrays).

Every refusal is a :class:`BodyRefused` with the error kind the service counts (``too_large``,
``invalid_encoding``, ``invalid_json``).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable

import brotli

DEFAULT_MAX_BODY_BYTES = 1 << 20
"""Largest upstream body HiveBox reads, before and after decompression: 1 MiB (a real box is 3-20 KiB)."""
MIN_MAX_BODY_BYTES = 1024
MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects accepted in an upstream document."""
ACCEPT_ENCODING = "gzip, deflate, br"


class BodyRefused(Exception):
    """The body is not read any further: ``kind`` is the error kind (``too_large``, ``invalid_encoding``,
    ``invalid_json``)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _Zlib:
    """gzip (``wbits=31``, members one after another) or deflate (zlib ``wbits=15``, else raw ``-15``)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
        self._decoder = zlib.decompressobj(self._wbits)
        self._started = False

    def decode(self, data: bytes, room: int) -> bytes:
        out = bytearray()
        while data:
            try:
                chunk = self._decoder.decompress(data, room - len(out) + 1)
            except zlib.error:
                if self._gzip or self._started:
                    raise BodyRefused("invalid_encoding") from None
                self._wbits = -zlib.MAX_WBITS  # "deflate" sent as raw deflate, as some servers do
                self._decoder = zlib.decompressobj(self._wbits)
                self._started = True
                continue
            self._started = True
            out += chunk
            if len(out) > room:
                raise BodyRefused("too_large")
            data = self._decoder.unconsumed_tail
            if not data and self._decoder.eof and self._decoder.unused_data:
                data = self._decoder.unused_data  # the next gzip member
                self._decoder = zlib.decompressobj(self._wbits)
        return bytes(out)

    def finish(self, room: int) -> bytes:
        try:
            out = self._decoder.flush(room + 1)
        except zlib.error:
            raise BodyRefused("invalid_encoding") from None
        if len(out) > room:
            raise BodyRefused("too_large")
        return out


class _Brotli:
    def __init__(self) -> None:
        self._decoder = brotli.Decompressor()

    def decode(self, data: bytes, room: int) -> bytes:
        try:
            out = bytearray(self._decoder.process(data, output_buffer_limit=room + 1))
            while len(out) <= room and not self._decoder.can_accept_more_data():
                out += self._decoder.process(b"", output_buffer_limit=room - len(out) + 1)
        except brotli.error:
            raise BodyRefused("invalid_encoding") from None
        if len(out) > room:
            raise BodyRefused("too_large")
        return bytes(out)

    def finish(self, room: int) -> bytes:
        return b""


class _Identity:
    def decode(self, data: bytes, room: int) -> bytes:
        if len(data) > room:
            raise BodyRefused("too_large")
        return data

    def finish(self, room: int) -> bytes:
        return b""


_DECODERS: dict[str, Callable[[], _Zlib | _Brotli | _Identity]] = {
    "": _Identity, "identity": _Identity, "gzip": lambda: _Zlib(gzip=True), "x-gzip": lambda: _Zlib(gzip=True),
    "deflate": lambda: _Zlib(gzip=False), "br": _Brotli,
}


class BoundedBody:
    """Collects a body chunk by chunk within ``max_bytes`` (raw and decoded); see the module docstring."""

    def __init__(self, content_encoding: str | None, max_bytes: int, content_length: str | None = None) -> None:
        encoding = (content_encoding or "").strip().lower()
        factory = _DECODERS.get(encoding)
        if factory is None:
            raise BodyRefused("invalid_encoding")
        if content_length is not None:
            try:
                declared = int(content_length)
            except ValueError:
                declared = -1
            if declared > max_bytes:
                raise BodyRefused("too_large")
        self._decoder = factory()
        self._max = max_bytes
        self._raw = 0
        self._out = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._raw += len(chunk)
        if self._raw > self._max:
            raise BodyRefused("too_large")
        self._out += self._decoder.decode(chunk, self._max - len(self._out))

    def finish(self) -> bytes:
        self._out += self._decoder.finish(self._max - len(self._out))
        return bytes(self._out)


def _too_deep(data: object, limit: int) -> bool:
    """True when ``data`` nests arrays/objects deeper than ``limit`` (iterative, stops at the first hit)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: list[object] = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json_object(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> dict[str, object]:
    """The JSON object in ``body``; :class:`BodyRefused` (``invalid_json``) for anything else: not JSON, not
    an object, nested deeper than ``max_depth``, or too deep for the parser's recursion."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BodyRefused("invalid_json") from None
    if not isinstance(data, dict) or _too_deep(data, max_depth):
        raise BodyRefused("invalid_json")
    return data


__all__ = ["ACCEPT_ENCODING", "DEFAULT_MAX_BODY_BYTES", "MAX_JSON_DEPTH", "MIN_MAX_BODY_BYTES", "BodyRefused",
           "BoundedBody", "parse_json_object"]
