"""Team notes for a retro: what went well and what to improve, with votes, from ``retro/notes/<iteration>.yaml``.

Format (every field but ``text`` optional)::

    went_well:
      - text: Deploys felt calm this time
        votes: 2
    to_improve:
      - text: Pull requests wait too long for a first review
        votes: 5
        metric: lead_time        # one of the five DORA metrics: links the note to actions on that metric

Notes are shown beside the data. The votes of *to improve* notes on a metric raise the score of the actions
on the same metric (``hivepulse.retro.rice.VOTE_WEIGHT``). Any other key of a note (an author, say) is not
read: its value never reaches an output (notes are blameless by construction), and the data-quality section
names the keys that were left out. The file is read into the pydantic model :class:`NotesFile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hivepulse.errors import InputError
from hivepulse.metrics.results import JSONObject
from hivepulse.retro.configfile import Loc, read_document
from hivepulse.vocabulary import METRICS

SECTIONS = ("went_well", "to_improve")
Section = Literal["went_well", "to_improve"]
MetricName = Literal["deployment_frequency", "lead_time", "change_fail_rate", "recovery_time", "rework_rate"]
assert get_args(MetricName) == METRICS  # the one list of metric names (hivepulse.vocabulary)


class NoteEntry(BaseModel):
    """One note of a notes file: ``text`` (required, not blank), ``votes`` (integer >= 0), ``metric`` (one
    of the five, optional). A bare string is a note with 0 votes. Other keys are kept aside, never read."""

    model_config = ConfigDict(extra="allow", frozen=True)

    text: str = Field(min_length=1)
    votes: int = Field(0, ge=0, strict=True)
    metric: MetricName | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_string(cls, data: Any) -> Any:
        return {"text": data} if isinstance(data, str) else data

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value).strip() if isinstance(value, str | int | float) and not isinstance(value, bool) else value


class NotesFile(BaseModel):
    """A notes file: the two sections, each a list of notes; any other top-level key is an error (a typo
    would silently drop the team's notes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    went_well: list[NoteEntry] = Field(default_factory=list)
    to_improve: list[NoteEntry] = Field(default_factory=list)

    @field_validator("went_well", "to_improve", mode="before")
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        return [] if value is None else value


@dataclass(frozen=True)
class Note:
    """One note: its section (``went_well`` / ``to_improve``), text, votes (>= 0) and optional metric."""

    section: str
    text: str
    votes: int = 0
    metric: str | None = None

    def to_dict(self) -> JSONObject:
        return {"section": self.section, "text": self.text, "votes": self.votes, "metric": self.metric}


@dataclass(frozen=True)
class Notes:
    """The notes of one retro, and the file they came from (empty when none). ``ignored`` names the keys of
    notes that were not read (an author, say)."""

    items: tuple[Note, ...] = ()
    path: str = ""
    ignored: tuple[str, ...] = field(default=())

    def section(self, name: str) -> list[Note]:
        """Notes of one section, most votes first."""
        return sorted((n for n in self.items if n.section == name), key=lambda n: (-n.votes, n.text))

    def votes_by_metric(self) -> dict[str, int]:
        """Summed votes of *to improve* notes per metric (notes without a metric are not counted)."""
        out: dict[str, int] = {}
        for note in self.items:
            if note.section == "to_improve" and note.metric:
                out[note.metric] = out.get(note.metric, 0) + note.votes
        return out

    def quality_notes(self) -> list[str]:
        """The data-quality sentence about keys of notes that were not read (empty when none)."""
        if not self.ignored:
            return []
        return [f"Team notes: key(s) {', '.join(self.ignored)} not read (a note has text, votes and metric; "
                "notes name no one)."]


def notes_path(notes_dir: str | Path, iteration_id: str) -> Path:
    """``<notes_dir>/<iteration_id>.yaml``."""
    return Path(notes_dir) / f"{iteration_id}.yaml"


def _column(loc: Loc) -> str:
    """``to_improve[0].votes`` for the loc ``("to_improve", 0, "votes")``."""
    if not loc:
        return ""
    out = str(loc[0])
    if len(loc) > 1:
        out += f"[{loc[1]}]"
    if len(loc) > 2:
        out += f".{loc[2]}"
    return out


def _describe(loc: Loc, kind: str) -> tuple[str, str | None]:
    if len(loc) == 1:
        if kind == "extra_forbidden":
            return "unknown section", " or ".join(SECTIONS)
        return "bad section", "a list of notes"
    if len(loc) >= 3 and loc[2] == "votes":
        return "bad votes", "an integer >= 0"
    if len(loc) >= 3 and loc[2] == "metric":
        return "unknown metric", " | ".join(METRICS)
    return "note without text", "text: ..."


def load_notes(path: str | Path | None) -> Notes:
    """Notes from ``path``; empty :class:`Notes` when ``path`` is empty or the file does not exist.

    Raises :class:`InputError` (exit 2) naming the file, the line, the entry and the field for bad content:
    invalid YAML, a top-level key other than ``went_well`` / ``to_improve``, a section that is not a list, a
    note without text, votes that are not an integer >= 0, an unknown metric.
    """
    if not path or not Path(path).is_file():
        return Notes()
    where = str(path)
    doc = read_document(path, what="notes file", expected="went_well / to_improve lists of notes")
    if doc.data is None:
        return Notes(path=where)
    if not isinstance(doc.data, dict):
        raise InputError("bad notes file", file=where, line=1, expected="a mapping with went_well / to_improve lists")
    try:
        parsed = NotesFile.model_validate({str(k): v for k, v in doc.data.items()})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: Loc = tuple(err["loc"])[:3]
        if len(loc) == 3 and loc[2] not in ("votes", "metric"):
            loc = loc[:2]  # no text, or a note that is no mapping: the error names the entry
        message, expected = _describe(loc, err["type"])
        value = err.get("input") if len(loc) != 2 and not isinstance(err.get("input"), dict | list) else None
        raise InputError(message, file=where, line=doc.line(*loc), column=_column(loc), value=value,
                         expected=expected) from None
    items: list[Note] = []
    ignored: set[str] = set()
    for section in SECTIONS:
        for entry in getattr(parsed, section):
            ignored.update(str(k) for k in entry.model_extra or {})
            items.append(Note(section, entry.text, entry.votes, entry.metric))
    return Notes(items=tuple(items), path=where, ignored=tuple(sorted(ignored)))


__all__ = ["SECTIONS", "Note", "NoteEntry", "Notes", "NotesFile", "load_notes", "notes_path"]
