"""Findings of every supply-chain scan and the one gate that lets a finding pass: a reviewed exception.

A finding is (tool, rule, where, message): ``where`` is a repository-relative file (bandit, detect-secrets,
hadolint, the Dockerfile policy) or a Kubernetes resource ``Kind/namespace/name`` (checkov, the manifest
policy). The reviewed exceptions are ``deploy/checks/exceptions.yaml``; each names its tool, rule, a glob on
``where``, optionally a text the flagged source line must contain, and why it is accepted. The full review
of each exception is in ``docs/supply-chain.md`` (a test keeps the two lists equal).
"""

from __future__ import annotations

import fnmatch
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXCEPTIONS = Path(__file__).resolve().parent / "exceptions.yaml"
TOOLS = ("bandit", "detect-secrets", "checkov", "hadolint", "kubernetes-validate", "policy")


@dataclass(frozen=True)
class Finding:
    tool: str
    rule: str
    where: str
    message: str
    line: int | None = None
    source_line: str = ""

    def __str__(self) -> str:
        loc = f"{self.where}:{self.line}" if self.line else self.where
        return f"{loc}: {self.tool} {self.rule}: {self.message}"


@dataclass(frozen=True)
class Exception_:
    id: str
    tool: str
    rule: str
    where: str
    reason: str
    match: str = ""

    def covers(self, finding: Finding) -> bool:
        return (finding.tool == self.tool and finding.rule == self.rule
                and fnmatch.fnmatchcase(finding.where, self.where)
                and (not self.match or self.match in finding.source_line))


@dataclass
class GateResult:
    failing: list[Finding] = field(default_factory=list)
    excepted: list[tuple[Finding, Exception_]] = field(default_factory=list)
    unused: list[Exception_] = field(default_factory=list)


def load_exceptions(path: Path = EXCEPTIONS) -> list[Exception_]:
    """The reviewed exceptions; a malformed entry raises ``ValueError`` naming it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ValueError(f"{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of exceptions")
    out: list[Exception_] = []
    seen: set[str] = set()
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: entry {i + 1} is not a mapping")
        missing = [k for k in ("id", "tool", "rule", "where", "reason") if not str(entry.get(k, "")).strip()]
        if missing:
            raise ValueError(f"{path}: entry {entry.get('id', i + 1)} lacks {', '.join(missing)}")
        unknown = set(entry) - {"id", "tool", "rule", "where", "reason", "match"}
        if unknown:
            raise ValueError(f"{path}: entry {entry['id']} has unknown keys {sorted(unknown)}")
        if entry["tool"] not in TOOLS:
            raise ValueError(f"{path}: entry {entry['id']}: unknown tool {entry['tool']!r}")
        if entry["id"] in seen:
            raise ValueError(f"{path}: duplicate id {entry['id']}")
        seen.add(entry["id"])
        out.append(Exception_(**{k: str(v).strip() for k, v in entry.items()}))
    return out


def gate(findings: Iterable[Finding], exceptions: Sequence[Exception_], tools: Iterable[str]) -> GateResult:
    """Split findings into failing and excepted; list the exceptions of ``tools`` that matched nothing."""
    result = GateResult()
    used: set[str] = set()
    for finding in findings:
        cover = next((e for e in exceptions if e.covers(finding)), None)
        if cover is None:
            result.failing.append(finding)
        else:
            result.excepted.append((finding, cover))
            used.add(cover.id)
    wanted = set(tools)
    result.unused = [e for e in exceptions if e.tool in wanted and e.id not in used]
    return result


def report(name: str, result: GateResult, started: float, *, out=None, baseline: int = 0) -> int:
    """Print the failing findings and one summary line; 0 when nothing fails, else 1."""
    out = out or sys.stdout
    for finding in result.failing:
        print(f"  FAIL {finding}", file=out)
    for exc in result.unused:
        print(f"  note: exception {exc.id} ({exc.tool} {exc.rule} {exc.where}) matched nothing: remove it "
              "from deploy/checks/exceptions.yaml and docs/supply-chain.md", file=out)
    status = "FAILED" if result.failing else "ok"
    held = f", {baseline} held by the reviewed baseline" if baseline else ""
    print(f"{name}: {status}: {len(result.failing)} finding(s), {len(result.excepted)} covered by reviewed "
          f"exceptions{held} ({time.perf_counter() - started:.1f} s)", file=out)
    return 1 if result.failing else 0


def relative(path: str | Path, root: Path = ROOT) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def source_line(path: Path, line: int | None) -> str:
    if not line:
        return ""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[line - 1] if 0 < line <= len(lines) else ""
