"""``hivepulse retro``: run the retro notebook with papermill, then commit its records, the ledger entry, the
HTML report and the executed notebook together.

Parameters come from the notebook's defaults, then ``-f params.yaml``, then flags named after them
(``--source``, ``--path``, ``--since``, ``--until``, ``--output-dir``, ...; later wins). The window is resolved
here by the rule the notebook uses (``hivepulse.retro.record.resolve_window``: empty dates are filled from
today, UTC, and ``iteration_days``) and passed explicitly, so the command knows the iteration id. Everything
that needs no data is checked before a kernel starts (exit 2, one line, nothing written).

The run works in a private folder of the workspace (:func:`hivepulse.retro.workspace.run_dir`): papermill
writes the executed notebook there, and the notebook's last cell (``S.records``) hands its records and
ledger entry there instead of committing them; the command then commits records, ``retro.html``,
``retro.ipynb`` and the ledger entry in one commit under the workspace lock
(:func:`hivepulse.retro.workspace.commit`). A failing run changes nothing but ``runs/<record>.ipynb`` (the
executed notebook, written atomically). Output: ``<output_dir>/<record>/`` and a short summary of the
iteration's figures. See ``docs/retro.md``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from pathlib import Path

from hivepulse.errors import HivepulseError, InputError, ServiceError
from hivepulse.retro.params import (
    BOOL_PARAMETERS,
    INT_PARAMETERS,
    RetroParams,
    Values,
    parameter_lines,
    read_parameters_file,
)
from hivepulse.retro.record import iteration_id, record_name, resolve_window

PARAMETERS: dict[str, type] = {
    name: int if name in INT_PARAMETERS else bool if name in BOOL_PARAMETERS else str
    for name in RetroParams.model_fields
}
"""The notebook's parameters (the contract of docs/retro.md, :class:`~hivepulse.retro.params.RetroParams`)
and their types."""
REPORT = "retro.html"

HELP = {
    "source": "events (event files), git (a local clone) or store (the event store)",
    "path": "events directory (default data/sample), git clone, or store file/URL (default: the project "
            "file's store)",
    "repository": "source store: one repository OWNER/REPO (default: the whole project)",
    "since": "first day of the iteration, YYYY-MM-DD (UTC; default: until - iteration days)",
    "until": "end of the iteration, exclusive, YYYY-MM-DD (UTC; default: today, or since + iteration days)",
    "iteration_days": "iteration length (1-366) when --since or --until is missing",
    "previous_iterations": "earlier iterations shown in the trends (0-100)",
    "environment": "environment measured",
    "tz": "IANA time zone for day and week boundaries",
    "tier_edition": "DORA tier table (2023 or 2024)",
    "notes": "team notes file or directory (default <output-dir>/notes/<iteration>.yaml)",
    "output_dir": "workspace for records, ledger.json, actions.yaml, notes/",
    "max_actions": "at most this many action items (0-100)",
    "findings": "profiling results directory (the newest run recorded in the iteration counts) or one run "
                "directory (always used); empty: none",
    "allow_empty": "write the retro of a window without any deployment (default: exit 5)",
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
        if kind is bool:
            parser.add_argument(flag, dest=name, action="store_true", default=None, help=HELP[name])
        else:
            parser.add_argument(flag, dest=name, type=kind, default=None, help=HELP[name])
    parser.add_argument("--notebook", help="notebook to run (default: the retro notebook of hivepulse)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def notebook_defaults(notebook: Path) -> Values:
    """The values of the notebook's ``parameters`` cell (literal assignments only)."""
    from hivepulse.report.run import import_nbformat

    nbformat = import_nbformat()

    try:
        nb = nbformat.read(str(notebook), as_version=4)
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
    days, back = params.get("iteration_days", 14), params.get("previous_iterations", 0)
    since, until = resolve_window(str(params.get("since") or "") or None, str(params.get("until") or "") or None,
                                  days if isinstance(days, int) else 14,
                                  previous_iterations=back if isinstance(back, int) else 0)
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
    from hivepulse.paths import locate_output
    from hivepulse.retro.params import preflight

    try:
        params = merge_parameters(defaults, file_params, flags)
        out = locate_output(str(params.get("output_dir", "retro/")))
        if out.exists() and not out.is_dir():
            raise InputError("output directory is a file", file=str(out),
                             expected="a directory (created when missing)")
        # a notebook given with --notebook may take more parameters than the retro's: those go to papermill only
        preflight(RetroParams.model_validate({k: v for k, v in params.items() if k in PARAMETERS}))
    except InputError as err:
        raise flag_error(err, flags, file_params, parameters_file) from None
    return params


def summary(metrics_json: bytes, actions_json: bytes | None = None) -> list[str]:
    """The iteration's figures in a few lines (from the record's ``metrics.json`` and ``actions.json``): what
    ``hivepulse retro`` prints, one window, the retro's. Text from data is made safe for the terminal."""
    from hivepulse.retro.fmt import fmt_value, number
    from hivepulse.textsafe import terminal
    from hivepulse.vocabulary import METRIC_LABEL, METRICS

    doc = json.loads(metrics_json)
    env = terminal(str(doc.get("parameters", {}).get("environment", "production")))
    lines = [f"Retro {doc['iteration']} ({env}): [{doc['since']}, {doc['until']}) UTC; next retro {doc['due']}"]
    for m in METRICS:
        block = doc.get("metrics", {}).get(m) or {}
        value = fmt_value(m, number(block.get("value")))
        lines.append(f"  {METRIC_LABEL[m]:<32} {value:>12}  n={block.get('n', 0):<5} {block.get('tier') or '-'}")
    if actions_json is not None:
        items = json.loads(actions_json).get("actions", [])
        lines.append(f"Action items: {len(items)}" + "".join(
            f"\n  {i.get('rank')}. {terminal(str(i.get('title', '')))}" for i in items))
    return lines


def _keep_notebook(out_dir: Path, relative: str, executed: Path) -> None:
    """Copy the executed notebook of a failed run to ``<out_dir>/<relative>`` atomically (best effort: a
    full disk must not hide the run's own error)."""
    from hivepulse.retro.workspace import keep_file

    if executed.is_file():
        try:  # a short wait: an interrupted or failed run must not hang behind another run's lock
            keep_file(out_dir, relative, executed.read_bytes(), timeout_s=30)
        except (OSError, HivepulseError):
            pass


def run(args: argparse.Namespace) -> int:
    from hivepulse.paths import locate_output
    from hivepulse.redact import redact_text
    from hivepulse.report.run import execute, find_notebook
    from hivepulse.retro import ledger as led
    from hivepulse.retro import workspace

    notebook = Path(args.notebook) if args.notebook else find_notebook("retro.ipynb")
    if not notebook.is_file():
        raise InputError("notebook not found", file=str(notebook))
    flags = {name: getattr(args, name) for name in PARAMETERS}
    file_params = read_parameters_file(args.parameters_file) if args.parameters_file else {}
    params = check_parameters(flags, file_params, notebook_defaults(notebook), args.parameters_file)
    from datetime import date

    ident = iteration_id(date.fromisoformat(str(params["since"])), date.fromisoformat(str(params["until"])))
    name = record_name(ident, str(params.get("environment", "production")))
    out_dir = locate_output(str(params["output_dir"]))
    kept = f"{workspace.RUNS_DIR}/{name}.ipynb"
    where = redact_text(str(params.get("path") or "(default)"))
    print(f"hivepulse retro: iteration {ident}, environment {params.get('environment')}, source "
          f"{params['source']} {where}", file=sys.stderr)
    with workspace.run_dir(out_dir) as run_folder:
        executed = run_folder / "executed.ipynb"
        try:
            execute(notebook, executed, params, cwd=os.getcwd(), progress=not args.no_progress,
                    env={workspace.HANDOFF_ENV: str(run_folder)}, kept_as=out_dir / kept)
            handed = workspace.handed_over(run_folder)
            if handed is None or REPORT not in handed.files:
                raise ServiceError(f"the notebook wrote no {REPORT} (its last cell, S.records(r), writes the "
                                   f"records and the report); the previous records and ledger are kept; executed "
                                   f"notebook kept: {out_dir / kept}")
            files = {**handed.files, "retro.ipynb": executed.read_bytes()}
            record = workspace.commit(out_dir, handed.name, files,
                                      lambda ledger: led.merged(ledger, handed.name, handed.entry),
                                      obsolete=(kept,))
        except BaseException:
            _keep_notebook(out_dir, kept, executed)
            raise
    for line in summary(handed.files["metrics.json"], handed.files.get("actions.json")):
        print(line)
    print(f"Report: {record / REPORT}")
    print(f"Records: {record} (README.md, metrics.json, actions.json, actions.csv, retro.ipynb); ledger: "
          f"{out_dir / workspace.LEDGER_FILE}")
    return 0
