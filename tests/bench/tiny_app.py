"""A trivial ASGI app for load-generator tests: ``/`` answers at once, ``/slow`` serializes 20 ms of work.

Run with ``python -m uvicorn tiny_app:app``; ``/slow`` has a capacity of 50 requests per second.
"""

import asyncio

_lock = asyncio.Lock()


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        async with _lock:
            await asyncio.sleep(0.02)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
