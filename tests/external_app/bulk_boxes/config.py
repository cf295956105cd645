"""Settings of the bulk-endpoint test app. The openSenseMap URL is hard-coded on purpose (as in several real
HiveBox implementations): the tests reach the replay server with the documented workaround, a launcher that
sets ``config.OPENSENSEMAP_API`` before the app module imports it."""

from __future__ import annotations

import os

OPENSENSEMAP_API = "https://api.opensensemap.org"
REDIS_HOST = os.environ.get("REDIS_HOST")
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))
REDIS_DB = int(os.environ.get("REDIS_DB", "0"))
CACHE_TTL = int(os.environ.get("CACHE_TTL", "300"))
MAX_BYTES = 512 * 1024
MINIO_ENDPOINT = os.environ.get("MINIO_ENDPOINT")
MINIO_ACCESS_KEY = os.environ.get("MINIO_ACCESS_KEY", "")
MINIO_SECRET_KEY = os.environ.get("MINIO_SECRET_KEY", "")
MINIO_BUCKET = os.environ.get("MINIO_BUCKET", "hivebox")
