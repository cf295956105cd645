"""Relative paths that work from the project root and from ``notebooks/``.

JupyterLab starts a notebook's kernel in the notebook's folder (``notebooks/``), while ``hivepulse retro`` and
papermill runs start in the project root. Parameters such as ``path="data/sample"`` or ``output_dir="retro/"``
are written relative to the project root, so :func:`locate` resolves a relative path against the current
directory first and then against its parents.
"""

from __future__ import annotations

from pathlib import Path


def locate(path: str | Path, *, start: Path | None = None, levels: int = 2) -> Path:
    """``path`` if it is absolute or exists from the current directory; else the first of up to ``levels``
    parent directories of ``start`` (default: the current directory) under which it exists; else ``path``
    unchanged (a new output folder is created relative to the current directory)."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists() or not str(path).strip():
        return candidate
    base = (start or Path.cwd()).resolve()
    for parent in list(base.parents)[:levels]:
        if (parent / candidate).exists():
            return parent / candidate
    return candidate


def locate_output(path: str | Path, *, start: Path | None = None, levels: int = 2) -> Path:
    """Like :func:`locate` for a folder that may not exist yet: its first component (the workspace, e.g.
    ``profiling`` in ``profiling/results``) is located, the rest is appended."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists() or not candidate.parts:
        return candidate
    anchor = locate(candidate.parts[0], start=start, levels=levels)
    return anchor.joinpath(*candidate.parts[1:])
