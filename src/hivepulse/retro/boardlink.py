"""Where an action item lives on the team's board: its GitHub issue, as ``hivepulse actions sync`` last read it.

Kept on the item in the ledger (``"board"``, optional: ledgers without it load as before) and shown by the
next retro's follow-up (*closed on GitHub (#12) on 2026-05-20*) and action table (*assigned on GitHub (#12)*).
Blameless: it holds **how many** people the issue is assigned to, never who (no login, name or e-mail).
Rules in ``docs/retro.md`` (Action items on the board).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hivepulse.metrics.results import JSONObject

_STATES = ("open", "closed")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}/[A-Za-z0-9_.-]{1,100}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_URL = re.compile(r"^https?://[^\s\"'<>]{1,500}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_REASONS = ("completed", "not_planned", "reopened", "duplicate")


@dataclass(frozen=True)
class BoardLink:
    """The GitHub issue of an action item: ``repository`` (``OWNER/REPO``), issue ``number``, its ``url``, its
    ``state`` (``open``/``closed``), ``closed_at`` (``2026-05-20T10:00:00Z``) and ``state_reason``
    (``completed``, ``not_planned``, ...) when closed, the number of ``assignees``, and ``content_sha256``: the
    hash of the title and body ``actions sync`` last wrote (a body edited on GitHub since is left alone until
    the evidence changes)."""

    repository: str
    number: int
    url: str
    state: str
    closed_at: str | None = None
    state_reason: str | None = None
    assignees: int = 0
    content_sha256: str = ""

    @property
    def closed(self) -> bool:
        return self.state == "closed"

    @property
    def ref(self) -> str:
        """``#12``."""
        return f"#{self.number}"

    @property
    def text(self) -> str:
        """The follow-up's words: ``closed on GitHub (#12) on 2026-05-20`` (``as not planned`` when so),
        ``open on GitHub (#12), assigned`` / ``, unassigned``."""
        if self.closed:
            when = f" on {self.closed_at[:10]}" if self.closed_at else ""
            how = " as not planned" if self.state_reason == "not_planned" else ""
            return f"closed on GitHub ({self.ref}){how}{when}"
        return f"open on GitHub ({self.ref}), {'assigned' if self.assignees else 'unassigned'}"

    @property
    def owner_text(self) -> str:
        """``assigned on GitHub (#12)`` when the issue has an assignee, else empty (never who)."""
        return f"assigned on GitHub ({self.ref})" if self.assignees else ""

    def to_dict(self) -> JSONObject:
        return {"repository": self.repository, "number": self.number, "url": self.url, "state": self.state,
                "closed_at": self.closed_at, "state_reason": self.state_reason, "assignees": self.assignees,
                "content_sha256": self.content_sha256}

    @classmethod
    def from_dict(cls, data: object) -> BoardLink | None:
        """The link in a ledger item's ``board`` value; None when absent or not a valid link (a hand-edited
        or foreign value is dropped rather than trusted: the next sync finds the issue by its marker)."""
        if not isinstance(data, Mapping):
            return None
        repo, number, url, state = data.get("repository"), data.get("number"), data.get("url"), data.get("state")
        if not (isinstance(repo, str) and _REPO.match(repo) and isinstance(number, int)
                and not isinstance(number, bool) and 0 < number < 1 << 31 and state in _STATES):
            return None
        closed_at, reason, assignees = data.get("closed_at"), data.get("state_reason"), data.get("assignees")
        digest = data.get("content_sha256")
        return cls(
            repository=repo,
            number=number,
            url=url if isinstance(url, str) and _URL.match(url) else "",
            state=str(state),
            closed_at=closed_at if isinstance(closed_at, str) and _DATE.match(closed_at) else None,
            state_reason=reason if reason in _REASONS else None,
            assignees=assignees if isinstance(assignees, int) and not isinstance(assignees, bool)
            and 0 <= assignees <= 100 else 0,
            content_sha256=digest if isinstance(digest, str) and _SHA.match(digest) else "",
        )


__all__ = ["BoardLink"]
