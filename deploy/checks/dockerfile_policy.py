"""hivepulse's Dockerfile policy, on the parsed Dockerfile and .dockerignore (hadolint and checkov lint the
generic rules; these are the image contract of docs/deploy.md). Rule ids (docs/supply-chain.md):

- DF-STAGES    multi-stage: at least two FROM, the final stage copies its payload from an earlier stage
- DF-BASE      every FROM is pinned: a full version tag X.Y.Z (never latest) or a digest; all stages share it
- DF-LOCK      the dependencies come from requirements.lock with --require-hashes (wheels only, --no-deps);
               every pip install verifies hashes or installs a local wheel with --no-index
- DF-USER      the final stage runs as a numeric non-root UID:GID
- DF-FINAL     the final stage installs nothing: no pip, no apt-get/apk install, no compiler or build tool
- DF-SECRET    no secret in the image: no ARG/ENV named like a credential, no COPY/ADD of .env, keys or .git,
               no ADD at all (COPY is explicit), no build secret mounted in the final stage
- DF-RUN       ENTRYPOINT ["hivepulse"] (exec form), WORKDIR /workspace and VOLUME /workspace in the final stage
- DF-CONTEXT   .dockerignore keeps .git, venvs, the store, caches, records, tests and secrets out of the build
               context, and lets every COPY source in
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from findings import Finding
from k8s_policy import CREDENTIAL_NAME

FULL_VERSION_TAG = re.compile(r":[^:@/]*\d+\.\d+\.\d+[^:@/]*$")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|clang|make|build-essential|cmake|cargo|rustc|python3?-dev|libc6?-dev|"
                         r"git|curl|wget)\b")
SECRET_FILES = re.compile(r"(^|/)(\.env(\..*)?|\.git|\.netrc|id_rsa.*|.*\.pem|.*\.key|\.secrets\.baseline)$")
MUST_STAY_OUT = (".git/HEAD", ".venv/bin/python", ".tools-venv/bin/checkov", "data/store/hivepulse.db",
                 ".pytest_cache/v", ".ruff_cache/x", ".mypy_cache/x", ".hypothesis/x", "tests/test_x.py",
                 "retro/2026-05-11_2026-05-25/metrics.json", "retro/ledger.json", "profiling/results/x.json",
                 ".env", "deploy/secrets/token", "id_rsa", "build/sbom.cdx.json", "src/hivepulse/__pycache__/x.pyc",
                 "notebooks/.ipynb_checkpoints/x.ipynb", ".coord/BRIEF.md")


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str

    def exec_form(self) -> list[str] | None:
        try:
            value = json.loads(self.args)
        except ValueError:
            return None
        return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def parse(text: str) -> list[Instruction]:
    """Instructions with the line they start on; continuation lines (``\\``) joined, comments dropped."""
    out: list[Instruction] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue
        if not buf:
            start = number
        if stripped.endswith("\\"):
            buf.append(stripped[:-1].strip())
            continue
        buf.append(stripped)
        joined = " ".join(p for p in buf if p)
        buf = []
        keyword, _, args = joined.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    if buf:
        joined = " ".join(buf)
        keyword, _, args = joined.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    return out


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    out: list[list[Instruction]] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            out.append([ins])
        elif out:
            out[-1].append(ins)
    return out


def _from_image(ins: Instruction) -> tuple[str, str | None]:
    parts = [p for p in ins.args.split() if not p.startswith("--")]
    image = parts[0] if parts else ""
    alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
    return image, alias


# ------------------------------------------------------------------------------------------- .dockerignore


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(ch, re.escape(ch))
        i += 1
    return re.compile(out + "(?:/.*)?$")  # a matched directory excludes everything under it


def dockerignore_patterns(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """``(is_exception, regex)`` per line, in order (Docker's rule: the last matching line decides)."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        pattern = re.sub(r"/+$", "", pattern.lstrip("/")) or "."
        out.append((negate, _pattern_regex(pattern)))
    return out


def in_context(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether ``path`` (repository-relative, posix) is sent to the builder."""
    included = True
    for negate, regex in patterns:
        if regex.match(path):
            included = negate
    return included


# ----------------------------------------------------------------------------------------------- the checks


def check(dockerfile: Path, dockerignore: Path | None = None, *, root: Path | None = None) -> list[Finding]:
    root = root or dockerfile.parent
    where = dockerfile.name if dockerfile.parent == root else str(dockerfile)
    text = dockerfile.read_text(encoding="utf-8")
    ins = parse(text)
    st = stages(ins)
    out: list[Finding] = []

    def f(rule: str, message: str, line: int | None = None) -> None:
        out.append(Finding(tool="policy", rule=rule, where=where, message=message, line=line))

    if len(st) < 2:
        f("DF-STAGES", "not multi-stage: build in one stage, copy only the result into the final one")
    if not st:
        return out
    aliases = []
    bases = set()
    for stage in st:
        image, alias = _from_image(stage[0])
        aliases.append(alias)
        if image in aliases[:-1]:
            continue
        bases.add(image)
        if not (DIGEST.search(image) or FULL_VERSION_TAG.search(image)) or image.endswith(":latest"):
            f("DF-BASE", f"base image {image!r} is not pinned to a full version tag (X.Y.Z) or a digest",
              stage[0].line)
    if len(bases) > 1:
        f("DF-BASE", f"stages use different base images {sorted(bases)}: the venv links to the base's python")

    final = st[-1]
    earlier = {a for a in aliases[:-1] if a}
    if len(st) >= 2 and not any(i.keyword == "COPY" and re.search(r"--from=(\S+)", i.args)
                                and re.search(r"--from=(\S+)", i.args).group(1) in earlier for i in final):
        f("DF-STAGES", "the final stage copies nothing from an earlier stage")

    # DF-LOCK
    pip_runs = [i for i in ins if i.keyword == "RUN" and re.search(r"\bpip3?\b[^&;|]*\binstall\b", i.args)]
    lock_ok = False
    for run in pip_runs:
        for cmd in re.split(r"&&|;|\|\|", run.args):
            if not re.search(r"\bpip3?\b.*\binstall\b", cmd) or re.search(r"\bpip3?\b.*\buninstall\b", cmd):
                continue
            words = shlex.split(cmd)
            if "--require-hashes" in words:
                if "-r" in words and words[words.index("-r") + 1].endswith("requirements.lock") \
                        and "--no-deps" in words and "--only-binary=:all:" in words:
                    lock_ok = True
            elif not ("--no-index" in words and "--no-deps" in words):
                f("DF-LOCK", f"pip install without --require-hashes: {cmd.strip()[:120]}", run.line)
    if not lock_ok:
        f("DF-LOCK", "no `pip install --require-hashes --only-binary=:all: --no-deps -r requirements.lock`")

    # DF-USER, DF-FINAL, DF-RUN
    users = [i for i in final if i.keyword == "USER"]
    if not users:
        f("DF-USER", "the final stage has no USER: it would run as root")
    else:
        user = users[-1].args
        m = re.fullmatch(r"(\d+)(?::(\d+))?", user)
        if not m or int(m.group(1)) == 0 or (m.group(2) is not None and int(m.group(2)) == 0):
            f("DF-USER", f"USER {user!r} is not a numeric non-root UID:GID", users[-1].line)
    for i in final:
        if i.keyword == "RUN":
            if any(re.search(r"\bpip3?\b.*\binstall\b", c) for c in re.split(r"&&|;|\|\|", i.args)):
                f("DF-FINAL", "pip install in the final stage: install in the build stage", i.line)
            if re.search(r"\b(apt-get|apt|apk|yum|dnf|microdnf)\b[^&;|]*\b(install|add)\b", i.args):
                f("DF-FINAL", "a package install in the final stage", i.line)
            if BUILD_TOOLS.search(re.sub(r"--[a-z-]+=?\S*", "", i.args)) and re.search(r"install|add", i.args):
                f("DF-FINAL", "a build tool in the final stage", i.line)
            if "--mount=type=secret" in i.args:
                f("DF-SECRET", "a build secret mounted in the final stage", i.line)
    entry = [i for i in final if i.keyword == "ENTRYPOINT"]
    if not entry or entry[-1].exec_form() != ["hivepulse"]:
        f("DF-RUN", 'the final stage\'s ENTRYPOINT is not ["hivepulse"] (exec form)', entry[-1].line if entry else None)
    workdirs = [i for i in final if i.keyword == "WORKDIR"]
    if not workdirs or workdirs[-1].args != "/workspace":
        f("DF-RUN", "the final stage's WORKDIR is not /workspace")
    volumes = [i for i in final if i.keyword == "VOLUME"]
    if not any("/workspace" in (v.exec_form() or v.args.split()) for v in volumes):
        f("DF-RUN", "no VOLUME /workspace in the final stage")

    # DF-SECRET
    for i in ins:
        if i.keyword in ("ARG", "ENV"):
            for name in re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)", i.args):
                if CREDENTIAL_NAME.search(name):
                    f("DF-SECRET", f"{i.keyword} {name}: a credential-named build argument or variable "
                                   "ends up in the image's history", i.line)
        if i.keyword == "ADD":
            f("DF-SECRET", "ADD fetches or unpacks implicitly: use COPY", i.line)
        if i.keyword == "COPY":
            words = [w for w in i.args.split() if not w.startswith("--")]
            for src in words[:-1]:
                if SECRET_FILES.search(src.rstrip("/")):
                    f("DF-SECRET", f"COPY of {src}: secrets or the repository's history into the image", i.line)

    # DF-CONTEXT
    if dockerignore is None or not dockerignore.is_file():
        f("DF-CONTEXT", "no .dockerignore: the whole repository (.git, venvs, store) is the build context")
        return out
    patterns = dockerignore_patterns(dockerignore.read_text(encoding="utf-8"))
    for path in MUST_STAY_OUT:
        if in_context(path, patterns):
            out.append(Finding(tool="policy", rule="DF-CONTEXT", where=dockerignore.name,
                               message=f"{path} would be sent to the builder"))
    for i in ins:
        if i.keyword == "COPY" and "--from=" not in i.args:
            words = [w for w in i.args.split() if not w.startswith("--")]
            for src in words[:-1]:
                if not (root / src).exists():
                    f("DF-CONTEXT", f"COPY source {src} does not exist", i.line)
                elif not in_context(src.rstrip("/"), patterns):
                    f("DF-CONTEXT", f"COPY source {src} is excluded by .dockerignore", i.line)
    return out
