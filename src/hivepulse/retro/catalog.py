"""The action-item catalog: practices that answer signals, as pydantic models (docs/action-items.md, "Catalog").

The catalog ships as package data (``hivepulse/data/actions.yaml``); a team's ``retro/actions.yaml``
overrides entries by id (the keys it gives replace the shipped ones), disables them (``disabled: true``) or
adds new ones. Both files are read with :func:`hivepulse.fsio.load_yaml`; an unknown key, a missing field
or a bad value is an :class:`~hivepulse.errors.InputError` (exit 2) naming the file, the line and the field
(``<id>.<field>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hivepulse.errors import InputError
from hivepulse.fsio import YamlDocument
from hivepulse.retro.configfile import read_document
from hivepulse.retro.facts import SIGNAL_KINDS, Signal, SignalKind

TargetRuleName = Literal["next_tier", "previous", "relative", "at_most", "at_least", "measurable", "threshold"]
TARGET_RULES: tuple[str, ...] = ("next_tier", "previous", "relative", "at_most", "at_least", "measurable",
                                 "threshold")
ENTRY_FIELDS = ("id", "title", "signal", "practice", "effort", "watch", "target")
OPTIONAL_FIELDS = ("owner",)
OWNER_CHARS = 80
SHIPPED = "hivepulse/data/actions.yaml"


class SignalMatch(BaseModel):
    """Which signal an entry answers: its kind, and the metric or stage when given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SignalKind
    metric: str | None = None
    stage: str | None = None


class TargetRule(BaseModel):
    """How an item's target is set (docs/action-items.md, "Target rules"): ``change`` for ``relative``,
    ``value`` for ``at_most`` / ``at_least``, ``fallback`` when ``next_tier`` or ``threshold`` has no value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: TargetRuleName
    change: float | None = None
    value: float | None = None
    fallback: TargetRule | None = None


class CatalogEntry(BaseModel):
    """One practice in the catalog. ``effort`` is in person-weeks (> 0); ``watch`` the measurement its
    follow-up reads (``finding``: the finding's own metric)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    signal: SignalMatch
    practice: str = Field(min_length=1)
    effort: float = Field(gt=0, allow_inf_nan=False)
    watch: str = Field(min_length=1)
    target: TargetRule
    owner: str = ""
    """Who takes items of this entry: a role or a team the team writes (``on-call pair``, ``platform team``),
    never a person (blameless): an e-mail address or an ``@login`` is refused; one line, at most 80 characters."""

    @field_validator("owner")
    @classmethod
    def _blameless_owner(cls, value: str) -> str:
        text = value.strip()
        if "\n" in text or len(text) > OWNER_CHARS or "@" in text:
            raise ValueError("not a role or team")
        return text

    def matches(self, signal: Signal) -> bool:
        """Whether this entry answers ``signal`` (same kind, and same metric / stage when given).

        A ``finding`` entry without a metric is a fallback: :func:`~hivepulse.retro.actions.propose` uses it
        only for finding metrics that no entry names explicitly."""
        want = self.signal
        if want.kind != signal.kind:
            return False
        if want.metric and want.metric != signal.metric:
            return False
        return not (want.stage and want.stage != signal.stage)


_EXPECTED = {
    "signal": "{kind: " + " | ".join(SIGNAL_KINDS) + ", metric?, stage?}",
    "target": "{rule: " + " | ".join(TARGET_RULES) + ", change?, value?, fallback?}",
    "effort": "> 0",
    "owner": "a role or a team, e.g. 'on-call pair' (blameless: no person's name, login or e-mail), one line of at "
             "most 80 characters",
}


class _Origin:
    """Where each key of a merged entry was written: the document and the entry's position in it."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[YamlDocument, int]] = {}

    def line(self, key: str | None) -> tuple[str | None, int | None]:
        if key is None or key not in self.keys:
            doc, index = next(iter(self.keys.values()))
            return doc.file, doc.line("actions", index)
        doc, index = self.keys[key]
        return doc.file, doc.line("actions", index, key)


def _entries(doc: YamlDocument) -> list[dict[str, object]]:
    data = doc.data
    if data is None:
        return []
    if not isinstance(data, Mapping) or not isinstance(data.get("actions", []), list):
        raise doc.error("bad catalog", "actions", expected="a mapping with a list 'actions'")
    unknown = [str(k) for k in data if k != "actions"]
    if unknown:
        raise doc.error("unknown key", unknown[0], expected="actions")
    out: list[dict[str, object]] = []
    for i, raw in enumerate(data.get("actions") or []):
        if not isinstance(raw, Mapping):
            raise InputError("bad entry", file=doc.file, line=doc.line("actions", i), column=f"actions[{i}]",
                             expected="a mapping with id, title, signal, practice, effort, watch, target")
        out.append({str(k): v for k, v in raw.items()})
    return out


_CHECK_ORDER = ("id", "signal", "effort", "target", "title", "practice", "watch")
"""The order fields are checked in: the first problem found is the one reported."""


def _validate(ident: str, raw: Mapping[str, Any], origin: _Origin) -> CatalogEntry:
    try:
        return CatalogEntry.model_validate(dict(raw))
    except ValidationError as exc:
        errors = {str(e["loc"][0]): e for e in reversed(exc.errors()) if e["loc"]}
    if "owner" in errors:
        where, line = origin.line("owner")
        raise InputError("bad owner", file=where, line=line, column=f"{ident}.owner", value=raw.get("owner"),
                         expected=_EXPECTED["owner"])
    for key in _CHECK_ORDER:
        if key not in raw or raw[key] in (None, ""):
            where, _ = origin.line(None)  # a missing field has no line of its own
            raise InputError("missing field", file=where, column=f"{raw.get('id', '?')}.{key}")
        if key in errors:
            where, line = origin.line(key)
            raise InputError(f"bad {key}", file=where, line=line, column=f"{ident}.{key}", value=raw.get(key),
                             expected=_EXPECTED.get(key, errors[key]["msg"].lower()))
    key = next(iter(errors))
    where, line = origin.line(key)
    raise InputError("unknown field", file=where, line=line, column=f"{ident}.{key}",
                     expected=", ".join(ENTRY_FIELDS + OPTIONAL_FIELDS) + " (or disabled)")


@lru_cache(maxsize=1)
def _shipped() -> YamlDocument:
    """The shipped catalog, parsed once per process with PyYAML's C safe loader (trusted package data, tested:
    it needs no size limits or line numbers, and the pure-Python loader with line tracking took a tenth of a
    second of every retro). A team's ``actions.yaml`` is read with :func:`hivepulse.fsio.load_yaml`."""
    text = resources.files("hivepulse").joinpath("data/actions.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=yaml.CSafeLoader) if hasattr(yaml, "CSafeLoader") else yaml.safe_load(text)
    return YamlDocument(data, SHIPPED, {})


def load_catalog(override: str | Path | None = None) -> list[CatalogEntry]:
    """The shipped catalog, with ``override`` (a team's ``retro/actions.yaml``) applied when it exists.

    Raises :class:`InputError` (exit 2) naming the file, the line and the entry field for a bad entry.
    """
    docs = [_shipped()]
    if override is not None and Path(override).is_file():
        docs.append(read_document(override, what="actions.yaml", expected="a YAML mapping"))
    merged: dict[str, dict[str, object]] = {}
    origins: dict[str, _Origin] = {}
    for doc in docs:
        for i, raw in enumerate(_entries(doc)):
            ident = raw.get("id")
            if not ident:
                raise InputError("missing field", file=doc.file, line=doc.line("actions", i), column="id")
            ident = str(ident)
            disabled = raw.pop("disabled", False)
            if disabled not in (True, False):
                raise InputError("bad disabled", file=doc.file, line=doc.line("actions", i, "disabled"),
                                 column=f"{ident}.disabled", value=disabled, expected="true or false")
            if disabled:
                merged.pop(ident, None)
                origins.pop(ident, None)
                continue
            merged[ident] = {**merged.get(ident, {}), **raw}
            origin = origins.setdefault(ident, _Origin())
            origin.keys.update({key: (doc, i) for key in raw})
    return [_validate(ident, raw, origins[ident]) for ident, raw in merged.items()]


__all__ = ["ENTRY_FIELDS", "OPTIONAL_FIELDS", "OWNER_CHARS", "TARGET_RULES", "CatalogEntry", "SignalMatch", "TargetRule", "load_catalog"]
