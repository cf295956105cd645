"""Run a parameterized notebook with papermill; export an executed notebook to HTML without code (nbconvert).

Used by ``hivepulse retro`` (and later ``hivepulse profile``). A failing cell raises
:class:`NotebookFailed` naming the cell (index, execution count and first source line) and the executed
notebook, which is kept for debugging; a :class:`hivepulse.errors.InputError` raised inside the notebook keeps
its exit status 2, a :class:`hivepulse.errors.NoDataError` its exit status 5.

papermill rewrites its output notebook after every cell (not atomically), so ``hivepulse retro`` points it at
a file in its private run folder and copies the result into the workspace atomically
(:func:`hivepulse.retro.workspace.keep_file`): a kept ``runs/*.ipynb`` is never truncated.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

from hivepulse.errors import InputError, NoDataError, ServiceError
from hivepulse.fsio import atomic_write_text

KERNEL = "python3"
"""Kernel used for runs (the ``python`` in a kernel spec is the interpreter running hivepulse)."""


class NotebookFailed(ServiceError):
    """A cell failed (exit 4). ``cell_index`` (0-based), ``output_path`` (the kept executed notebook)."""

    def __init__(self, message: str, *, cell_index: int | None, output_path: Path, ename: str = "") -> None:
        super().__init__(message)
        self.cell_index = cell_index
        self.output_path = output_path
        self.ename = ename


class NotebookInputError(InputError):
    """A notebook cell rejected its input (exit 2); carries the kept executed notebook's path."""

    def __init__(self, message: str, *, output_path: Path) -> None:
        super().__init__(message)
        self.output_path = output_path


class NotebookNoData(NoDataError):
    """A notebook cell found nothing to measure (exit 5); carries the kept executed notebook's path."""

    def __init__(self, message: str, *, output_path: Path) -> None:
        super().__init__(message)
        self.output_path = output_path


_UNUSED_GRAMMAR = "rfc3987_syntax"


def import_nbformat() -> ModuleType:
    """``nbformat`` (and the ``jsonschema`` it validates with), imported without the IRI grammar.

    ``jsonschema`` registers its ``iri`` / ``iri-reference`` format checks when ``rfc3987_syntax`` is installed
    (it is, for ``jupyter_events``), and importing that package builds a Lark parser: 1.9 s of every
    ``hivepulse retro``, two thirds of the parent process's start. No notebook schema uses a ``format``
    keyword, so validation is the same without it. The module is hidden only while ``jsonschema`` decides its
    format checks; a later ``import rfc3987_syntax`` anywhere in the process works as usual.
    """
    if "nbformat" in sys.modules or _UNUSED_GRAMMAR in sys.modules:
        return importlib.import_module("nbformat")
    sys.modules[_UNUSED_GRAMMAR] = None  # type: ignore[assignment]  # "import" of it raises ImportError
    try:
        return importlib.import_module("nbformat")
    finally:
        if sys.modules.get(_UNUSED_GRAMMAR, 0) is None:
            del sys.modules[_UNUSED_GRAMMAR]


def find_notebook(name: str) -> Path:
    """``notebooks/<name>`` of the source tree when present (the canonical copy), else the packaged copy
    ``hivepulse/notebooks/<name>`` shipped in the wheel."""
    here = Path(__file__).resolve()
    repo_copy = here.parents[3] / "notebooks" / name if len(here.parents) > 3 else None
    if repo_copy is not None and repo_copy.is_file() and (here.parents[3] / "pyproject.toml").is_file():
        return repo_copy
    packaged = Path(str(resources.files("hivepulse").joinpath("notebooks", name)))
    if packaged.is_file():
        return packaged
    raise ServiceError(f"notebook {name} not found in the source tree or the installed package")


def _first_line(source: str) -> str:
    for line in source.splitlines():
        text = line.strip()
        if text:
            return text if len(text) <= 70 else text[:67] + "..."
    return ""


def execute(
    notebook: str | Path,
    output: str | Path,
    parameters: Mapping[str, Any],
    *,
    cwd: str | Path | None = None,
    kernel_name: str = KERNEL,
    progress: bool = True,
    start_timeout: int = 120,
    env: Mapping[str, str] | None = None,
    kept_as: str | Path | None = None,
) -> Path:
    """Execute ``notebook`` with ``parameters`` into ``output`` (papermill); returns ``output``.

    On a failing cell raises :class:`NotebookFailed` (or :class:`NotebookInputError` when the cell raised a
    hivepulse ``InputError``, :class:`NotebookNoData` for a ``NoDataError``) naming the cell; ``output`` is
    kept with the error in it, and messages name ``kept_as`` (default ``output``: where the caller keeps it).
    ``env``: environment variables for the kernel (set while it starts).
    """
    import_nbformat()
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out = Path(output)
    shown = Path(kept_as) if kept_as is not None else out
    out.parent.mkdir(parents=True, exist_ok=True)
    variables = {"MPLBACKEND": "Agg", **(env or {})}
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        pm.execute_notebook(
            str(notebook),
            str(out),
            parameters=dict(parameters),
            cwd=str(cwd) if cwd is not None else None,
            kernel_name=kernel_name,
            progress_bar=progress,
            log_output=False,
            start_timeout=start_timeout,
        )
    except PapermillExecutionError as err:
        line = _first_line(err.source)
        where = f"cell {err.cell_index} (In [{err.exec_count}]: {line})"
        evalue = str(err.evalue).splitlines()[0] if err.evalue else ""
        if err.ename in ("InputError", "NotebookInputError"):
            raise NotebookInputError(f"{evalue} [{where}; executed notebook kept: {shown}]",
                                     output_path=out) from None
        if err.ename in ("NoDataError", "NotebookNoData"):
            raise NotebookNoData(f"{evalue} [{where}; executed notebook kept: {shown}]", output_path=out) from None
        raise NotebookFailed(
            f"{where} failed: {err.ename}: {evalue}; executed notebook kept: {shown}",
            cell_index=err.cell_index,
            output_path=out,
            ename=err.ename,
        ) from None
    except Exception as err:  # kernel died, could not start, ...
        raise NotebookFailed(
            f"notebook run failed: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}; "
            f"executed notebook (if any) kept: {shown}",
            cell_index=None,
            output_path=out,
            ename=type(err).__name__,
        ) from None
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return out


_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
"""nbconvert's lab template without the CDN scripts (require.js, MathJax, Mermaid): the report works offline."""


def export_html(executed: str | Path, html_path: str | Path) -> Path:
    """Export an executed notebook to HTML without code cells or prompts (nbconvert ``--no-input``), images
    embedded as data URIs, no external scripts; written atomically. Returns ``html_path``.

    Deterministic: the same executed content gives the same bytes (papermill's random id of the injected
    parameters cell is replaced by ``injected-parameters``)."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)  # type: ignore[no-untyped-call]
    for cell in nb.cells:  # papermill gives its injected cell a random id: make the report deterministic
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        extra_loaders=[jinja2.DictLoader({"hivepulse-offline.html.j2": _OFFLINE_TEMPLATE})],
        template_file="hivepulse-offline.html.j2",
    )
    body, _ = exporter.from_notebook_node(nb)
    atomic_write_text(html_path, body)
    return Path(html_path)
