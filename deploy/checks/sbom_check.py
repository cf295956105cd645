"""Check a CycloneDX SBOM written by ``make sbom`` against the lock it describes.

``cyclonedx-py requirements`` runs with ``--no-validate``: its own validation checks every URL's IRI syntax
with a parser that takes about 0.1 s per URL (about 6 s for this lock). This check validates the same
strict CycloneDX JSON schema with the same registry, minus only that IRI syntax format check, and then
asserts the contents: the root component is hivepulse at pyproject's version, and every package pinned in
the lock is a component with its version, its PyPI purl and every one of its sha256 hashes, nothing else.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from findings import ROOT

SPEC_VERSION = "1.6"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_packages(lock: Path) -> dict[str, tuple[str, set[str]]]:
    """``{normalized name: (version, {sha256, ...})}`` of a hash-pinned requirements file."""
    out: dict[str, tuple[str, set[str]]] = {}
    for entry in lock.read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
        entry = entry.split("#", 1)[0].strip()
        if not entry:
            continue
        requirement, *rest = entry.split()
        name, _, version = requirement.partition("==")
        name = name.split("[", 1)[0].split(";", 1)[0]
        hashes = {h.split(":", 1)[1] for h in rest if h.startswith("--hash=sha256:")}
        out[_norm(name)] = (version.split(";", 1)[0], hashes)
    return out


def schema_errors(bom: dict[str, Any]) -> list[str]:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation import json as cdx_json
    from jsonschema import Draft7Validator, FormatChecker

    strict = cdx_json.JsonStrictValidator(SchemaVersion.from_version(SPEC_VERSION))
    try:  # the library's own schema file and registry (private names of the pinned cyclonedx-python-lib)
        schema_file = strict._schema_file
        registry = cdx_json._BaseJsonValidator._BaseJsonValidator__make_validator_registry()
    except AttributeError:  # a newer library: its full (slow) validation instead
        error = strict.validate_str(json.dumps(bom))
        return [str(error)] if error else []
    formats = [f for f in Draft7Validator.FORMAT_CHECKER.checkers if f not in {"iri-reference", "iri"}]
    checker = FormatChecker(formats=formats)
    schema = json.loads(Path(schema_file).read_text(encoding="utf-8"))
    validator = Draft7Validator(schema, registry=registry, format_checker=checker)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(document)'}: {e.message[:200]}"
            for e in validator.iter_errors(bom)]


def check(sbom: Path, lock: Path = ROOT / "requirements.lock",
          pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """Problems of the SBOM; empty when it is a valid CycloneDX document of exactly the locked packages."""
    try:
        bom = json.loads(sbom.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{sbom}: not a JSON document ({exc})"]
    problems = []
    if bom.get("bomFormat") != "CycloneDX" or bom.get("specVersion") != SPEC_VERSION:
        problems.append(f"not a CycloneDX {SPEC_VERSION} document: {bom.get('bomFormat')} {bom.get('specVersion')}")
    problems += schema_errors(bom)
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    root = (bom.get("metadata") or {}).get("component") or {}
    if (root.get("name"), root.get("version")) != (project["name"], project["version"]):
        problems.append(f"root component is {root.get('name')} {root.get('version')}, not "
                        f"{project['name']} {project['version']}")
    wanted = locked_packages(lock)
    seen: dict[str, dict[str, Any]] = {}
    for comp in bom.get("components") or []:
        seen[_norm(str(comp.get("name")))] = comp
    for name, (version, hashes) in sorted(wanted.items()):
        comp = seen.get(name)
        if comp is None:
            problems.append(f"{name} {version} is locked but not in the SBOM")
            continue
        if comp.get("version") != version:
            problems.append(f"{name}: SBOM version {comp.get('version')}, lock {version}")
        if str(comp.get("purl", "")).lower() != f"pkg:pypi/{name}@{version}".lower():
            problems.append(f"{name}: purl {comp.get('purl')!r}")
        listed = {h.get("content") for ref in comp.get("externalReferences") or [] for h in ref.get("hashes") or []
                  if h.get("alg") == "SHA-256"}
        if listed != hashes:
            problems.append(f"{name}: {len(hashes - listed)} locked hash(es) missing, {len(listed - hashes)} extra")
    for name in sorted(set(seen) - set(wanted)):
        problems.append(f"{name} is in the SBOM but not in the lock")
    return problems
