"""Bounded upstream bodies, unit by unit (the end-to-end version is test_hostile_upstream.py): the cap holds
before and after gzip / deflate (zlib and raw) / brotli decoding, and JSON is bounded in depth."""

from __future__ import annotations

import gzip
import json
import zlib

import brotli
import pytest

from hivepulse.hivebox.body import MAX_JSON_DEPTH, BodyRefused, BoundedBody, parse_json_object

DOC = json.dumps({"sensors": [{"title": "Temperatur", "lastMeasurement": {"value": "20.1"}}] * 20}).encode()


def _collect(body: bytes, encoding: str | None, limit: int, chunk: int = 4096) -> bytes:
    reader = BoundedBody(encoding, limit)
    for i in range(0, len(body), chunk):
        reader.feed(body[i:i + chunk])
    return reader.finish()


def _raw_deflate(data: bytes) -> bytes:
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    return z.compress(data) + z.flush()


@pytest.mark.parametrize(("encoding", "encode"), [
    (None, lambda d: d), ("identity", lambda d: d), ("gzip", gzip.compress), ("deflate", zlib.compress),
    ("deflate", _raw_deflate), ("br", brotli.compress), ("GZIP", gzip.compress),
])
def test_each_encoding_round_trips_within_the_cap(encoding, encode):
    assert _collect(encode(DOC), encoding, len(DOC)) == DOC  # exactly at the cap: accepted
    with pytest.raises(BodyRefused) as info:
        _collect(encode(DOC), encoding, len(DOC) - 1)
    assert info.value.kind == "too_large"


@pytest.mark.parametrize(("encoding", "encode"), [("gzip", gzip.compress), ("deflate", zlib.compress),
                                                  ("br", brotli.compress)])
def test_a_bomb_is_refused_after_at_most_the_cap(encoding, encode):
    bomb = encode(bytes(64 << 20))  # 64 MiB of zeros in a few KiB
    assert len(bomb) < 100_000
    reader = BoundedBody(encoding, 1 << 20)
    with pytest.raises(BodyRefused, match="too_large"):
        reader.feed(bomb)  # one chunk holding the whole bomb: output still bounded by the cap
    assert len(reader._out) <= 1 << 20


def test_declared_length_raw_bytes_and_encodings_are_checked():
    with pytest.raises(BodyRefused, match="too_large"):
        BoundedBody(None, 100, content_length="101")
    assert BoundedBody(None, 100, content_length="junk") is not None  # the bytes are counted anyway
    reader = BoundedBody("gzip", 1000)
    with pytest.raises(BodyRefused, match="too_large"):  # raw bytes over the cap even if they shrink
        reader.feed(b"\x1f\x8b" + bytes(1001))
    for bad in ("compress", "gzip, gzip", "zstd"):
        with pytest.raises(BodyRefused, match="invalid_encoding"):
            BoundedBody(bad, 1000)
    with pytest.raises(BodyRefused, match="invalid_encoding"):
        _collect(b"not gzip at all", "gzip", 1000)
    with pytest.raises(BodyRefused, match="invalid_encoding"):
        _collect(b"not brotli at all", "br", 1000)


def test_json_must_be_an_object_of_bounded_depth():
    assert parse_json_object(DOC)["sensors"][0]["title"] == "Temperatur"
    nested = {"a": 1}
    for _ in range(MAX_JSON_DEPTH - 1):
        nested = {"a": nested}
    assert parse_json_object(json.dumps(nested).encode())
    for bad in (json.dumps({"a": nested}).encode(), b"[" * 100_000 + b"]" * 100_000, b"[1, 2]", b"{",
                b"\xff\xfe", ("1" * 5000).encode()):
        with pytest.raises(BodyRefused, match="invalid_json"):
            parse_json_object(bad)
