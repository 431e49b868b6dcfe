"""API keys: created once, stored as SHA-256 hashes, sent as ``Authorization: Bearer <key>``.

Keys are 256-bit random tokens, so a plain SHA-256 (no salt, no slow hash) is enough to make a
stolen table useless while keeping a lookup to one indexed query per request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from geogrid.access import audit
from geogrid.access.roles import Principal, Role, check_handler_department
from geogrid.errors import AuthenticationError, InvalidInputError, NotFoundError
from geogrid.i18n import tr

PREFIX = "gg_"


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    #: the department a handler's key acts for (geogrid.cases.duties)
    department: str | None = None
    #: the person (a user name) the key acts for; None: a system's key, acting as itself
    owner: str | None = None


def hash_key(key: str) -> str:
    """Hex SHA-256 of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


#: The longest key name.
NAME_MAX = 100


def create_key(
    conn: Connection,
    name: str,
    role: Role,
    *,
    actor: str | None = None,
    department: str | None = None,
    owner: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it and its secret, which is shown once and never stored.

    The audit log records the creation (its name and role, never the secret), by ``actor``.
    A handler's key is tied to a ``department`` and acts only on its cases. A key with an
    ``owner`` (an active account's user name) acts for that person: its steps are recorded
    under the owner's name, separation of duties counts them as the owner's, and it stops
    working when the account is disabled.
    """
    name = name.strip()
    department = check_handler_department(conn, role, department)
    owner_id, owner = _owner(conn, owner)
    if not name or len(name) > NAME_MAX:
        raise InvalidInputError(
            tr("a key name must have 1 to {maximum} characters", maximum=NAME_MAX)
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    try:
        with conn.begin_nested():
            row = conn.execute(
                text(
                    "INSERT INTO api_key (name, role, prefix, key_hash, department_code, owner_id) "
                    "VALUES (:name, :role, :prefix, :hash, :department, :owner) "
                    "RETURNING created_at"
                ),
                {
                    "name": name,
                    "role": role.name,
                    "prefix": secret[:8],
                    "hash": hash_key(secret),
                    "department": department,
                    "owner": owner_id,
                },
            ).one()
    except IntegrityError:
        raise InvalidInputError(
            tr('a key named "{name}" exists already; key names are unique', name=name)
        ) from None
    details = {"owner": owner} if owner else {}
    audit.record(conn, "key_created", None, actor=actor, key=name, role=role.name, **details)
    return ApiKey(name, role, secret[:8], row.created_at, None, department, owner), secret


def _owner(conn: Connection, username: str | None) -> tuple[int | None, str | None]:
    """The id and exact user name of an active account named ``username`` (any case)."""
    if username is None or not username.strip():
        return None, None
    row = conn.execute(
        text("SELECT id, username, disabled_at FROM app_user WHERE lower(username) = lower(:u)"),
        {"u": username.strip()},
    ).one_or_none()
    if row is None:
        raise InvalidInputError(
            tr('owner was "{owner}" but no account has that user name', owner=username[:64])
        )
    if row.disabled_at is not None:
        raise InvalidInputError(
            tr('owner was "{owner}" but that account is disabled', owner=row.username)
        )
    return int(row.id), str(row.username)


def list_keys(conn: Connection) -> list[ApiKey]:
    """All keys, newest first, revoked ones included."""
    rows = conn.execute(
        text(
            "SELECT k.name, k.role, k.prefix, k.created_at, k.revoked_at, k.department_code, "
            "u.username AS owner FROM api_key k LEFT JOIN app_user u ON u.id = k.owner_id "
            "ORDER BY k.created_at DESC, k.id DESC"
        )
    )
    return [
        ApiKey(
            r.name, Role[r.role], r.prefix, r.created_at, r.revoked_at, r.department_code, r.owner
        )
        for r in rows
    ]


def revoke_key(conn: Connection, name: str, *, actor: str | None = None) -> ApiKey:
    """Revoke the key called ``name`` (idempotent); raises NotFoundError if none is.

    The first revocation is in the audit log, by ``actor``.
    """
    row = conn.execute(
        text(
            "UPDATE api_key SET revoked_at = coalesce(revoked_at, now()) WHERE name = :name "
            "RETURNING name, role, prefix, created_at, revoked_at, department_code, now() AS now"
        ),
        {"name": name},
    ).one_or_none()
    if row is None:
        raise NotFoundError(tr('no key is named "{name}"', name=name[:NAME_MAX]))
    if row.revoked_at == row.now:
        audit.record(conn, "key_revoked", None, actor=actor, key=row.name, role=row.role)
    # Delivered on commit: serving processes drop the keys they remember (see KeyCache).
    conn.execute(text("SELECT pg_notify(:channel, :name)"), {"channel": KEYS_CHANNEL, "name": name})
    return ApiKey(
        row.name, Role[row.role], row.prefix, row.created_at, row.revoked_at, row.department_code
    )


def authenticate(conn: Connection, key: str) -> Principal:
    """The principal a key stands for; AuthenticationError when unknown or revoked."""
    row = conn.execute(
        text(
            "SELECT k.name, k.role, k.revoked_at, k.department_code, u.username AS owner, "
            "u.disabled_at AS owner_disabled_at FROM api_key k "
            "LEFT JOIN app_user u ON u.id = k.owner_id WHERE k.key_hash = :hash"
        ),
        {"hash": hash_key(key.strip())},
    ).one_or_none()
    if row is None:
        raise AuthenticationError(tr("the API key is not known"))
    if row.revoked_at is not None:
        raise AuthenticationError(tr('the API key "{name}" was revoked', name=row.name))
    if row.owner_disabled_at is not None:
        raise AuthenticationError(
            tr(
                'the API key "{name}" acts for "{owner}", whose account is disabled',
                name=row.name,
                owner=row.owner,
            )
        )
    return Principal(row.name, Role[row.role], "key", row.department_code, row.owner)


#: PostgreSQL NOTIFY channel on which a revoked key is announced.
KEYS_CHANNEL = "geogrid_keys"


@dataclass(frozen=True)
class CachedKey:
    """A key's principal as last verified, and whether that is recent enough to trust."""

    principal: Principal
    fresh: bool


class KeyCache:
    """Keys a process has recently authenticated, so a request needs no key lookup.

    An entry is fresh for ``ttl_s`` seconds; after that the key is looked up again. A
    revocation empties the cache as soon as its NOTIFY arrives (``clear``), so a revoked key
    stops working within moments, and within ``ttl_s`` even if the notification were lost.
    Past its freshness an entry is kept ``outage_s`` seconds more: when the database cannot
    be asked, the caller may trust a key verified that recently (keys cannot
    be revoked while the database is down). Unknown and revoked keys are never remembered.
    """

    def __init__(self, ttl_s: float, outage_s: float = 0.0, max_entries: int = 10_000) -> None:
        self._ttl_s = ttl_s
        self._outage_s = outage_s
        self._max = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}  # hash -> (verified at, who)

    def get(self, key: str) -> CachedKey | None:
        found = self._entries.get(hash_key(key.strip()))
        if found is None:
            return None
        age = time.monotonic() - found[0]
        if age > self._ttl_s + self._outage_s:
            return None
        return CachedKey(found[1], fresh=age <= self._ttl_s)

    def put(self, key: str, principal: Principal) -> None:
        if self._ttl_s <= 0 and self._outage_s <= 0:
            return
        if len(self._entries) >= self._max:
            self._entries = {}
        self._entries[hash_key(key.strip())] = (time.monotonic(), principal)

    def clear(self) -> None:
        self._entries = {}
