"""``/store``: write the current data as one JSON object to an S3-compatible bucket (MinIO client).

Object name: ``<S3_PREFIX>temperature-<UTC YYYYmmddTHHMMSS.fffZ>-<uuid4 hex>.json`` (default prefix
``hivebox/``): sortable by time and unique, so concurrent stores never overwrite each other.
The bucket is created on first use if missing. The client runs in a worker thread (the ``minio`` client is
synchronous). Keys come from the environment only and are never logged or returned.
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from hivepulse.hivebox.config import S3Settings
from hivepulse.opensensemap import JsonObject


@dataclass(frozen=True)
class StoredObject:
    """Where a document went and its size (bytes)."""

    bucket: str
    name: str
    size: int


class S3Store:
    """Puts JSON documents into ``settings.bucket``."""

    def __init__(self, settings: S3Settings) -> None:
        from minio import Minio

        self.settings = settings
        self.client = Minio(settings.endpoint, access_key=settings.access_key, secret_key=settings.secret_key,
                            secure=settings.secure, region=settings.region)
        self._bucket_checked = False

    def object_name(self, when: float) -> str:
        moment = datetime.fromtimestamp(when, tz=UTC)
        stamp = moment.strftime("%Y%m%dT%H%M%S.") + f"{moment.microsecond // 1000:03d}Z"
        return f"{self.settings.prefix}temperature-{stamp}-{uuid.uuid4().hex}.json"

    def put_document_sync(self, document: JsonObject, when: float) -> StoredObject:
        """Blocking put (creates the bucket if needed)."""
        bucket = self.settings.bucket
        if not self._bucket_checked:
            if not self.client.bucket_exists(bucket):
                self.client.make_bucket(bucket)
            self._bucket_checked = True
        body = json.dumps(document, ensure_ascii=False, sort_keys=False).encode()
        name = self.object_name(when)
        self.client.put_object(bucket, name, io.BytesIO(body), length=len(body),
                               content_type="application/json")
        return StoredObject(bucket, name, len(body))

    async def put_document(self, document: JsonObject, when: float) -> StoredObject:
        """Put without blocking the event loop."""
        return await asyncio.to_thread(self.put_document_sync, document, when)
