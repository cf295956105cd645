"""Scenario files (``profiling/scenarios.yaml``): a matrix cache x client x latency profile, plus overrides.

Schema (every key optional except ``matrix`` or ``scenarios``; units in the names)::

    defaults:            # applied to every scenario
      requests: 300      # recorded requests of the warm load run
      concurrency: 1     # closed model: clients; or `rate: 50` (requests/s) for the open model
      cold_requests: 3   # single requests each after emptying the cache, labelled cold
      boxes: 3           # senseBoxes HiveBox averages over
      ttl_s: 60          # HiveBox cache TTL
      single_flight: wait  # off | wait | stale (true = wait)
      seed: 7            # replay server seed
      max_in_flight: 64  # open model only
    latency_profiles:    # replay-server latency models (hivepulse.sensemap.latency.LatencyModel fields)
      typical: {median_ms: 100, sigma: 0.25}
    matrix:              # the cartesian product, in this order
      cache: [none, memory, valkey, memcached]
      client: [naive, pooled, concurrent]
      latency: [typical]
    overrides:           # applied in order to scenarios whose fields equal every `match` value
      - match: {cache: none}
        requests: 40
    scenarios:           # extra explicit scenarios (same keys as defaults, plus cache/client/latency/name)
      - {cache: valkey, client: pooled, latency: typical, rate: 100}

A scenario's ``name`` defaults to ``<cache>-<client>-<latency>``. Errors raise
:class:`hivepulse.errors.InputError` naming the file, the line and the field.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from hivepulse.errors import InputError

CACHES = ("none", "memory", "valkey", "memcached")
CLIENTS = ("naive", "pooled", "concurrent")
LATENCY_FIELDS = ("median_ms", "sigma", "cold_start_ms", "cold_after_s", "error_rate", "timeout_rate",
                  "timeout_s", "seed")
DEFAULT_PROFILES: dict[str, dict[str, float]] = {
    "fast": {"median_ms": 10.0, "sigma": 0.2},
    "typical": {"median_ms": 100.0, "sigma": 0.25},
}
_SETTINGS = {
    "requests": int, "concurrency": int, "rate": float, "cold_requests": int, "boxes": int, "ttl_s": float,
    "single_flight": str, "seed": int, "max_in_flight": int,
}
_TOP = ("defaults", "latency_profiles", "matrix", "overrides", "scenarios")


@dataclass(frozen=True)
class Scenario:
    """One cell of the matrix: what to start and how to load it. ``latency_model`` is the replay setting."""

    name: str
    cache: str
    client: str
    latency: str
    latency_model: dict[str, float] = field(default_factory=dict)
    requests: int = 300
    concurrency: int | None = 1
    rate: float | None = None
    cold_requests: int = 3
    boxes: int = 3
    ttl_s: float = 60.0
    single_flight: str = "wait"  # off | wait | stale (HIVEBOX_SINGLE_FLIGHT)
    seed: int = 7
    max_in_flight: int = 64

    @property
    def latency_ms(self) -> float:
        """The replay server's injected median latency per upstream request, ms."""
        return float(self.latency_model.get("median_ms", 0.0))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _LineLoader(yaml.SafeLoader):
    """Records the line (1-based) of every mapping key as ``{id(mapping): {key: line}}``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {}
    for key_node, _ in node.value:
        lines[key_node.value] = key_node.start_mark.line + 1
    mapping = _LineDict(mapping)
    mapping.lines = lines
    mapping.line = node.start_mark.line + 1
    return mapping


class _LineDict(dict):
    lines: dict[str, int]
    line: int


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line(mapping: Any, key: str | None = None) -> int | None:
    if isinstance(mapping, _LineDict):
        return mapping.lines.get(key, mapping.line) if key is not None else mapping.line
    return None


SINGLE_FLIGHT = ("off", "wait", "stale")


def _coerce(file: str, mapping: dict, key: str, kind: type) -> Any:
    value = mapping[key]
    if value is None and key == "rate":
        return None
    if key == "single_flight":
        value = {True: "wait", False: "off"}.get(value, value) if isinstance(value, bool) else value
        if value not in SINGLE_FLIGHT:
            raise InputError("invalid setting", file=file, line=_line(mapping, key), column=key, value=value,
                             expected="true, false, off, wait or stale")
        return value
    ok = isinstance(value, bool) if kind is bool else (
        isinstance(value, int | float) and not isinstance(value, bool) and (kind is float or value == int(value)))
    if not ok:
        expected = {bool: "true or false", int: "an integer", float: "a number"}[kind]
        raise InputError("invalid setting", file=file, line=_line(mapping, key), column=key, value=value,
                         expected=expected)
    value = kind(value)
    if kind in (int, float) and value < 0 or key in ("requests", "boxes") and value < 1:
        raise InputError("invalid setting", file=file, line=_line(mapping, key), column=key, value=value,
                         expected="a positive number")
    return value


def _settings(file: str, mapping: Any, *, allowed_extra: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise InputError("expected a mapping", file=file, line=_line(mapping), value=mapping,
                         expected="key: value pairs")
    out: dict[str, Any] = {}
    for key in mapping:
        if key in _SETTINGS:
            out[key] = _coerce(file, mapping, key, _SETTINGS[key])
        elif key in allowed_extra:
            out[key] = mapping[key]
        else:
            raise InputError("unknown setting", file=file, line=_line(mapping, key), column=str(key),
                             expected=", ".join([*_SETTINGS, *allowed_extra]))
    if out.get("concurrency") is not None and out.get("rate") is not None:
        raise InputError("give concurrency or rate, not both", file=file, line=_line(mapping, "rate"),
                         column="rate")
    return out


def _profile(file: str, name: str, mapping: Any) -> dict[str, float]:
    if not isinstance(mapping, dict):
        raise InputError("a latency profile must be a mapping", file=file, column=name, value=mapping,
                         expected="median_ms, sigma, ...")
    out = {}
    for key, value in mapping.items():
        if key not in LATENCY_FIELDS:
            raise InputError("unknown latency setting", file=file, line=_line(mapping, key), column=str(key),
                             expected=", ".join(LATENCY_FIELDS))
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise InputError("invalid latency setting", file=file, line=_line(mapping, key), column=str(key),
                             value=value, expected="a number >= 0")
        out[key] = float(value)
    return out


def _choice(file: str, mapping: Any, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InputError(f"unknown {key}", file=file, line=_line(mapping, key), column=key, value=value,
                         expected=" | ".join(allowed))
    return value


def _merge(values: dict[str, Any], layer: dict[str, Any]) -> None:
    """Update ``values`` with ``layer``; a layer setting ``rate`` clears ``concurrency`` and vice versa."""
    values.update(layer)
    if layer.get("rate") is not None:
        values["concurrency"] = None
    elif layer.get("concurrency") is not None:
        values["rate"] = None


def parse_scenarios(data: Any, file: str = "<scenarios>") -> list[Scenario]:
    """Build the scenario list from parsed YAML ``data`` (see the module docstring)."""
    if not isinstance(data, dict):
        raise InputError("expected a mapping at the top level", file=file, line=1,
                         expected=", ".join(_TOP))
    for key in data:
        if key not in _TOP:
            raise InputError("unknown key", file=file, line=_line(data, key), column=str(key),
                             expected=", ".join(_TOP))
    defaults = _settings(file, data.get("defaults") or {})
    profiles = dict(DEFAULT_PROFILES)
    raw_profiles = data.get("latency_profiles") or {}
    if not isinstance(raw_profiles, dict):
        raise InputError("expected a mapping of profile names", file=file, line=_line(data, "latency_profiles"),
                         column="latency_profiles")
    for name, mapping in raw_profiles.items():
        profiles[str(name)] = _profile(file, str(name), mapping)
    cells: list[dict[str, Any]] = []
    matrix = data.get("matrix")
    if matrix is not None:
        if not isinstance(matrix, dict):
            raise InputError("expected a mapping", file=file, line=_line(data, "matrix"), column="matrix")
        for key in matrix:
            if key not in ("cache", "client", "latency"):
                raise InputError("unknown matrix axis", file=file, line=_line(matrix, key), column=str(key),
                                 expected="cache, client, latency")
        axes = {}
        for key, allowed in (("cache", CACHES), ("client", CLIENTS), ("latency", tuple(profiles))):
            values = matrix.get(key, [allowed[0]] if key != "latency" else ["typical"])
            if not isinstance(values, list) or not values:
                raise InputError("expected a non-empty list", file=file, line=_line(matrix, key), column=key,
                                 value=values)
            axes[key] = [_choice(file, matrix, key, v, allowed) for v in values]
        for cache, client, latency in itertools.product(axes["cache"], axes["client"], axes["latency"]):
            cells.append({"cache": cache, "client": client, "latency": latency})
    extra = data.get("scenarios") or []
    if not isinstance(extra, list):
        raise InputError("expected a list", file=file, line=_line(data, "scenarios"), column="scenarios")
    for item in extra:
        if not isinstance(item, dict):
            raise InputError("a scenario must be a mapping", file=file, value=item,
                             expected="cache, client, latency, ...")
        settings = _settings(file, item, allowed_extra=("cache", "client", "latency", "name"))
        cell = {"cache": _choice(file, item, "cache", item.get("cache", "none"), CACHES),
                "client": _choice(file, item, "client", item.get("client", "naive"), CLIENTS),
                "latency": _choice(file, item, "latency", item.get("latency", "typical"), tuple(profiles))}
        cell.update({k: v for k, v in settings.items() if k not in ("cache", "client", "latency")})
        cells.append(cell)
    if not cells:
        raise InputError("no scenarios: give a matrix or a scenarios list", file=file, line=1)
    overrides = data.get("overrides") or []
    if not isinstance(overrides, list):
        raise InputError("expected a list", file=file, line=_line(data, "overrides"), column="overrides")
    parsed_overrides = []
    for item in overrides:
        if not isinstance(item, dict) or not isinstance(item.get("match"), dict):
            raise InputError("an override needs a `match` mapping", file=file, line=_line(item), value=item)
        changes = _settings(file, item, allowed_extra=("match",))
        changes.pop("match")
        parsed_overrides.append((dict(item["match"]), changes))
    out: list[Scenario] = []
    seen: set[str] = set()
    for cell in cells:
        values: dict[str, Any] = {}
        _merge(values, defaults)
        _merge(values, cell)
        for match, changes in parsed_overrides:
            if all(values.get(k) == v for k, v in match.items()):
                _merge(values, changes)
        name = str(values.pop("name", None) or f"{values['cache']}-{values['client']}-{values['latency']}")
        if name in seen:
            raise InputError("duplicate scenario name", file=file, column="name", value=name,
                             expected="unique names (add `name:` to explicit scenarios)")
        seen.add(name)
        out.append(Scenario(name=name, latency_model=profiles[values["latency"]], **values))
    return out


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read and validate a scenario file; :class:`InputError` names file, line and field on bad input."""
    p = Path(path)
    if not p.is_file():
        raise InputError("scenario file not found", file=str(p), expected="a YAML file")
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"invalid YAML ({getattr(exc, 'problem', exc)})", file=str(p),
                         line=mark.line + 1 if mark else None) from None
    return parse_scenarios(data, str(p))


def with_overrides(
    scenarios: list[Scenario],
    *,
    requests: int | None = None,
    concurrency: int | None = None,
    rate: float | None = None,
) -> list[Scenario]:
    """Apply command-line overrides (``--requests``, ``--concurrency`` / ``--rate``) to every scenario."""
    out = []
    for s in scenarios:
        changes: dict[str, Any] = {}
        if requests is not None:
            changes["requests"] = requests
        if concurrency is not None:
            changes.update(concurrency=concurrency, rate=None)
        if rate is not None:
            changes.update(rate=rate, concurrency=None)
        out.append(replace(s, **changes))
    return out
