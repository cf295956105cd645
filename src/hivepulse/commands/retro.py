"""``hivepulse retro``: run the retro notebook with papermill; its last cell writes the records, the ledger
and the HTML report.

Parameters come from the notebook's defaults, then ``-f params.yaml``, then flags named after them
(``--source``, ``--path``, ``--since``, ``--until``, ``--output-dir``, ...; later wins). The window is resolved
here exactly as the notebook would (``hivepulse.retro.record.resolve_window``) and passed explicitly, so the
command knows the iteration id. Output: ``<output_dir>/<iteration>/`` with the records, ``retro.html``
(rendered by the library from the retro's typed result, the same from papermill and JupyterLab) and
``retro.ipynb`` (the executed notebook). On a failing cell the executed notebook is kept under
``<output_dir>/runs/`` and the command exits non-zero naming the cell. The command backs up the iteration's
record directory and the ledger before the run and restores them when the run fails or writes no report, so
records and report never disagree. See ``docs/retro.md``.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hivepulse.errors import InputError, ServiceError
from hivepulse.fsio import atomic_write_bytes
from hivepulse.retro.params import INT_PARAMETERS, RetroParams, Values, parameter_lines, read_parameters_file
from hivepulse.retro.record import iteration_id, resolve_window

PARAMETERS: dict[str, type] = {name: int if name in INT_PARAMETERS else str for name in RetroParams.model_fields}
"""The notebook's parameters (the contract of docs/retro.md, :class:`~hivepulse.retro.params.RetroParams`)
and their types."""
REPORT = "retro.html"

HELP = {
    "source": "events (event files) or git (a local clone)",
    "path": "events directory or git clone",
    "since": "first day of the iteration, YYYY-MM-DD (UTC)",
    "until": "end of the iteration, exclusive, YYYY-MM-DD (UTC)",
    "iteration_days": "iteration length when --since or --until is missing (ending today, UTC)",
    "previous_iterations": "earlier iterations shown in the trends",
    "environment": "environment measured",
    "tz": "IANA time zone for day and week boundaries",
    "tier_edition": "DORA tier table (2023 or 2024)",
    "notes": "team notes file or directory (default <output-dir>/notes/<iteration>.yaml)",
    "output_dir": "workspace for records, ledger.json, actions.yaml, notes/",
    "max_actions": "at most this many action items",
    "findings": "profiling results directory (the newest run recorded in the iteration counts) or one run "
                "directory (always used); empty: none",
}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "retro",
        help="run the retro notebook and write the records and an HTML report",
        description="Run notebooks/retro.ipynb with papermill, write the retro records and the ledger, and "
        "export an HTML report without code next to them. Parameters: docs/retro.md.",
    )
    parser.add_argument("-f", "--parameters-file", metavar="YAML", help="parameters file (YAML mapping)")
    for name, kind in PARAMETERS.items():
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, dest=name, type=kind, default=None, help=HELP[name])
    parser.add_argument("--notebook", help="notebook to run (default: the retro notebook of hivepulse)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def notebook_defaults(notebook: Path) -> Values:
    """The values of the notebook's ``parameters`` cell (literal assignments only)."""
    import nbformat

    try:
        nb = nbformat.read(str(notebook), as_version=4)  # type: ignore[no-untyped-call]
    except (ValueError, UnicodeDecodeError, nbformat.reader.NotJSONError) as exc:
        raise InputError("not a Jupyter notebook", file=str(notebook),
                         expected=f"an .ipynb file ({type(exc).__name__})") from None
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            out: Values = {}
            for node in ast.parse(cell.source).body:
                target = node.target if isinstance(node, ast.AnnAssign) else (
                    node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
                )
                value = node.value if isinstance(node, ast.AnnAssign | ast.Assign) else None
                if isinstance(target, ast.Name) and value is not None:
                    out[target.id] = ast.literal_eval(value)
            return out
    raise InputError("notebook has no cell tagged 'parameters'", file=str(notebook))


def merge_parameters(defaults: Values, file_params: Values, flags: Values) -> Values:
    """Defaults < file < flags. When the user gives only one of since / until (or only iteration_days), the
    other bound is derived from ``iteration_days`` instead of the notebook's default date."""
    user = {**file_params, **{k: v for k, v in flags.items() if v is not None}}
    params = {**defaults, **user}
    if any(k in user for k in ("since", "until", "iteration_days")):
        for bound in ("since", "until"):
            if bound not in user:
                params[bound] = ""
    days = params.get("iteration_days", 14)
    since, until = resolve_window(str(params.get("since") or "") or None, str(params.get("until") or "") or None,
                                  days if isinstance(days, int) else 14)
    params["since"], params["until"] = since.isoformat(), until.isoformat()
    return params


def flag_error(err: InputError, flags: Values, file_params: Values,
               parameters_file: str | None) -> InputError:
    """``err`` (raised with ``column=<parameter>``) restated for where the value came from: a flag
    (``--max-actions: bad value: got -1; expected ...``) or the parameters file (file, line and key); other
    errors unchanged."""
    name = err.column
    if err.file is not None or name not in PARAMETERS:
        return err
    reason = "bad value" if err.reason == f"bad {name}" else err.reason
    if flags.get(name) is not None:  # "--max-actions (max_actions): ..." names the flag and its parameter
        return InputError(f"--{name.replace('_', '-')} ({name}): {reason}", value=err.value, expected=err.expected)
    if name in file_params and parameters_file:
        line = parameter_lines(parameters_file).get(name)
        return InputError(reason, file=parameters_file, line=line, column=name, value=err.value,
                          expected=err.expected)
    return err


def check_parameters(flags: Values, file_params: Values, defaults: Values,
                     parameters_file: str | None = None) -> Values:
    """Merge and check the parameters before any kernel starts (exit 2, one line naming the flag, or the
    file, line and key, the value came from); returns the merged parameters."""
    from hivepulse.retro.params import preflight, source_path

    try:
        params = merge_parameters(defaults, file_params, flags)
        if params.get("source") not in ("events", "git"):
            raise InputError("unknown source", column="source", value=params.get("source"),
                             expected="events or git")
        if not source_path(str(params["path"])).exists():
            raise InputError("source path not found", file=str(params["path"]),
                             expected="an events directory or a git clone")
        out = Path(str(params["output_dir"]))
        if out.exists() and not out.is_dir():
            raise InputError("output directory is a file", file=str(out),
                             expected="a directory (created when missing)")
        # a notebook given with --notebook may take more parameters than the retro's: those go to papermill only
        preflight(RetroParams.model_validate({k: v for k, v in params.items() if k in PARAMETERS}))
    except InputError as err:
        raise flag_error(err, flags, file_params, parameters_file) from None
    return params


@contextmanager
def keep_records_until_done(out_dir: Path, ident: str) -> Iterator[None]:
    """Back up ``<out_dir>/<ident>/`` and ``<out_dir>/ledger.json`` before the run; if the block fails
    (a cell, the HTML export, anything), put both back as they were (or remove what the run created), so
    the records, the ledger and ``retro.html`` never disagree. The backup lives in a hidden temporary
    directory beside them and is removed at the end."""
    record_dir, ledger = out_dir / ident, out_dir / "ledger.json"
    out_dir.mkdir(parents=True, exist_ok=True)
    backup = Path(tempfile.mkdtemp(prefix=f".{ident}.", suffix=".backup", dir=out_dir))
    try:
        had_dir, had_ledger = record_dir.is_dir(), ledger.is_file()
        if had_dir:
            shutil.copytree(record_dir, backup / "records", symlinks=True)
        if had_ledger:
            shutil.copy2(ledger, backup / "ledger.json")
        try:
            yield
        except BaseException:
            if record_dir.exists():
                shutil.rmtree(record_dir)
            if had_dir:
                os.replace(backup / "records", record_dir)
            if had_ledger:
                atomic_write_bytes(ledger, (backup / "ledger.json").read_bytes())
            else:
                ledger.unlink(missing_ok=True)
            raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    from hivepulse.report.run import execute, find_notebook

    notebook = Path(args.notebook) if args.notebook else find_notebook("retro.ipynb")
    if not notebook.is_file():
        raise InputError("notebook not found", file=str(notebook))
    flags = {name: getattr(args, name) for name in PARAMETERS}
    file_params = read_parameters_file(args.parameters_file) if args.parameters_file else {}
    params = check_parameters(flags, file_params, notebook_defaults(notebook), args.parameters_file)
    from datetime import date

    ident = iteration_id(date.fromisoformat(str(params["since"])), date.fromisoformat(str(params["until"])))
    out_dir = Path(str(params["output_dir"]))
    staging = out_dir / "runs" / f"{ident}.ipynb"
    print(f"hivepulse retro: iteration {ident}, source {params['source']} {params['path']}", file=sys.stderr)
    record_dir = out_dir / ident
    report = record_dir / REPORT
    with keep_records_until_done(out_dir, ident):
        report.unlink(missing_ok=True)  # only this run's report counts (the backup restores it on failure)
        execute(notebook, staging, params, cwd=os.getcwd(), progress=not args.no_progress)
        if not report.is_file():
            raise ServiceError(f"the notebook wrote no {REPORT} (its last cell, S.records(r), writes the records "
                               f"and the report); the previous records and ledger are kept; executed notebook "
                               f"kept: {staging}")
        os.replace(staging, record_dir / "retro.ipynb")
    try:
        staging.parent.rmdir()
    except OSError:
        pass
    print(f"Report: {report}")
    print(f"Records: {record_dir} (README.md, metrics.json, actions.json, actions.csv); ledger: "
          f"{out_dir / 'ledger.json'}")
    return 0
