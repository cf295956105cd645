"""Shared file I/O: atomic writes, workspace locks, bounded reads and YAML with limits and line numbers.

Every module that writes a file a user keeps (records, ledger, event files, results) or reads a file a user
wrote (``actions.yaml``, team notes, scenarios, parameters) goes through this module, so the rules below hold
everywhere:

- **Atomic writes**: :func:`atomic_write_bytes` writes a temporary file in the target's directory, flushes and
  fsyncs it, then moves it into place with ``os.replace``. A reader sees the old file or the new one, never a
  half-written one; a failure (full disk, interrupt) removes the temporary file and leaves the target as it was.
- **Locks**: :func:`locked` takes an exclusive advisory lock (``filelock``) on a lock file, waiting at most a
  given time, so two processes never run a read-modify-write of one workspace at once.
- **Bounded reads**: :func:`read_bytes_limited` refuses a file larger than a limit before reading it whole.
- **YAML**: :func:`load_yaml` parses with the safe loader, limits the input size, the nesting depth and the
  number of nodes after alias expansion (a "billion laughs" document is refused in milliseconds, not after it
  fills the memory), and returns the data with the line of every mapping key (:class:`YamlDocument`), so a
  config error can name its file, line and field.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hivepulse.errors import InputError, ServiceError

# --------------------------------------------------------------------------------------------------------------
# atomic writes


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def plain_mode(path: str | Path, base: int = 0o666) -> None:
    """Give a temporary file (``base=0o666``) or directory (``base=0o777``) the permissions a plain ``open`` or
    ``mkdir`` would have given it (``mkstemp``/``mkdtemp`` make them private)."""
    os.chmod(path, base & ~_umask())


def fsync_dir(path: str | Path) -> None:
    """fsync a directory so a rename inside it survives a power loss (no-op where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same directory, fsync, ``os.replace``).

    Parent directories are created. On any failure (including ``KeyboardInterrupt``) the temporary file is
    removed and ``path`` is untouched."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        plain_mode(tmp)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` as UTF-8 (newlines as given) to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------------------------------------------
# locks

LOCK_TIMEOUT_S = 600.0
"""Default longest wait for a workspace lock: a retro holds it for one run (seconds to a few minutes)."""


@contextlib.contextmanager
def locked(lock_path: str | Path, *, timeout_s: float = LOCK_TIMEOUT_S, what: str = "the workspace") -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if missing) for the ``with`` block.

    Waits up to ``timeout_s`` seconds for another process to release it, then raises :class:`ServiceError`
    naming the lock file. The lock is advisory (every hivepulse writer takes it) and released when the process
    ends, even on SIGKILL, so a killed run never leaves a workspace locked."""
    from filelock import FileLock, Timeout

    p = Path(lock_path)
    p.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(p))
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout:
        raise ServiceError(
            f"{what} is locked by another hivepulse run ({p}); waited {timeout_s:g} s, try again when it ends"
        ) from None
    try:
        yield
    finally:
        lock.release()


# --------------------------------------------------------------------------------------------------------------
# bounded reads

MAX_CONFIG_BYTES = 1 << 20
"""Largest config file (YAML, notes, parameters) read: 1 MiB. Real ones are a few KiB."""


def read_bytes_limited(path: str | Path, limit: int, *, what: str = "file") -> bytes:
    """The bytes of ``path``, refusing (``InputError``, exit 2) a file larger than ``limit`` bytes before
    reading it. Reads at most ``limit + 1`` bytes, so a file that grows meanwhile is refused too."""
    p = Path(path)
    with open(p, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{what} is larger than {limit:,} bytes", file=str(p))
    return data


def read_text_limited(path: str | Path, limit: int = MAX_CONFIG_BYTES, *, what: str = "file") -> str:
    """:func:`read_bytes_limited` decoded as UTF-8 (a leading BOM dropped); bad UTF-8 is ``InputError``."""
    data = read_bytes_limited(path, limit, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 text (byte {exc.start})", file=str(path)) from None


# --------------------------------------------------------------------------------------------------------------
# YAML with limits and line numbers

YAML_MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences accepted in a YAML document."""
YAML_MAX_NODES = 100_000
"""Most nodes a YAML document may expand to, counting every alias as a copy of what it names."""

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML document: ``data`` (plain dicts, lists and scalars) and the 1-based line of every node,
    keyed by its path from the root (mapping keys as strings, sequence positions as ints)."""

    data: Any
    file: str | None = None
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, *path: str | int) -> int | None:
        """The line of the node at ``path`` (or of its nearest ancestor that has one); ``None`` if unknown."""
        key: KeyPath = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)

    def error(self, message: str, *path: str | int, value: object = None, expected: str | None = None) -> InputError:
        """An :class:`InputError` naming this document's file, the line of ``path`` and the field."""
        column = ".".join(str(p) for p in path) if path else None
        return InputError(message, file=self.file, line=self.line(*path), column=column, value=value,
                          expected=expected)


class _LimitedLoader(yaml.SafeLoader):
    """Safe loader that bounds nesting depth while composing (PyYAML's composer recurses)."""

    max_depth = YAML_MAX_DEPTH

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _TooDeep(mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Construct one node; a value its constructor cannot build (``2026-13-01`` as a date, ``!!int abc``,
        an integer of more digits than Python converts) is reported at the node's line, not as a bare
        ``ValueError``."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            raise _BadValue(node.start_mark.line + 1, str(exc).splitlines()[0] if str(exc) else "") from None


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


class _BadValue(Exception):
    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Number of nodes ``root`` expands to when every alias is copied; stops counting past ``limit``.

    Iterative with memoisation over the node graph (aliases make it a DAG), so it costs O(distinct nodes)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                children.extend((k, v))
        if done or not children:
            total = 1 + sum(sizes.get(id(c), 1) for c in children)
            sizes[id(node)] = min(total, limit + 1)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _record_lines(root: yaml.Node, lines: dict[KeyPath, int]) -> None:
    stack: list[tuple[yaml.Node, KeyPath]] = [(root, ())]
    seen: set[tuple[int, KeyPath]] = set()
    while stack:
        node, path = stack.pop()
        if (id(node), path) in seen or len(lines) > YAML_MAX_NODES:
            continue
        seen.add((id(node), path))
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k.start_mark.line + 1)
                lines.setdefault((*path, str(key)), k.start_mark.line + 1)
                stack.append((v, (*path, str(key))))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, (*path, i)))


def load_yaml(
    text: str,
    *,
    file: str | Path | None = None,
    max_bytes: int = MAX_CONFIG_BYTES,
    max_depth: int = YAML_MAX_DEPTH,
    max_nodes: int = YAML_MAX_NODES,
) -> YamlDocument:
    """Parse one YAML document safely within limits; every problem is an :class:`InputError` (exit 2).

    Refused: more than ``max_bytes`` of UTF-8, nesting deeper than ``max_depth``, more than ``max_nodes``
    nodes after alias expansion, more than one document, anything the safe loader rejects (Python tags) and
    a scalar its type cannot hold (``2026-13-01`` read as a date: ``bad value (month must be in 1..12)``
    with its line). An empty document gives ``data=None``."""
    where = str(file) if file is not None else None
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InputError(f"YAML is larger than {max_bytes:,} bytes", file=where)
    try:
        loader = _LimitedLoader(text)  # the reader refuses control characters here, before parsing
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        char = exc.character if isinstance(exc.character, int) else 0
        raise InputError(f"invalid YAML: control character #x{char:04x} is not allowed", file=where,
                         line=line) from None
    loader.max_depth = max_depth
    try:
        root = loader.get_single_node()
        if root is None:
            return YamlDocument(None, where, {})
        if _expanded_size(root, max_nodes) > max_nodes:
            raise InputError(f"YAML expands to more than {max_nodes:,} nodes (aliases counted as copies)",
                             file=where, line=root.start_mark.line + 1)
        data = loader.construct_document(root)
    except _TooDeep as exc:
        raise InputError(f"YAML nested deeper than {max_depth} levels", file=where, line=exc.line) from None
    except _BadValue as exc:
        raise InputError(f"bad value ({exc.reason})" if exc.reason else "bad value", file=where, line=exc.line,
                         expected="a value YAML can read (dates as YYYY-MM-DD, numbers in range)") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = (exc.problem or exc.context or "invalid YAML").strip()
        raise InputError(f"invalid YAML: {reason}", file=where,
                         line=mark.line + 1 if mark is not None else None) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {type(exc).__name__}", file=where) from None
    except RecursionError:
        raise InputError(f"YAML nested deeper than {max_depth} levels", file=where) from None
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {}
    _record_lines(root, lines)
    return YamlDocument(data, where, lines)


def load_yaml_file(path: str | Path, *, max_bytes: int = MAX_CONFIG_BYTES, what: str = "YAML file",
                   **limits: int) -> YamlDocument:
    """:func:`load_yaml` of the file at ``path`` (read with :func:`read_text_limited`)."""
    return load_yaml(read_text_limited(path, max_bytes, what=what), file=path, max_bytes=max_bytes, **limits)


# --------------------------------------------------------------------------------------------------------------
# output directories


def check_output_dir(path: str | os.PathLike[str]) -> None:
    """Raise :class:`InputError` (before anything is written) when ``path`` cannot become an output
    directory: it is an existing file, or its nearest existing ancestor is a file or not writable."""
    target = Path(path)
    if target.exists():
        if not target.is_dir():
            raise InputError("output path is not a directory", file=str(target),
                             expected="a directory or a new path")
        if not os.access(target, os.W_OK | os.X_OK):
            raise InputError("output directory is not writable", file=str(target), expected="a writable directory")
        return
    parent = target.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError("output path is inside a file", file=str(target),
                         expected=f"a path under a directory ({parent} is a file)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError("cannot create the output directory: parent is not writable", file=str(target),
                         expected=f"a path under a writable directory ({parent} is read-only)")


__all__ = [
    "LOCK_TIMEOUT_S",
    "MAX_CONFIG_BYTES",
    "YAML_MAX_DEPTH",
    "YAML_MAX_NODES",
    "YamlDocument",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_dir",
    "fsync_dir",
    "load_yaml",
    "load_yaml_file",
    "locked",
    "plain_mode",
    "read_bytes_limited",
    "read_text_limited",
]
