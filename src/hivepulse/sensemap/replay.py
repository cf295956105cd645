"""Record real ``GET /boxes/{id}`` responses and replay them with timestamps re-based to now.

A recording directory holds ``manifest.json`` (``recorded_at`` epoch seconds, ``base_url``, ``ids``,
``box_recorded_at``: per box, the midpoint of its request, used for re-basing when present) and
``boxes/<id>.json`` (the response body exactly as received, so key order is preserved). On replay every
RFC 3339 timestamp in a body is shifted by ``now - recorded_at``: a reading that was 2 minutes old when
recorded is 2 minutes old at every request.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from hivepulse.errors import InputError, SourceError
from hivepulse.opensensemap import PUBLIC_API, JsonObject, format_timestamp, is_valid_box_id, parse_timestamp

MAX_EPOCH_S = 1e11
"""Recording times must lie between the epoch and this (the year 5138): anything else is a damaged manifest."""
TIMESTAMP_RE = re.compile(r'"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)"')


@dataclass
class Recording:
    """Recorded box bodies (raw text) and the time they were recorded."""

    recorded_at: float
    bodies: dict[str, str]
    box_recorded_at: dict[str, float] | None = None

    @property
    def ids(self) -> list[str]:
        return list(self.bodies)

    def rebased_text(self, box_id: str, now: float) -> str | None:
        """The body of ``box_id`` with every timestamp shifted by ``now - recorded_at``; None if unknown."""
        text = self.bodies.get(box_id)
        if text is None:
            return None
        shift = now - (self.box_recorded_at or {}).get(box_id, self.recorded_at)

        def move(match: re.Match[str]) -> str:
            try:
                return '"' + format_timestamp(parse_timestamp(match.group(1)) + shift) + '"'
            except (ValueError, OverflowError, OSError):  # a timestamp that cannot move (year 9999): kept
                return match.group(0)

        return TIMESTAMP_RE.sub(move, text)

    def document(self, box_id: str, now: float) -> JsonObject | None:
        text = self.rebased_text(box_id, now)
        return None if text is None else json.loads(text)


def load_recording(directory: Path | str) -> Recording:
    """Read a recording directory; :class:`InputError` names the file and what is wrong."""
    root = Path(directory)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise InputError("not a recording directory (manifest.json missing)", file=str(root),
                         expected="a directory written by `hivepulse sensemap record`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        recorded_at = float(manifest["recorded_at"])
        ids = [str(i) for i in manifest["ids"]]
        per_box = {str(k): float(v) for k, v in (manifest.get("box_recorded_at") or {}).items()}
        if not all(0 < t < MAX_EPOCH_S for t in (recorded_at, *per_box.values())):  # NaN fails too
            raise ValueError("recording time out of range")
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON ({exc.msg})", file=str(manifest_path), line=exc.lineno) from None
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError, OverflowError):
        raise InputError("invalid manifest", file=str(manifest_path),
                         expected='{"recorded_at": <epoch seconds>, "ids": [...]} with times between 1970 '
                                  'and 5138') from None
    bodies: dict[str, str] = {}
    for box_id in ids:
        path = root / "boxes" / f"{box_id}.json"
        try:
            text = path.read_text(encoding="utf-8")
            json.loads(text)
        except FileNotFoundError:
            raise InputError("recorded box missing", file=str(path)) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON ({exc.msg})", file=str(path), line=exc.lineno) from None
        except RecursionError:
            raise InputError("invalid JSON (nested too deeply)", file=str(path)) from None
        bodies[box_id] = text
    return Recording(recorded_at, bodies, per_box)


def record(ids: Sequence[str], out_dir: Path | str, base_url: str = PUBLIC_API, timeout_s: float = 30.0,
           progress: Callable[[str], None] | None = None) -> Path:
    """Fetch ``GET {base_url}/boxes/{id}`` for each id and write a recording directory atomically.

    Nothing is written unless every box was fetched with status 200 (:class:`SourceError` otherwise);
    ``out_dir`` must not exist or be empty.
    """
    bad = [i for i in ids if not is_valid_box_id(i)]
    if bad:
        raise InputError("invalid box id", column="--ids", value=bad[0], expected="24 hex digits")
    if not ids:
        raise InputError("no box ids", column="--ids", expected="one or more 24-hex-digit ids")
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError("output directory exists and is not empty", file=str(out))
    base = base_url.rstrip("/")
    bodies: dict[str, str] = {}
    times: dict[str, float] = {}
    recorded_at = time.time()
    with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
        for box_id in ids:
            sent = time.time()
            try:
                response = client.get(f"{base}/boxes/{box_id}")
            except httpx.HTTPError as exc:
                raise SourceError(f"GET {base}/boxes/{box_id} failed: {type(exc).__name__}: {exc}") from None
            if response.status_code != 200:
                raise SourceError(f"GET {base}/boxes/{box_id} answered {response.status_code}")
            try:
                json.loads(response.text)
            except json.JSONDecodeError:
                raise SourceError(f"GET {base}/boxes/{box_id} did not return JSON") from None
            bodies[box_id] = response.text
            times[box_id] = (sent + time.time()) / 2  # the server's "now" is about mid-request
            if progress:
                progress(box_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".sensemap-record-", dir=out.parent))
    try:
        (staging / "boxes").mkdir()
        for box_id, text in bodies.items():
            (staging / "boxes" / f"{box_id}.json").write_text(text, encoding="utf-8")
        manifest = {"recorded_at": recorded_at, "recorded_at_iso": format_timestamp(recorded_at),
                    "base_url": base, "ids": list(bodies), "box_recorded_at": times}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
