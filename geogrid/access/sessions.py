"""Sign-in sessions: a random token in an HttpOnly, SameSite cookie; only its hash is stored.

A session ends when its user signs out, when it has been idle ``session_idle_minutes``, when
it is ``session_absolute_hours`` old, and at once when its user is disabled or given a new
password: every request looks its session up (one indexed query), so none of this waits for
a cache to expire. Each sign-in opens a new session with a new token (no session fixation).

CSRF: a write carrying the cookie must also carry the session's CSRF token (a header or a form
field). The token is an HMAC of the session token, so it needs no storage of its own, changes
with every session, and cannot be computed without the cookie a cross-site page cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from geogrid.access.roles import Principal, Role
from geogrid.settings import AuthSettings

#: The cookie's name.
COOKIE = "geogrid_session"
#: Where a write sends the CSRF token: this header, or a form field of this name.
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: last_seen_at is written at most this often (idle expiry is that precise), so reading pages
#: does not write a row per request.
TOUCH_S = 30


@dataclass(frozen=True)
class SignedIn:
    """A live session: who, since when, and the CSRF token its writes must carry."""

    user_id: int
    username: str
    display_name: str
    role: Role
    created_at: datetime
    csrf_token: str
    department: str | None = None

    @property
    def principal(self) -> Principal:
        return Principal(self.username, self.role, "user", self.department)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(token: str) -> str:
    """The CSRF token of the session whose cookie holds ``token``."""
    return hmac.new(token.encode(), b"geogrid csrf", hashlib.sha256).hexdigest()


def csrf_matches(token: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(csrf_token(token), sent.strip())


def open_session(conn: Connection, user_id: int, address: str) -> str:
    """A new session for ``user_id``; returns its token (for the cookie, never stored)."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        text(
            "INSERT INTO user_session (token_hash, user_id, address) "
            "VALUES (:hash, :user_id, :address)"
        ),
        {"hash": hash_token(token), "user_id": user_id, "address": address[:200]},
    )
    return token


_FIND = text(
    """
    SELECT s.user_id, u.username, u.display_name, u.role, s.created_at, s.last_seen_at,
           u.department_code
    FROM user_session s JOIN app_user u ON u.id = s.user_id
    WHERE s.token_hash = :hash AND s.ended_at IS NULL AND u.disabled_at IS NULL
      AND s.last_seen_at > now() - make_interval(secs => :idle_s)
      AND s.created_at > now() - make_interval(secs => :absolute_s)
    """
)


def find_session(conn: Connection, token: str, settings: AuthSettings) -> SignedIn | None:
    """The live session whose cookie holds ``token``, or None (unknown, ended, expired, or
    its user disabled). Marks it used (at most every ``TOUCH_S`` seconds)."""
    if not token or len(token) > 100:
        return None
    token_hash = hash_token(token)
    row = conn.execute(
        _FIND,
        {
            "hash": token_hash,
            "idle_s": settings.session_idle_minutes * 60,
            "absolute_s": settings.session_absolute_hours * 3600,
        },
    ).one_or_none()
    if row is None:
        return None
    conn.execute(
        text(
            "UPDATE user_session SET last_seen_at = now() WHERE token_hash = :hash "
            "AND last_seen_at < now() - make_interval(secs => :touch_s)"
        ),
        {"hash": token_hash, "touch_s": TOUCH_S},
    )
    return SignedIn(
        row.user_id,
        row.username,
        row.display_name,
        Role[row.role],
        row.created_at,
        csrf_token(token),
        row.department_code,
    )


def end_session(conn: Connection, token: str) -> int | None:
    """End the session of ``token`` (sign-out); returns its user's id, None if none was open."""
    return conn.execute(
        text(
            "UPDATE user_session SET ended_at = now() "
            "WHERE token_hash = :hash AND ended_at IS NULL RETURNING user_id"
        ),
        {"hash": hash_token(token)},
    ).scalar_one_or_none()
