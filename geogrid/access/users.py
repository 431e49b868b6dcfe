"""People who sign in: accounts, their passwords, sign-in with lock-out.

A failed sign-in counts against the account *from that client address*: after
``lockout_failures`` in a row the account is locked for that address for ``lockout_minutes``,
so someone who knows a dispatcher's user name can lock it only for themselves, never for the
dispatcher's own desk. Failures from every address together past
``lockout_failures_everywhere`` lock it everywhere (a guess spread over many addresses), and
every address also has a budget of failed sign-ins whatever the name (``failed_sign_in``,
geogrid.access.ratelimits), against password spraying. An admin unlocks at once. Every sign-in,
failure, lock-out and account change is in the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from geogrid.access import audit
from geogrid.access.keys import KEYS_CHANNEL
from geogrid.access.passwords import check_password, hash_password, verify_password
from geogrid.access.ratelimits import Budget, RateLimits
from geogrid.access.roles import Role, check_handler_department, mask_phone
from geogrid.errors import (
    AccountLockedError,
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from geogrid.i18n import tr
from geogrid.moments import LOCAL
from geogrid.responsibility.departments import get_department
from geogrid.settings import AuthSettings

#: Letters (any script), digits and . _ - @; 2 to 64 of them.
USERNAME = re.compile(r"[\w.@-]{2,64}")
#: A person's phone as the registers hold it: an 11-digit mainland mobile, or a landline with
#: its area code (geogrid.organisations.records.PHONE).
PHONE = re.compile(r"1[3-9][0-9]{9}|0[0-9]{2,3}-[0-9]{7,8}")


@dataclass(frozen=True)
class User:
    """An account, without its password hash."""

    id: int
    username: str
    display_name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None
    last_sign_in_at: datetime | None
    locked_until: datetime | None = None  # the latest lock-out still running, any address
    #: the department a handler acts for (geogrid.cases.duties)
    department: str | None = None
    #: the phone of the person the account stands for; with the display name, how the
    #: registers know them (a mobile grid's member: geogrid.organisations)
    phone: str | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


_USER_COLUMNS = (
    "u.id, u.username, u.display_name, u.role, u.created_at, u.disabled_at, u.last_sign_in_at, "
    "u.department_code AS department, u.phone, (SELECT max(f.locked_until) FROM sign_in_failure f "
    " WHERE f.user_id = u.id AND f.locked_until > now()) AS locked_until"
)


def _user(row: Any) -> User:
    values = dict(row._mapping)
    values["role"] = Role[values["role"]]
    return User(**values)


def check_username(username: str) -> str:
    name = username.strip()
    if not USERNAME.fullmatch(name):
        raise InvalidInputError(
            tr(
                'user name was "{name}" but must be 2 to 64 letters, digits or . _ - @',
                name=name[:80],
            )
        )
    return name


def create_user(
    conn: Connection,
    username: str,
    role: Role,
    password: str,
    settings: AuthSettings,
    *,
    display_name: str = "",
    actor: str | None = None,
    department: str | None = None,
    phone: str | None = None,
) -> User:
    """Create an account (user names are unique, whatever their case), tied to ``department``
    when given (a handler acts only on that department's cases). ``phone`` is its person's
    phone: with ``display_name`` as the register spells the name, a mobile grid's member
    reporting with this account is known as one (:func:`set_phone`)."""
    name = check_username(username)
    check_password(password, name, settings.password_min_length)
    department = check_handler_department(conn, role, department)
    phone = _phone(phone)
    try:
        with conn.begin_nested():
            row = conn.execute(
                text(
                    "INSERT INTO app_user (username, display_name, role, password_hash, "
                    "department_code, phone) "
                    "VALUES (:name, :display, :role, :hash, :department, :phone) RETURNING id"
                ),
                {
                    "name": name,
                    "display": display_name.strip()[:100],
                    "role": role.name,
                    "hash": hash_password(password),
                    "department": department,
                    "phone": phone,
                },
            ).one()
    except IntegrityError:
        raise InvalidInputError(
            tr('a user named "{name}" exists already; user names are unique', name=name)
        ) from None
    audit.record(conn, "user_created", name, actor=actor, role=role.name)
    return get_user_by_id(conn, row.id)


def get_user(conn: Connection, username: str) -> User:
    """The account called ``username`` (any case); NotFoundError when there is none."""
    row = conn.execute(
        text(f"SELECT {_USER_COLUMNS} FROM app_user u WHERE lower(u.username) = lower(:name)"),
        {"name": username.strip()},
    ).one_or_none()
    if row is None:
        raise NotFoundError(tr('no user is named "{name}"', name=username.strip()[:80]))
    return _user(row)


def get_user_by_id(conn: Connection, user_id: int) -> User:
    row = conn.execute(
        text(f"SELECT {_USER_COLUMNS} FROM app_user u WHERE u.id = :id"), {"id": user_id}
    ).one()
    return _user(row)


def list_users(conn: Connection) -> list[User]:
    """Every account, by user name."""
    rows = conn.execute(text(f"SELECT {_USER_COLUMNS} FROM app_user u ORDER BY lower(username)"))
    return [_user(r) for r in rows]


def set_disabled(conn: Connection, username: str, disabled: bool, *, actor: str | None) -> User:
    """Disable an account (its sessions end at once) or enable it again (idempotent).

    Refused (ConflictError) for the ``actor``'s own account and for the last active admin:
    the district must never be left without someone who can manage accounts.
    """
    user = get_user(conn, username)
    if disabled:
        _keep_an_admin(conn, user, actor, disabling=True)
    conn.execute(
        text(
            "UPDATE app_user SET disabled_at = CASE WHEN :disabled "
            "THEN coalesce(disabled_at, now()) END WHERE id = :id"
        ),
        {"disabled": disabled, "id": user.id},
    )
    if disabled:
        end_sessions_of(conn, user.id)
        # the keys it owns stop at once too: every process forgets the keys it remembers
        conn.execute(
            text("SELECT pg_notify(:channel, :name)"),
            {"channel": KEYS_CHANNEL, "name": user.username},
        )
    audit.record(conn, "user_disabled" if disabled else "user_enabled", user.username, actor=actor)
    return get_user_by_id(conn, user.id)


def set_role(conn: Connection, username: str, role: Role, *, actor: str | None) -> User:
    """Give an account another role; its sessions carry the new one from the next request.

    Taking the admin role from the ``actor``'s own account or from the last active admin is
    refused (ConflictError), as for :func:`set_disabled`.
    """
    user = get_user(conn, username)
    if role is not Role.admin:
        _keep_an_admin(conn, user, actor, disabling=False)
    conn.execute(
        text("UPDATE app_user SET role = :role WHERE id = :id"), {"role": role.name, "id": user.id}
    )
    audit.record(
        conn, "role_changed", user.username, actor=actor, old=user.role.name, new=role.name
    )
    return get_user_by_id(conn, user.id)


def set_department(
    conn: Connection, username: str, department: str | None, *, actor: str | None
) -> User:
    """Tie an account to a department (a handler acts only on its cases), or untie it (None);
    its sessions carry the change from the next request."""
    user = get_user(conn, username)
    code = None if department is None else get_department(conn, department).code
    conn.execute(
        text("UPDATE app_user SET department_code = :d WHERE id = :id"), {"d": code, "id": user.id}
    )
    audit.record(
        conn, "department_changed", user.username, actor=actor, old=user.department, new=code
    )
    return get_user_by_id(conn, user.id)


def _phone(phone: str | None) -> str | None:
    """A person's phone as the registers hold it (None or blank: none)."""
    if phone is None or not phone.strip():
        return None
    if not PHONE.fullmatch(phone.strip()):
        raise InvalidInputError(
            tr(
                'phone was "{phone}" but must be an 11-digit mobile (1[3-9] and 9 digits) or a '
                "landline with its area code such as 0551-62345678",
                phone=phone.strip()[:30],
            )
        )
    return phone.strip()


def set_person(
    conn: Connection,
    username: str,
    display_name: str | None,
    phone: str | None,
    *,
    actor: str | None,
) -> User:
    """Say who the account's person is: their name (the display name; None keeps it) and
    phone (None or blank: none).

    The registers know a person by name and phone (geogrid.organisations), so an account
    whose display name and phone are a mobile grid member's reports as that member: its
    cases — and those of the keys it owns — carry the mobile grid the register gives the
    person at each report's time. Nothing links to a register row, which a reload replaces.
    """
    user = get_user(conn, username)
    name = user.display_name if display_name is None else display_name.strip()[:100]
    number = _phone(phone)
    conn.execute(
        text("UPDATE app_user SET display_name = :n, phone = :p WHERE id = :id"),
        {"n": name, "p": number, "id": user.id},
    )
    audit.record(
        conn,
        "person_changed",
        user.username,
        actor=actor,
        display_name=name,
        phone=mask_phone(number),
    )
    return get_user_by_id(conn, user.id)


def reset_password(
    conn: Connection, username: str, password: str, settings: AuthSettings, *, actor: str | None
) -> User:
    """Set a new password: every session of the account ends and its lock-outs lift."""
    user = get_user(conn, username)
    check_password(password, user.username, settings.password_min_length)
    conn.execute(
        text(
            "UPDATE app_user SET password_hash = :hash, password_changed_at = now() WHERE id = :id"
        ),
        {"hash": hash_password(password), "id": user.id},
    )
    end_sessions_of(conn, user.id)
    conn.execute(text("DELETE FROM sign_in_failure WHERE user_id = :id"), {"id": user.id})
    audit.record(conn, "password_reset", user.username, actor=actor)
    return get_user_by_id(conn, user.id)


def unlock(conn: Connection, username: str, *, actor: str | None) -> User:
    """Lift every lock-out of an account and forget its failed sign-ins."""
    user = get_user(conn, username)
    conn.execute(text("DELETE FROM sign_in_failure WHERE user_id = :id"), {"id": user.id})
    audit.record(conn, "unlocked", user.username, actor=actor)
    return get_user_by_id(conn, user.id)


def _keep_an_admin(conn: Connection, user: User, actor: str | None, *, disabling: bool) -> None:
    """Refuse to take ``user`` out of the active admins (by disabling the account or by
    another role) when ``actor`` is ``user`` or when no other active admin would remain."""
    if user.role is not Role.admin or not user.active:
        return
    if actor is not None and actor.strip().lower() == user.username.lower():
        raise ConflictError(
            tr("you cannot disable your own account; ask another administrator")
            if disabling
            else tr(
                "you cannot take the admin role from your own account; ask another administrator"
            )
        )
    # Locks every active admin's row: two admins demoting each other at once cannot both pass.
    admins = conn.execute(
        text("SELECT id FROM app_user WHERE role = 'admin' AND disabled_at IS NULL FOR UPDATE")
    ).all()
    if len(admins) <= 1:
        raise ConflictError(
            tr(
                '"{name}" is the last active administrator and must stay one; '
                "make another account an administrator first",
                name=user.username,
            )
        )


def end_sessions_of(conn: Connection, user_id: int) -> None:
    conn.execute(
        text("UPDATE user_session SET ended_at = now() WHERE user_id = :id AND ended_at IS NULL"),
        {"id": user_id},
    )


_LOCK = text(
    """
    SELECT greatest(
        (SELECT locked_until FROM sign_in_failure
         WHERE user_id = :id AND address = :address AND locked_until > now()),
        (SELECT max(last_failed_at) + make_interval(secs => :window_s) FROM sign_in_failure
         WHERE user_id = :id AND last_failed_at > now() - make_interval(secs => :window_s)
         HAVING sum(failures) >= :everywhere)
    ) AS until
    """
)
_FAIL = text(
    """
    INSERT INTO sign_in_failure AS f (user_id, address, failures, last_failed_at)
    VALUES (:id, :address, 1, now())
    ON CONFLICT (user_id, address) DO UPDATE SET
        failures = CASE WHEN f.last_failed_at < now() - make_interval(secs => :window_s)
                        THEN 1 ELSE f.failures + 1 END,
        last_failed_at = now()
    RETURNING failures
    """
)


def sign_in(
    engine: Engine,
    username: str,
    password: str,
    address: str,
    settings: AuthSettings,
    limits: RateLimits | None = None,
) -> User:
    """The account ``username`` names, when ``password`` is its password and it may sign in.

    Raises
    ------
    RateLimitedError
        This address has failed too often today, whatever the names (429).
    AccountLockedError
        The account is locked for this address (or everywhere) until ``until`` (401).
    AuthenticationError
        Wrong name or password (one message for both), or a disabled account (401).
    """
    ident = f"address:{address}"
    if limits is not None:
        limits.check(Budget.failed_sign_in, ident)
    window_s = settings.lockout_minutes * 60
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT id, username, password_hash, disabled_at FROM app_user "
                "WHERE lower(username) = lower(:name)"
            ),
            {"name": username.strip()},
        ).one_or_none()
        until = None
        if row is not None:
            until = conn.execute(
                _LOCK,
                {
                    "id": row.id,
                    "address": address,
                    "window_s": window_s,
                    "everywhere": settings.lockout_failures_everywhere,
                },
            ).scalar_one()
        if row is not None and until is not None:
            audit.record(conn, "sign_in_failed", row.username, address=address, reason="locked")
    if until is not None:
        raise _locked(until)
    ok, new_hash = verify_password(password, None if row is None else row.password_hash)
    if not ok or row is None or row.disabled_at is not None:
        _failed(engine, row, username, address, ok, settings, limits)
    assert row is not None
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM sign_in_failure WHERE user_id = :id AND address = :address"),
            {"id": row.id, "address": address},
        )
        conn.execute(
            text(
                "UPDATE app_user SET last_sign_in_at = now(), "
                "password_hash = coalesce(:hash, password_hash) WHERE id = :id"
            ),
            {"id": row.id, "hash": new_hash},
        )
        audit.record(conn, "sign_in", row.username, address=address)
        return get_user_by_id(conn, row.id)


def _locked(until: datetime) -> AccountLockedError:
    return AccountLockedError(
        tr(
            "too many failed sign-ins: this account is locked until {until} "
            "(an administrator can unlock it sooner)",
            until=f"{until.astimezone(LOCAL):%Y-%m-%d %H:%M}",
        ),
        until=until,
    )


def _failed(
    engine: Engine,
    row: Any,
    username: str,
    address: str,
    password_ok: bool,
    settings: AuthSettings,
    limits: RateLimits | None,
) -> None:
    """Count a failed sign-in (in a transaction of its own) and raise."""
    until = None
    with engine.begin() as conn:
        if row is None:
            audit.record(
                conn, "sign_in_failed", username.strip()[:80], address=address, reason="unknown"
            )
        elif password_ok:  # the right password of a disabled account: not a guess
            audit.record(conn, "sign_in_failed", row.username, address=address, reason="disabled")
        else:
            name = row.username
            failures = conn.execute(
                _FAIL, {"id": row.id, "address": address, "window_s": settings.lockout_minutes * 60}
            ).scalar_one()
            audit.record(
                conn, "sign_in_failed", name, address=address, reason="password", failures=failures
            )
            if failures >= settings.lockout_failures:
                until = conn.execute(
                    text(
                        "UPDATE sign_in_failure SET locked_until = now() + "
                        "make_interval(secs => :window_s) "
                        "WHERE user_id = :id AND address = :address RETURNING locked_until"
                    ),
                    {"id": row.id, "address": address, "window_s": settings.lockout_minutes * 60},
                ).scalar_one()
                audit.record(conn, "locked_out", name, address=address, until=until.isoformat())
    if limits is not None and not password_ok:
        limits.spend(Budget.failed_sign_in, f"address:{address}")
    if until is not None:
        raise _locked(until)
    if row is not None and password_ok:
        raise AuthenticationError(tr("this account is disabled; ask an administrator to enable it"))
    raise AuthenticationError(tr("the user name or the password is wrong"))
