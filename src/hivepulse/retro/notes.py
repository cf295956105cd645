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
on the same metric (``hivepulse.retro.actions.VOTE_WEIGHT``). Any other key (an author, say) is ignored and
never reaches an output: notes are blameless by construction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hivepulse.errors import InputError
from hivepulse.retro.signals import METRICS

SECTIONS = ("went_well", "to_improve")


@dataclass(frozen=True)
class Note:
    """One note: its section (``went_well`` / ``to_improve``), text, votes (>= 0) and optional metric."""

    section: str
    text: str
    votes: int = 0
    metric: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Notes:
    """The notes of one retro, and the file they came from (empty when none)."""

    items: tuple[Note, ...] = ()
    path: str = ""
    problems: list[str] = field(default_factory=list)

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


def notes_path(notes_dir: str | Path, iteration_id: str) -> Path:
    """``<notes_dir>/<iteration_id>.yaml``."""
    return Path(notes_dir) / f"{iteration_id}.yaml"


def _node_lines(text: str) -> dict[tuple, int]:
    """1-based line of each section, entry and entry field of a notes file: keys ``(section,)``,
    ``(section, i)`` and ``(section, i, field)``. Empty when the text does not compose."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    lines: dict[tuple, int] = {}
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key_node, value_node in root.value:
        section = str(key_node.value)
        lines[(section,)] = key_node.start_mark.line + 1
        if isinstance(value_node, yaml.SequenceNode):
            for i, entry in enumerate(value_node.value):
                lines[(section, i)] = entry.start_mark.line + 1
                if isinstance(entry, yaml.MappingNode):
                    for k, v in entry.value:
                        lines[(section, i, str(k.value))] = v.start_mark.line + 1
    return lines


def load_notes(path: str | Path | None) -> Notes:
    """Notes from ``path``; empty :class:`Notes` when ``path`` is empty or the file does not exist.

    Raises :class:`InputError` (exit 2) naming the file, the line, the entry and the field for bad content:
    invalid YAML, a top-level key other than ``went_well`` / ``to_improve`` (a typo would silently drop the
    team's notes), a section that is not a list, a note without text, votes that are not an integer >= 0, an
    unknown metric.
    """
    if not path or not Path(path).is_file():
        return Notes()
    where = str(path)
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError("not valid YAML", file=where, line=mark.line + 1 if mark else None,
                         expected="went_well / to_improve lists of notes") from None
    if data is None:
        return Notes(path=where)
    if not isinstance(data, dict):
        raise InputError("bad notes file", file=where, line=1,
                         expected="a mapping with went_well / to_improve lists")
    lines = _node_lines(text)
    for key in data:
        if str(key) not in SECTIONS:
            raise InputError("unknown section", file=where, line=lines.get((str(key),)), column=str(key),
                             expected=" or ".join(SECTIONS))
    items: list[Note] = []
    for section in SECTIONS:
        entries = data.get(section) or []
        if not isinstance(entries, list):
            raise InputError("bad section", file=where, line=lines.get((section,)), column=section,
                             expected="a list of notes")
        for i, raw in enumerate(entries):
            field_name = f"{section}[{i}]"
            if isinstance(raw, str):
                raw = {"text": raw}
            if not isinstance(raw, dict) or not str(raw.get("text") or "").strip():
                raise InputError("note without text", file=where, line=lines.get((section, i)),
                                 column=field_name, expected="text: ...")
            votes = raw.get("votes", 0)
            if isinstance(votes, bool) or not isinstance(votes, int) or votes < 0:
                raise InputError(
                    "bad votes", file=where, line=lines.get((section, i, "votes")), column=f"{field_name}.votes",
                    value=votes, expected="an integer >= 0",
                )
            metric = raw.get("metric")
            if metric is not None and metric not in METRICS:
                raise InputError(
                    "unknown metric",
                    file=where,
                    line=lines.get((section, i, "metric")),
                    column=f"{field_name}.metric",
                    value=metric,
                    expected=" | ".join(METRICS),
                )
            items.append(Note(section, str(raw["text"]).strip(), votes, metric))
    return Notes(items=tuple(items), path=where)
