"""Configured webhooks: where events go, the secret that signs them, which kinds.

SMS and WeChat gateways sit behind a webhook (docs/notifications.md): geogrid speaks one
signed HTTP protocol and a small adapter turns it into texts or template messages.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from geogrid.errors import ConflictError, InvalidInputError, NotFoundError
from geogrid.i18n import tr
from geogrid.notify.outbox import KINDS

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: URLs and secrets: printable ASCII, no spaces (what an HTTP client and a header can carry).
_PRINTABLE = re.compile(r"[!-~]{1,2000}")
#: The shortest secret accepted: HMAC-SHA256 keys shorter than this are guessable.
MIN_SECRET = 16


@dataclass(frozen=True)
class Webhook:
    """A webhook as stored; ``secret`` is only filled where it must be (signing, creating)."""

    id: int
    name: str
    url: str
    kinds: tuple[str, ...]
    active: bool
    created_at: datetime
    created_by: str
    secret: str = ""


def check_webhook(name: str, url: str, kinds: list[str], secret: str | None) -> None:
    """Raise InvalidInputError naming the first bad value of a webhook to add."""
    if not _NAME.fullmatch(name):
        raise InvalidInputError(
            tr(
                'webhook name was "{name}" but must be 1-64 letters, digits, "_", "." or "-"',
                name=name,
            )
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        usable = False
    if not usable or not _PRINTABLE.fullmatch(url):
        raise InvalidInputError(
            tr('webhook url was "{url}" but must be an http:// or https:// address', url=url)
        )
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise InvalidInputError(
            tr(
                "event kinds {unknown} are unknown; the kinds are {allowed}",
                unknown=unknown,
                allowed=sorted(KINDS),
            )
        )
    if secret is not None and (len(secret) < MIN_SECRET or not _PRINTABLE.fullmatch(secret)):
        raise InvalidInputError(
            tr(
                "a webhook secret must be at least {min} printable ASCII characters without spaces",
                min=MIN_SECRET,
            )
        )


def add_webhook(
    conn: Connection,
    name: str,
    url: str,
    *,
    kinds: list[str] | None = None,
    secret: str | None = None,
    actor: str,
) -> Webhook:
    """Add a webhook; it receives events emitted from now on (of ``kinds``, or all).

    Without a ``secret`` one is made; the returned webhook carries it, to be given to the
    receiver once (it is never listed again).

    Raises
    ------
    InvalidInputError
        A bad name, url, kind or secret (422).
    ConflictError
        A webhook of that name exists (409).
    """
    kinds = sorted(set(kinds or []))
    check_webhook(name, url, kinds, secret)
    secret = secret or secrets.token_urlsafe(32)
    try:
        with conn.begin_nested():
            row = conn.execute(
                text(
                    "INSERT INTO notify_webhook (name, url, secret, kinds, created_by) "
                    "VALUES (:name, :url, :secret, CAST(:kinds AS text[]), :actor) "
                    "RETURNING id, created_at"
                ),
                {"name": name, "url": url, "secret": secret, "kinds": kinds, "actor": actor},
            ).one()
    except IntegrityError:
        raise ConflictError(tr('a webhook named "{name}" exists already', name=name)) from None
    return Webhook(row.id, name, url, tuple(kinds), True, row.created_at, actor, secret)


def list_webhooks(conn: Connection) -> list[Webhook]:
    """Every webhook, by name (without secrets)."""
    rows = conn.execute(
        text(
            "SELECT id, name, url, kinds, active, created_at, created_by FROM notify_webhook "
            "ORDER BY name"
        )
    )
    return [
        Webhook(r.id, r.name, r.url, tuple(r.kinds), r.active, r.created_at, r.created_by)
        for r in rows
    ]


def _named(conn: Connection, name: str) -> int:
    found = conn.execute(
        text("SELECT id FROM notify_webhook WHERE name = :n FOR UPDATE"), {"n": name}
    ).scalar()
    if found is None:
        raise NotFoundError(tr('there is no webhook named "{name}"', name=name))
    return int(found)


def set_active(conn: Connection, name: str, active: bool) -> None:
    """Pause (deliveries wait, nothing is lost) or resume a webhook.

    Raises NotFoundError naming the webhook when there is none of that name.
    """
    conn.execute(
        text("UPDATE notify_webhook SET active = :a WHERE id = :id"),
        {"a": active, "id": _named(conn, name)},
    )


def remove_webhook(conn: Connection, name: str) -> int:
    """Remove a webhook and its deliveries (sent or not); returns how many were pending.

    Raises NotFoundError naming the webhook when there is none of that name.
    """
    webhook_id = _named(conn, name)
    pending = conn.execute(
        text("SELECT count(*) FROM notify_delivery WHERE webhook_id = :id AND status = 'pending'"),
        {"id": webhook_id},
    ).scalar_one()
    conn.execute(text("DELETE FROM notify_webhook WHERE id = :id"), {"id": webhook_id})
    return int(pending)
