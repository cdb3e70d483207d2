"""Serialised responses about finished runs, kept in memory, with ETags.

A finished run (done, failed, cancelled) never changes again, so its status JSON, result files,
assignment rows and comparisons with other finished runs can be serialised once and served as
bytes. Each entry carries a strong ETag (a hash of the bytes), so a client sending
``If-None-Match`` gets ``304 Not Modified`` without the body. The cache is an LRU bounded in
bytes; it lives in ``app.state`` (one per app), never in a module global.

Access rules still run on every request: an entry records the kinds of the runs it is about
and the route checks the caller against them before serving it. A body that differs by role
(a run's status: full for hr/admin, the aggregate view of rotation runs for the others) is
kept under one key per view, so one role's body is never served to another.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

#: For finished runs: the bytes never change, but only the authenticated caller may keep them.
IMMUTABLE = "private, max-age=86400, immutable"
#: For runs still queued or running: always ask again.
REVALIDATE = "no-cache"


def etag_of(content: bytes) -> str:
    """A strong ETag of a body: a quoted 128-bit BLAKE2b digest."""
    return '"' + hashlib.blake2b(content, digest_size=16).hexdigest() + '"'


@dataclass(frozen=True)
class Cached:
    """One serialised response.

    Attributes
    ----------
    content : bytes
    media_type : str
    kinds : tuple of str
        Run kinds the body is about (for the access check on a hit).
    headers : mapping
        Extra headers (e.g. ``Content-Disposition``).
    etag : str
        Computed from ``content``.
    """

    content: bytes
    media_type: str
    kinds: tuple[str, ...]
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str = ""

    def __post_init__(self) -> None:
        if not self.etag:
            object.__setattr__(self, "etag", etag_of(self.content))


class ResponseCache:
    """A thread-safe LRU of :class:`Cached` responses, bounded in total body bytes.

    Parameters
    ----------
    max_bytes : int
        Bodies larger than this are never kept; 0 disables the cache.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, Cached] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    @property
    def size(self) -> int:
        """Total bytes of the bodies held."""
        return self._size

    def get(self, key: Hashable) -> Cached | None:
        """The entry, marked as recently used, or None."""
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def put(self, key: Hashable, value: Cached) -> Cached:
        """Keep ``value`` (unless it alone exceeds the bound), evicting the least recently
        used entries; returns the entry now held for ``key`` (or ``value``)."""
        size = len(value.content)
        if size > self.max_bytes:
            return value
        with self._lock:
            old = self._data.get(key)
            if old is not None:  # a concurrent miss stored it first: identical bytes
                self._data.move_to_end(key)
                return old
            self._data[key] = value
            self._size += size
            while self._size > self.max_bytes:
                _, gone = self._data.popitem(last=False)
                self._size -= len(gone.content)
            return value


def not_modified(request: Request, etag: str) -> bool:
    """Whether the request's ``If-None-Match`` matches ``etag`` (RFC 9110 weak comparison)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def respond(request: Request, entry: Cached, cache_control: str = IMMUTABLE) -> Response:
    """``entry`` as a response with ``ETag`` and ``Cache-Control``, or a bodiless 304."""
    headers = {"ETag": entry.etag, "Cache-Control": cache_control}
    if not_modified(request, entry.etag):
        return Response(status_code=304, headers=headers)
    return Response(
        entry.content, media_type=entry.media_type, headers={**entry.headers, **headers}
    )


def response_cache(request: Request) -> ResponseCache:
    """The app's response cache (``app.state.responses``, made by ``api.app.create_app``)."""
    cache: ResponseCache = request.app.state.responses
    return cache
