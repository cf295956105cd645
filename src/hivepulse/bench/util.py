"""Small helpers shared by the bench modules: running coroutines anywhere (also inside Jupyter's loop).

Free ports and waiting are :mod:`hivepulse.net` (``free_port``, ``wait_until``) and
:func:`hivepulse.services.wait_http`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion, also from inside a running event loop (Jupyter): then in a new thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    values: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            values.append(asyncio.run(coro))
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="hivepulse-bench-loop")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return values[0]
