"""The retro workspace (``output_dir``): one lock, one commit, no leftovers.

Every read-modify-write of a workspace (a retro's records and ledger entry, ``hivepulse retro``'s executed
notebook, the leftovers of a killed run) happens under **one lock**, ``<output_dir>/.hivepulse.lock``
(:func:`hivepulse.fsio.locked`; released by the operating system when its holder dies, even on SIGKILL).

**The commit** (:func:`commit`), all under the lock:

1. :func:`recover` finishes or removes what an interrupted run left (below);
2. the ledger is **re-read** and this run's entry merged into it (never a copy read before the lock);
3. the new record directory (``README.md``, ``metrics.json``, ``actions.json``, ``actions.csv``,
   ``retro.html``, ``retro.ipynb``) and the new ``ledger.json`` are written, fsynced, into a staging folder
   ``.commit-XXXX/``; a failure here (a full disk) removes the folder and changes nothing else;
4. the marker ``.commit-XXXX/COMMIT`` is written and fsynced: **the commit point**;
5. the old record directory is moved into the staging folder, the new one into its place, the new ledger
   replaces the old one (``os.replace``), and the staging folder is removed.

A run killed before step 4 leaves the previous records and ledger as they were (its staging folder is
removed by the next run); killed after it, the next run that takes the lock completes steps 5 (roll forward),
so the records and the ledger never disagree and a completed commit is never undone. Nothing is ever restored
from a backup, so no run can erase another run's completed write.

**Runs** (:func:`run_dir`): ``hivepulse retro`` works in a private folder ``.run-XXXX/`` (the executed
notebook while papermill writes it, the records its kernel hands over with :func:`hand_over`) held by an
owner lock for the run's life; the next run removes the folders of runs that died (their owner lock is free).
Leftovers of earlier hivepulse versions (``.<iteration>.*.backup``, ``.<record>.*.new`` / ``.old``
folders, ``.*.tmp`` files of atomic writes) are removed too, never restored.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hivepulse.errors import InputError, ServiceError
from hivepulse.fsio import LOCK_TIMEOUT_S, atomic_write_bytes, fsync_dir, locked, plain_mode
from hivepulse.retro import ledger as led

LOCK_FILE = ".hivepulse.lock"
LEDGER_FILE = "ledger.json"
RUNS_DIR = "runs"
COMMIT_PREFIX = ".commit-"
RUN_PREFIX = ".run-"
MARK = "COMMIT"
OWNER = ".owner.lock"
HANDOFF_ENV = "HIVEPULSE_RETRO_HANDOFF"
"""Set by ``hivepulse retro`` for its kernel: the run folder the notebook's last cell hands its records to
(the command then commits them with the executed notebook); without it the notebook commits itself."""
_LEGACY_DIRS = (".backup", ".new", ".old")
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _write_error(where: Path, exc: OSError) -> ServiceError:
    reason = exc.strerror or type(exc).__name__
    if exc.errno in _DISK_FULL:
        reason = f"{reason} (disk full or file size limit)"
    return ServiceError(f"cannot write the retro to {where}: {reason}; the previous records and ledger are kept")


def _check_name(name: str) -> str:
    if not name or "/" in name or "\0" in name or name.startswith(".") or name in (RUNS_DIR, LEDGER_FILE):
        raise InputError("bad record name", value=name, expected="an iteration id (and environment)")
    return name


# ---------------------------------------------------------------------------------------------- lock and recovery


@contextlib.contextmanager
def locked_workspace(output_dir: str | Path, *, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[Path]:
    """Hold the workspace lock of ``output_dir`` (created if missing) for the ``with`` block, after
    :func:`recover` has cleaned what interrupted runs left. Waits up to ``timeout_s`` for another run
    (then exit 4)."""
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(out, exc) from None
    with locked(out / LOCK_FILE, timeout_s=timeout_s, what=f"the retro workspace {out}"):
        recover(out)
        yield out


def _alive(run: Path) -> bool:
    """Whether the run owning folder ``run`` is still running (it holds the folder's owner lock)."""
    if not (run / OWNER).is_file():
        return False
    try:
        with locked(run / OWNER, timeout_s=0):
            return False
    except ServiceError:
        return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def recover(output_dir: str | Path) -> list[str]:
    """Finish or remove what interrupted runs left in ``output_dir`` (call it holding the lock; returns the
    names handled): a committed staging folder is rolled forward, an uncommitted one removed; folders of
    dead runs, legacy backup/swap folders and temporary files of atomic writes are removed."""
    out = Path(output_dir)
    done: list[str] = []
    for path in sorted(out.iterdir()) if out.is_dir() else []:
        name = path.name
        if not name.startswith(".") or name == LOCK_FILE:
            continue
        real_dir = path.is_dir() and not path.is_symlink()
        if name.startswith(COMMIT_PREFIX) and real_dir:
            if (path / MARK).is_file():
                _roll_forward(out, path)
            else:
                shutil.rmtree(path, ignore_errors=True)
        elif name.startswith(RUN_PREFIX) and real_dir:
            if _alive(path):
                continue
            shutil.rmtree(path, ignore_errors=True)
        elif real_dir and name.endswith(_LEGACY_DIRS):
            shutil.rmtree(path, ignore_errors=True)
        elif name.endswith(".tmp") and not real_dir:
            path.unlink(missing_ok=True)
        else:
            continue
        done.append(name)
    runs = out / RUNS_DIR
    if runs.is_dir() and not runs.is_symlink():
        for path in sorted(runs.iterdir()):
            if path.name.startswith(".") and path.name.endswith(".tmp") and path.is_file():
                path.unlink(missing_ok=True)
                done.append(f"{RUNS_DIR}/{path.name}")
    return done


def _roll_forward(out: Path, staging: Path) -> None:
    """Complete a committed staging folder (idempotent: safe to repeat after a crash at any step)."""
    try:
        mark = json.loads((staging / MARK).read_text(encoding="utf-8"))
        name = _check_name(str(mark["record"]))
        obsolete = [str(p) for p in mark.get("obsolete", [])]
    except (OSError, ValueError, KeyError, TypeError, InputError):
        shutil.rmtree(staging, ignore_errors=True)  # a marker this module never wrote: not a commit
        return
    dest, record = out / name, staging / "record"
    if record.is_dir():
        if dest.exists() or dest.is_symlink():
            old = staging / "old"
            if old.exists():
                _remove(old)
            os.replace(dest, old)
        os.replace(record, dest)
    if (staging / LEDGER_FILE).is_file():
        os.replace(staging / LEDGER_FILE, out / LEDGER_FILE)
    for rel in obsolete:
        target = out / rel
        if target.parent == out / RUNS_DIR and target.is_file():
            target.unlink(missing_ok=True)
    fsync_dir(out)
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):
        (out / RUNS_DIR).rmdir()  # only when empty


# ---------------------------------------------------------------------------------------------- commit


def _write(path: Path, data: str | bytes) -> None:
    """Write one staged file and fsync it (the one write primitive of a commit)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with open(path, "xb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())


def commit(
    output_dir: str | Path,
    name: str,
    files: Mapping[str, str | bytes],
    update: Callable[[led.Ledger], led.Ledger],
    *,
    keep: Sequence[str] = (),
    obsolete: Sequence[str] = (),
    timeout_s: float = LOCK_TIMEOUT_S,
) -> Path:
    """Commit the record directory ``<output_dir>/<name>/`` (exactly ``files``, plus the files named in
    ``keep`` carried over from the old directory) and the ledger ``update(ledger read under the lock)``
    together (module docstring); ``obsolete`` names files under ``runs/`` removed with the commit. Returns
    the record directory. A write that fails (a full disk) is :class:`ServiceError` (exit 4) with the
    previous state intact."""
    name = _check_name(name)
    with locked_workspace(output_dir, timeout_s=timeout_s) as out:
        ledger_path = out / LEDGER_FILE
        text = led.dumps(update(led.load(ledger_path)))  # re-read under the lock: never a stale copy
        unchanged = ledger_path.is_file() and ledger_path.read_bytes() == text.encode("utf-8")
        staging = Path(tempfile.mkdtemp(prefix=COMMIT_PREFIX, dir=out))
        try:
            plain_mode(staging, 0o777)
            record = staging / "record"
            record.mkdir()
            for file_name, data in files.items():
                _write(record / _check_name(file_name), data)
            for file_name in keep:
                old = out / name / file_name
                if file_name not in files and old.is_file() and not old.is_symlink():
                    _write(record / file_name, old.read_bytes())
            if not unchanged:
                _write(staging / LEDGER_FILE, text)
            fsync_dir(record)
            _write(staging / MARK, json.dumps({"record": name, "obsolete": list(obsolete)}))
            fsync_dir(staging)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError):
                raise _write_error(out, exc) from None
            raise
        try:
            _roll_forward(out, staging)
        except OSError as exc:  # committed: the next run completes it
            raise ServiceError(f"the retro in {out} is committed but could not be put in place "
                               f"({exc.strerror or exc}); the next hivepulse retro completes it") from None
    return out / name


def update_ledger(output_dir: str | Path, update: Callable[[led.Ledger], led.Ledger], *,
                  timeout_s: float = LOCK_TIMEOUT_S) -> bool:
    """Apply ``update`` to the ledger read under the workspace lock and write it atomically (for writers of the
    ledger alone, e.g. a sync of action items with a board); returns whether the file changed."""
    with locked_workspace(output_dir, timeout_s=timeout_s) as out:
        try:
            return led.save(out / LEDGER_FILE, update(led.load(out / LEDGER_FILE)))
        except OSError as exc:
            raise _write_error(out, exc) from None


def keep_file(output_dir: str | Path, relative: str, data: bytes, *, timeout_s: float = LOCK_TIMEOUT_S) -> Path:
    """Write ``<output_dir>/<relative>`` atomically under the workspace lock (``runs/<record>.ipynb``, the
    executed notebook of a failed run)."""
    with locked_workspace(output_dir, timeout_s=timeout_s) as out:
        target = out / relative
        try:
            atomic_write_bytes(target, data)
        except OSError as exc:
            raise _write_error(out, exc) from None
    return target


# ---------------------------------------------------------------------------------------------- runs and handoff


@contextlib.contextmanager
def run_dir(output_dir: str | Path) -> Iterator[Path]:
    """A private folder ``<output_dir>/.run-XXXX/`` for one ``hivepulse retro`` run, alive while its owner lock
    is held; removed at the end (or by the next run's :func:`recover` when this process dies)."""
    with contextlib.ExitStack() as stack:
        with locked_workspace(output_dir) as out:  # created under the lock: recover never sees it half-made
            try:
                folder = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=out))
            except OSError as exc:
                raise _write_error(out, exc) from None
            stack.enter_context(locked(folder / OWNER, timeout_s=0, what="the run folder"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Handoff:
    """What a kernel handed to ``hivepulse retro``: the record name, its files and its ledger entry."""

    name: str
    files: dict[str, bytes]
    entry: led.LedgerEntry


def handoff_dir() -> Path | None:
    """The run folder named by :data:`HANDOFF_ENV` when it is a live run folder, else None."""
    value = os.environ.get(HANDOFF_ENV, "").strip()
    if not value:
        return None
    folder = Path(value)
    if not folder.name.startswith(RUN_PREFIX) or not _alive(folder):
        return None  # not a run folder, or its run ended: the notebook commits itself
    return folder


def hand_over(folder: Path, name: str, files: Mapping[str, str | bytes], entry: led.LedgerEntry) -> None:
    """Hand the records and the ledger entry to the ``hivepulse retro`` run owning ``folder``."""
    target = folder / "handoff"
    target.mkdir()  # no parents: the run folder must exist (its run may have died)
    for file_name, data in files.items():
        _write(target / _check_name(file_name), data)
    _write(folder / "entry.json", json.dumps({"record": _check_name(name), "entry": entry.to_dict()},
                                             sort_keys=True, ensure_ascii=False, allow_nan=False))


def handed_over(folder: Path) -> Handoff | None:
    """What the kernel handed to the run folder ``folder`` (None when its notebook handed nothing)."""
    meta = folder / "entry.json"
    if not meta.is_file():
        return None
    data = json.loads(meta.read_text(encoding="utf-8"))
    name = _check_name(str(data["record"]))
    files = {p.name: p.read_bytes() for p in sorted((folder / "handoff").iterdir()) if p.is_file()}
    return Handoff(name, files, led.entry_from_json(name, data["entry"], file=str(meta)))


__all__ = ["COMMIT_PREFIX", "HANDOFF_ENV", "LEDGER_FILE", "LOCK_FILE", "RUNS_DIR", "RUN_PREFIX", "Handoff", "commit",
           "hand_over", "handed_over", "handoff_dir", "keep_file", "locked_workspace", "recover", "run_dir",
           "update_ledger"]
