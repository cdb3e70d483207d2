"""API keys and roles.

Keys are random tokens (``sp_`` + 43 URL-safe characters, 256 bits); the store keeps only their
sha256, looked up by hash and confirmed with a constant-time comparison. The admin key comes
from ``SCHOOLPLAN_ADMIN_KEY`` or is generated at start-up, printed once and never stored.

Roles (``docs/api.md`` has the full matrix):

- **planner**: upload datasets, write scenarios, run catchment and layout;
- **hr**: upload datasets, write scenarios (teacher edits too), run rotation, read teacher data;
- **analyst**: read and compare (no teacher personal data);
- **admin**: everything, plus API keys and the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from scenarios.errors import Forbidden
from scenarios.models import ROLES, ApiKey, new_id
from scenarios.store import Store

KEY_PREFIX = "sp_"


@dataclass(frozen=True)
class Permission:
    """Something a role may do; ``action`` completes "role 'x' may not ..."."""

    action: str
    roles: frozenset[str]


def _p(action: str, *roles: str) -> Permission:
    return Permission(action, frozenset(roles))


READ = _p("read datasets, scenarios and runs", "planner", "hr", "analyst", "admin")
COMPARE = _p("compare runs", "planner", "hr", "analyst", "admin")
UPLOAD = _p("upload datasets", "planner", "hr", "admin")
WRITE_SCENARIO = _p("create or change scenarios", "planner", "hr", "admin")
TEACHER_EDITS = _p("make teacher edits (exempt_teacher, lock_teacher)", "hr", "admin")
RUN_PLANNING = _p("start or cancel catchment and layout runs", "planner", "admin")
RUN_ROTATION = _p("start or cancel rotation runs", "hr", "admin")
PERSONAL = _p("read teacher personal data (rotation runs and their results)", "hr", "admin")
ADMIN = _p("manage API keys or read the audit log", "admin")

#: Permission to start or cancel a run, by kind.
RUN_PERMISSION: dict[str, Permission] = {
    "catchment": RUN_PLANNING,
    "layout": RUN_PLANNING,
    "rotation": RUN_ROTATION,
}


@dataclass(frozen=True)
class Principal:
    """The caller: key id (``admin`` for the configured admin key) and role."""

    key_id: str
    role: str

    def can(self, perm: Permission) -> bool:
        """Whether this role holds the permission."""
        return self.role in perm.roles

    def require(self, perm: Permission) -> None:
        """Raise Forbidden unless the role holds the permission.

        Raises
        ------
        Forbidden
        """
        if not self.can(perm):
            allowed = ", ".join(r for r in ROLES if r in perm.roles)
            raise Forbidden(f"role '{self.role}' may not {perm.action} (allowed: {allowed})")


def generate_key() -> str:
    """A new high-entropy API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The sha256 hex digest stored for a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRing:
    """Checks presented keys against the admin key and the store's key records.

    Verified keys are remembered for ``ttl`` seconds, keyed by their sha256, so a client
    polling several times a second costs one dictionary lookup instead of a database query.
    Unknown keys are never remembered (a key created a moment ago works at once) and
    :meth:`revoke` forgets the revoked key at once; ``ttl`` bounds how long a key revoked
    directly in the database by another program stays usable.

    Parameters
    ----------
    store : Store
    admin_key : str
    ttl : float
        Seconds a verified key is trusted from memory; 0 asks the store every time.
    max_entries : int
        Keys remembered at most (the memory is emptied when full).
    """

    def __init__(
        self, store: Store, admin_key: str, ttl: float = 10.0, max_entries: int = 10_000
    ) -> None:
        self.store = store
        self._admin_hash = hash_key(admin_key)
        self.ttl = ttl
        self.max_entries = max_entries
        self._known: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> Principal | None:
        """The principal of a key if it is the admin key or was verified within ``ttl``;
        None means "ask :meth:`identify`" (no database access here)."""
        presented = hash_key(key)
        if hmac.compare_digest(presented, self._admin_hash):
            return Principal("admin", "admin")
        with self._lock:
            hit = self._known.get(presented)
            if hit is None:
                return None
            if hit[1] <= time.monotonic():
                del self._known[presented]
                return None
            return hit[0]

    def identify(self, key: str) -> Principal | None:
        """The principal of a key, or None if it is unknown or revoked."""
        found = self.cached(key)
        if found is not None:
            return found
        presented = hash_key(key)
        record = self.store.key_by_hash(presented)
        if record is None or not hmac.compare_digest(record.key_hash, presented):
            return None
        principal = Principal(record.id, record.role)
        if self.ttl > 0:
            with self._lock:
                if len(self._known) >= self.max_entries:
                    self._known.clear()
                self._known[presented] = (principal, time.monotonic() + self.ttl)
        return principal

    def create(self, name: str, role: str, created_by: str) -> tuple[ApiKey, str]:
        """Store a new key for ``role``; returns (record, the key itself, shown once)."""
        if role not in ROLES:
            raise ValueError(f"unknown role '{role}'")
        key = generate_key()
        record = ApiKey(
            id=new_id("key"),
            name=name,
            role=role,
            key_hash=hash_key(key),
            prefix=key[:8],
            created_by=created_by,
        )
        return self.store.add_key(record), key

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key in the store and forget it here: it stops working at once.

        Raises
        ------
        scenarios.errors.NotFound
        scenarios.errors.Conflict
            When already revoked.
        """
        record = self.store.revoke_key(key_id)
        self.forget(key_id)
        return record

    def forget(self, key_id: str) -> None:
        """Drop a key id from the memory of verified keys."""
        with self._lock:
            for h in [h for h, (p, _) in self._known.items() if p.key_id == key_id]:
                del self._known[h]


class Unauthorized(Exception):
    """No key, or a key that is unknown or revoked (401)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


MISSING_KEY = "missing API key: send the header 'Authorization: Bearer <key>'"
INVALID_KEY = "invalid or revoked API key"
