"""Scenario files (``profiling/scenarios.yaml``): a matrix cache x client x latency profile, plus overrides.

Schema (every key optional except ``matrix`` or ``scenarios``; units in the names)::

    defaults:            # applied to every scenario
      requests: 300      # recorded requests of the warm load run (1 .. 10,000,000)
      concurrency: 1     # closed model: clients (1 .. 10,000); or `rate: 50` (requests/s) for the open model
      cold_requests: 3   # single requests each after emptying the cache, labelled cold (0 .. 10,000)
      boxes: 3           # senseBoxes HiveBox averages over (1 .. 100,000)
      ttl_s: 60          # HiveBox cache TTL (seconds >= 0.001)
      single_flight: wait  # off | wait | stale (true = wait, false = off)
      seed: 7            # replay server seed (an integer >= 0)
      max_in_flight: 64  # open model only (1 .. 10,000)
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

The file is read with :func:`hivepulse.fsio.load_yaml_file` (size, depth and alias limits, line numbers) and
validated by the pydantic models below (``extra="forbid"``: an unknown key is an error, never dropped). A
scenario's ``name`` defaults to ``<cache>-<client>-<latency>``. Every error is an
:class:`hivepulse.errors.InputError` (exit 2) naming the file, the line and the field.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from hivepulse.errors import InputError
from hivepulse.fsio import YamlDocument, load_yaml_file

CACHES = ("none", "memory", "valkey", "memcached")
CLIENTS = ("naive", "pooled", "concurrent")
SINGLE_FLIGHT = ("off", "wait", "stale")
LATENCY_FIELDS = ("median_ms", "sigma", "cold_start_ms", "cold_after_s", "error_rate", "timeout_rate",
                  "timeout_s", "seed")
DEFAULT_PROFILES: dict[str, dict[str, float]] = {
    "fast": {"median_ms": 10.0, "sigma": 0.2},
    "typical": {"median_ms": 100.0, "sigma": 0.25},
}
MAX_REQUESTS = 10_000_000
MAX_CLIENTS = 10_000
MAX_BOXES = 100_000


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

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# -- field types: the exact rules, with messages that name what was expected --------------------------------
def _problem(expected: str, reason: str = "invalid setting") -> PydanticCustomError:
    return PydanticCustomError("hivepulse", "{reason}", {"reason": reason, "expected": expected})


def _integer(low: int, high: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) \
                or value != int(value):
            raise _problem("an integer")
        if not low <= value <= high:
            raise _problem(f"an integer from {low} to {high:,}")
        return int(value)

    return check


def _number(low: float, high: float, what: str) -> Callable[[object], float]:
    def check(value: object) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) \
                or not low <= value <= high:
            raise _problem(what)
        return float(value)

    return check


def _single_flight(value: object) -> str:
    if isinstance(value, bool):
        return "wait" if value else "off"
    if value not in SINGLE_FLIGHT:
        raise _problem("true, false, off, wait or stale")
    return str(value)


def _choice(allowed: tuple[str, ...], what: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in allowed:
            raise _problem(" | ".join(allowed), f"unknown {what}")
        return str(value)

    return check


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise _problem("a scenario name (1 to 128 characters)")
    return value


Requests = Annotated[int, BeforeValidator(_integer(1, MAX_REQUESTS))]
Clients = Annotated[int, BeforeValidator(_integer(1, MAX_CLIENTS))]
ColdCount = Annotated[int, BeforeValidator(_integer(0, MAX_CLIENTS))]
Boxes = Annotated[int, BeforeValidator(_integer(1, MAX_BOXES))]
Seed = Annotated[int, BeforeValidator(_integer(0, 2**63 - 1))]
Rate = Annotated[float, BeforeValidator(_number(0.01, 1_000_000.0, "requests per second from 0.01 to 1e6"))]
Ttl = Annotated[float, BeforeValidator(_number(0.001, 1e9, "a finite number of seconds >= 0.001"))]
SingleFlight = Annotated[str, BeforeValidator(_single_flight)]
Cache = Annotated[str, BeforeValidator(_choice(CACHES, "cache"))]
Client = Annotated[str, BeforeValidator(_choice(CLIENTS, "client"))]
NonNegative = Annotated[float, BeforeValidator(_number(0.0, 1e9, "a finite number >= 0"))]
Share = Annotated[float, BeforeValidator(_number(0.0, 1.0, "a probability in [0, 1]"))]
Name = Annotated[str, BeforeValidator(_name)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Settings(_Model):
    """The per-scenario settings (``defaults``, an override, an explicit scenario)."""

    requests: Requests | None = None
    concurrency: Clients | None = None
    rate: Rate | None = None
    cold_requests: ColdCount | None = None
    boxes: Boxes | None = None
    ttl_s: Ttl | None = None
    single_flight: SingleFlight | None = None
    seed: Seed | None = None
    max_in_flight: Clients | None = None

    def given(self) -> dict[str, object]:
        """The settings written in the file (``rate: null`` included: it switches back to the closed model)."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class ExplicitScenario(Settings):
    """An entry of ``scenarios``: settings plus the cell and an optional name."""

    cache: Cache = "none"
    client: Client = "naive"
    latency: str = "typical"
    name: Name | None = None


class Override(Settings):
    """An entry of ``overrides``: ``match`` (field values a scenario must have) and the settings it changes."""

    match: dict[str, object]


class LatencyProfile(_Model):
    """A replay-server latency model (:class:`hivepulse.sensemap.latency.LatencyModel` fields)."""

    median_ms: NonNegative | None = None
    sigma: NonNegative | None = None
    cold_start_ms: NonNegative | None = None
    cold_after_s: NonNegative | None = None
    error_rate: Share | None = None
    timeout_rate: Share | None = None
    timeout_s: NonNegative | None = None
    seed: NonNegative | None = None


class Matrix(_Model):
    cache: list[Cache] = ["none"]
    client: list[Client] = ["naive"]
    latency: list[str] = ["typical"]


class ScenarioFile(_Model):
    """The whole file. An empty section (``defaults:`` with nothing under it) is the same as leaving it out."""

    defaults: Settings = Settings()
    latency_profiles: dict[str, LatencyProfile] = {}
    matrix: Matrix | None = None
    overrides: list[Override] = []
    scenarios: list[ExplicitScenario] = []

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: object) -> object:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (v is None and k != "matrix")}
        return data


_ALLOWED: dict[type[BaseModel], tuple[str, str]] = {
    ScenarioFile: ("unknown key", ", ".join(ScenarioFile.model_fields)),
    Settings: ("unknown setting", ", ".join(Settings.model_fields)),
    ExplicitScenario: ("unknown setting", ", ".join(ExplicitScenario.model_fields)),
    Override: ("unknown setting", ", ".join(Override.model_fields)),
    LatencyProfile: ("unknown latency setting", ", ".join(LATENCY_FIELDS)),
    Matrix: ("unknown matrix axis", "cache, client, latency"),
}
_CONTAINER_MESSAGES = {
    "dict_type": ("expected a mapping", "key: value pairs"),
    "model_type": ("expected a mapping", "key: value pairs"),
    "model_attributes_type": ("expected a mapping", "key: value pairs"),
    "list_type": ("expected a list", "a YAML list"),
    "missing": ("missing setting", None),
}


def _owner(loc: Sequence[str | int]) -> type[BaseModel]:
    """The model that owns the last key of ``loc`` (for the list of allowed keys)."""
    if not loc:
        return ScenarioFile
    top = loc[0]
    if len(loc) == 1:
        return ScenarioFile
    if top == "defaults":
        return Settings
    if top == "latency_profiles":
        return LatencyProfile
    if top == "matrix":
        return Matrix
    if top == "overrides":
        return Override
    return ExplicitScenario


def _to_input_error(exc: ValidationError, doc: YamlDocument) -> InputError:
    """The first pydantic error as one :class:`InputError` naming file, line and field."""
    first = exc.errors(include_url=False)[0]
    loc = tuple(first["loc"])
    kind = first["type"]
    leaf = next((str(p) for p in reversed(loc) if isinstance(p, str)), None)
    line = doc.line(*loc)
    value = first.get("input")
    if kind == "hivepulse":
        ctx = first.get("ctx") or {}
        reason = str(ctx.get("reason", "invalid setting"))
        if reason == "invalid setting" and loc and loc[0] == "latency_profiles":
            reason = "invalid latency setting"
        return InputError(reason, file=doc.file, line=line, column=leaf, value=value, expected=ctx.get("expected"))
    if kind == "extra_forbidden":
        reason, allowed = _ALLOWED[_owner(loc)]
        return InputError(reason, file=doc.file, line=line, column=leaf, expected=allowed)
    reason, expected = _CONTAINER_MESSAGES.get(kind, (first["msg"], None))
    if kind == "missing" and leaf == "match":
        reason, expected = "an override needs a `match` mapping", "match: {field: value, ...}"
    return InputError(reason, file=doc.file, line=line, column=leaf,
                      value=None if kind == "missing" else value, expected=expected)


def _error(doc: YamlDocument, reason: str, *path: str | int, value: object = None,
           expected: str | None = None) -> InputError:
    """An :class:`InputError` at the line of ``path``; the field is the last key of the path."""
    leaf = next((str(p) for p in reversed(path) if isinstance(p, str)), None)
    return InputError(reason, file=doc.file, line=doc.line(*path), column=leaf, value=value, expected=expected)


def _merge(values: dict[str, Any], layer: Mapping[str, object]) -> None:
    """Update ``values`` with ``layer``; a layer setting ``rate`` clears ``concurrency`` and vice versa. A
    scenario always has exactly one load model: when a layer clears both (``rate: null``), it is the closed
    model with one client."""
    values.update(layer)
    if layer.get("rate") is not None:
        values["concurrency"] = None
    elif layer.get("concurrency") is not None:
        values["rate"] = None
    if values.get("concurrency", 1) is None and values.get("rate") is None:
        values["concurrency"] = 1


def _check_one_model(doc: YamlDocument, settings: Settings, *path: str | int) -> None:
    if settings.concurrency is not None and settings.rate is not None:
        raise _error(doc, "give concurrency or rate, not both", *path, "rate")


def _profile_model(name: str, profile: LatencyProfile, doc: YamlDocument) -> dict[str, float]:
    """The profile's given fields, checked by the replay server's own rules (so ``PUT /_config`` accepts it)."""
    from hivepulse.sensemap.latency import LatencyModel

    values = {k: float(v) for k, v in profile.model_dump(exclude_none=True).items()}
    try:
        LatencyModel().updated(values)
    except InputError as err:
        raise _error(doc, "invalid latency setting", "latency_profiles", name, str(err.column or ""),
                        value=err.value, expected=err.expected) from None
    return values


def parse_scenarios(data: YamlDocument | object, file: str = "<scenarios>") -> list[Scenario]:
    """Build the scenario list from a parsed YAML document (or plain parsed ``data``); see the module docstring."""
    doc = data if isinstance(data, YamlDocument) else YamlDocument(data, file, {})
    if doc.file is None:
        doc = YamlDocument(doc.data, file, doc.lines)
    if not isinstance(doc.data, dict):
        raise InputError("expected a mapping at the top level", file=doc.file, line=1,
                         expected=", ".join(ScenarioFile.model_fields))
    try:
        spec = ScenarioFile.model_validate(doc.data)
    except ValidationError as exc:
        raise _to_input_error(exc, doc) from None
    _check_one_model(doc, spec.defaults, "defaults")
    profiles = dict(DEFAULT_PROFILES)
    for name, profile in spec.latency_profiles.items():
        profiles[str(name)] = _profile_model(str(name), profile, doc)
    cells: list[dict[str, object]] = []
    if spec.matrix is not None:
        for i, latency in enumerate(spec.matrix.latency):
            if latency not in profiles:
                raise _error(doc, "unknown latency", "matrix", "latency", i, value=latency,
                                expected=" | ".join(profiles))
        for axis in ("cache", "client", "latency"):
            if not getattr(spec.matrix, axis):
                raise _error(doc, "expected a non-empty list", "matrix", axis, value=[])
        for cache, client, latency in itertools.product(spec.matrix.cache, spec.matrix.client, spec.matrix.latency):
            cells.append({"cache": cache, "client": client, "latency": latency})
    for i, item in enumerate(spec.scenarios):
        _check_one_model(doc, item, "scenarios", i)
        if item.latency not in profiles:
            raise _error(doc, "unknown latency", "scenarios", i, "latency", value=item.latency,
                            expected=" | ".join(profiles))
        cell: dict[str, object] = {"cache": item.cache, "client": item.client, "latency": item.latency}
        cell.update(item.given())
        cells.append(cell)
    if not cells:
        raise InputError("no scenarios: give a matrix or a scenarios list", file=doc.file, line=1)
    matchable = set(Scenario.__dataclass_fields__) - {"latency_model"}
    overrides: list[tuple[dict[str, object], dict[str, object]]] = []
    for i, override in enumerate(spec.overrides):
        _check_one_model(doc, override, "overrides", i)
        for key in override.match:
            if key not in matchable:
                raise _error(doc, "unknown field in match", "overrides", i, "match", str(key),
                                expected=", ".join(sorted(matchable)))
        changes = override.given()
        changes.pop("match")
        overrides.append((dict(override.match), changes))
    out: list[Scenario] = []
    seen: set[str] = set()
    for cell in cells:
        values: dict[str, Any] = {}  # settings validated above, merged layer by layer (the YAML edge)
        _merge(values, spec.defaults.given())
        _merge(values, cell)
        for match, changes in overrides:
            if all(values.get(k) == v for k, v in match.items()):
                _merge(values, changes)
        name = str(values.pop("name", None) or f"{values['cache']}-{values['client']}-{values['latency']}")
        if name in seen:
            raise InputError("duplicate scenario name", file=doc.file, column="name", value=name,
                             expected="unique names (add `name:` to explicit scenarios)")
        seen.add(name)
        out.append(Scenario(name=name, latency_model=profiles[str(values["latency"])], **values))
    return out


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read and validate a scenario file; :class:`InputError` names file, line and field on bad input."""
    p = Path(path)
    if not p.is_file():
        raise InputError("scenario file not found", file=str(p), expected="a YAML file")
    return parse_scenarios(load_yaml_file(p, what="scenario file"), str(p))


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
        if requests is not None:
            s = replace(s, requests=requests)
        if concurrency is not None:
            s = replace(s, concurrency=concurrency, rate=None)
        if rate is not None:
            s = replace(s, rate=rate, concurrency=None)
        out.append(s)
    return out


__all__ = ["CACHES", "CLIENTS", "DEFAULT_PROFILES", "LATENCY_FIELDS", "SINGLE_FLIGHT", "Scenario",
           "ScenarioFile", "load_scenarios", "parse_scenarios", "with_overrides"]
