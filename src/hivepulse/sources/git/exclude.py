"""Commits that are not changes of the team: bot identities, release tooling and a team's own patterns
(rules: ``docs/git-source.md``, "Bots and release tooling").

The rules are data, documented here and in the docs; the graph reader (:mod:`.graph`) applies them while it
parses ``git log`` and keeps, per commit, only the number of the rule that matched (0 = none). The author's
name and e-mail are read for this decision only: they are never stored, returned or written, and a note counts
matches per rule, never per identity. No numpy or pandas here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BOT_RULES: tuple[tuple[str, str], ...] = (
    ("GitHub Actions", r"^github-actions(?:\[bot\])? <|<(?:[0-9]+\+)?github-actions(?:\[bot\])?@|<action@github\.com>"),
    ("Dependabot", r"^dependabot(?:-preview)?(?:\[bot\])? <|@dependabot\.com>"),
    ("Renovate", r"^(?:(?:mend|whitesource) )?renovate(?: bot)?(?:\[bot\])? <|<bot@renovateapp\.com>"
                 r"|<renovate@(?:whitesourcesoftware\.com|mend\.io)>"),
    ("pre-commit.ci", r"^pre-commit-ci(?:\[bot\])? <|pre-commit-ci\[bot\]@"),
    ("[bot] account", r"\[bot\] <|\[bot\]@"),
    ("bot name", r"(?:^|[ _-])bot <"),
)  # fmt: skip
"""Bot identities, matched case-insensitively against ``Name <e-mail>`` of the commit's author, in this order
(the first match names the rule; a release-tool subject is named before any author rule): the CI identities of GitHub Actions, Dependabot, Renovate and pre-commit.ci;
any GitHub App account (name or e-mail local part ending in ``[bot]``: ``release-please[bot]``,
``renovate[bot]``, ...); a name whose last word is ``bot`` (``Renovate Bot``, ``gcf-owl-bot``)."""

RELEASE_TOOL_RULES: tuple[tuple[str, str], ...] = (
    ("release-please", r"chore(?:\([^)\n]{0,100}\))?!?: release\b"),
    ("changesets", r"Version Packages\b|RELEASING: Releasing [0-9]+ package"),
    ("semantic-release", r"chore\(release\): "),
)
"""Commits written by release tools, matched at the start of the subject (case-sensitive, as the tools write
them): release-please ``chore(main): release 1.2.3`` / ``chore: release 1.2.3``; changesets ``Version
Packages`` (and the CLI's ``RELEASING: Releasing 2 package(s)``); semantic-release ``chore(release): 1.2.3 [skip
ci]`` (also standard-version and lerna's ``chore(release): publish``)."""


@dataclass(frozen=True)
class ExclusionRules:
    """What the graph reader must decide per commit (compiled): author rules over ``Name <e-mail>`` and
    message rules (built-in subject rules as one bytes regex; the team's own as text regexes)."""

    names: tuple[str, ...]
    """Rule names; rule k (1-based) is ``names[k - 1]``."""
    author: tuple[tuple[int, re.Pattern[str]], ...]
    """(rule number, regex) over ``Name <e-mail>``, in order."""
    tools: re.Pattern[bytes] | None
    """One regex over the joined subject lines (each after ``\\n\\x01``); group ``t<k>`` = rule k."""
    messages: tuple[tuple[int, re.Pattern[str]], ...]
    """(rule number, regex) searched in the whole message (``^`` and ``$`` match at line ends)."""
    author_any: re.Pattern[str] | None = None
    """The built-in author rules as one alternation (group ``a<k>`` = rule k): one search per identity."""

    @property
    def needs_authors(self) -> bool:
        return bool(self.author)

    @property
    def active(self) -> bool:
        return bool(self.author or self.tools or self.messages)


NO_EXCLUSION = ExclusionRules((), (), None, (), None)


def compile_rules(include_bots: bool, exclude_authors: tuple[str, ...], exclude_messages: tuple[str, ...]
                  ) -> ExclusionRules:  # fmt: skip
    """The rules of the options; raises ``re.error`` (with the flag) for a bad team regex."""
    names: list[str] = []
    author: list[tuple[int, re.Pattern[str]]] = []
    tool_parts: list[str] = []
    messages: list[tuple[int, re.Pattern[str]]] = []
    author_any = None
    if not include_bots:
        bot_parts = []
        for name, pattern in BOT_RULES:
            names.append(name)
            author.append((len(names), re.compile(pattern, re.IGNORECASE)))
            bot_parts.append(f"(?P<a{len(names)}>{pattern})")
        author_any = re.compile("|".join(bot_parts), re.IGNORECASE)
        for name, pattern in RELEASE_TOOL_RULES:
            names.append(name)
            tool_parts.append(f"(?P<t{len(names)}>{pattern})")
    for k, text in enumerate(exclude_authors, 1):  # named by position: a pattern may hold a person's name
        names.append(f"--exclude-author #{k}")
        author.append((len(names), _compile(text, "--exclude-author")))
    for k, text in enumerate(exclude_messages, 1):
        names.append(f"--exclude-message #{k}")
        messages.append((len(names), _compile(text, "--exclude-message", re.MULTILINE)))
    tools = re.compile(rb"\n\x01(?:" + "|".join(tool_parts).encode() + rb")") if tool_parts else None
    return ExclusionRules(tuple(names), tuple(author), tools, tuple(messages), author_any)


class RuleError(ValueError):
    """A team regex that does not compile: ``flag`` and ``text`` name it."""

    def __init__(self, flag: str, text: str, reason: str) -> None:
        super().__init__(f"{flag}: invalid regular expression ({reason})")
        self.flag, self.text = flag, text


def _compile(text: str, flag: str, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(text, flags)
    except re.error as exc:
        raise RuleError(flag, text, str(exc)) from None


def author_rule(ident: str, rules: ExclusionRules) -> int:
    """The first author rule matching ``Name <e-mail>`` (0: none): built-in rules in their order (one search of
    their alternation decides whether any matches; the rules are then tried in order), then the team's."""
    start = 0
    if rules.author_any is not None:
        if rules.author_any.search(ident):
            for number, regex in rules.author[: len(BOT_RULES)]:
                if regex.search(ident):
                    return number
        start = len(BOT_RULES)
    for number, regex in rules.author[start:]:
        if regex.search(ident):
            return number
    return 0


def exclusion_note(counts: dict[str, int], *, bots_included: bool) -> str | None:
    """``N commit(s) excluded ...`` with the count per rule (never an identity, never a team pattern's text),
    None when none."""
    hits = {name: n for name, n in counts.items() if n}
    if not hits:
        return None
    total = sum(hits.values())
    shown = ", ".join(f"{name}: {n}" for name, n in hits.items())
    again = "" if bots_included else "; --include-bots counts bots and release tools again"
    return (f"{total} commit(s) excluded at ingest as bot, release-tool or excluded commits (not changes, no lead "
            f"time; still walked for the deployments' history): {shown}{again}.")  # fmt: skip
