"""Accounts, sign-in and lock-out against a real database (geogrid/access/users.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from geogrid.access import audit, passwords, sessions, users
from geogrid.access.roles import ROLE_PERMISSIONS, Permission, Role
from geogrid.errors import AccountLockedError, AuthenticationError, InvalidInputError
from geogrid.settings import AuthSettings

SETTINGS = AuthSettings(lockout_failures=3, lockout_failures_everywhere=7)
PASSWORD = "correct horse 1"


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        users.create_user(conn, "wang", Role.dispatcher, PASSWORD, SETTINGS, display_name="王五")
    yield engine
    engine.dispose()


def events(engine: Engine, username: str) -> list[str]:
    with engine.connect() as conn:
        return [e.event for e in reversed(audit.list_events(conn, username=username))]


def test_roles_are_sets_of_permissions_not_a_ladder() -> None:
    dispatcher, planner = ROLE_PERMISSIONS[Role.dispatcher], ROLE_PERMISSIONS[Role.planner]
    assert Permission.handle_cases in dispatcher and Permission.handle_cases not in planner
    assert Permission.edit_plans in planner and Permission.edit_plans not in dispatcher
    assert ROLE_PERMISSIONS[Role.viewer] == frozenset()
    assert ROLE_PERMISSIONS[Role.admin] == frozenset(Permission)


def test_the_password_is_stored_as_an_argon2id_hash(engine: Engine) -> None:
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM app_user")).scalar_one()
        dumped = conn.execute(text("SELECT string_agg(t::text, ' ') FROM app_user t")).scalar()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in dumped
    assert passwords.verify_password(PASSWORD, stored)[0]


def test_sign_in_checks_the_password_and_names_no_reason(engine: Engine) -> None:
    user = users.sign_in(engine, "WANG", PASSWORD, "10.0.0.1", SETTINGS)
    assert (user.username, user.role, user.last_sign_in_at is not None) == (
        "wang",
        Role.dispatcher,
        True,
    )
    messages = set()
    for name, password in (("wang", "wrong password"), ("nobody", PASSWORD)):
        with pytest.raises(AuthenticationError) as caught:
            users.sign_in(engine, name, password, "10.0.0.1", SETTINGS)
        messages.add(caught.value.message)
    assert messages == {"the user name or the password is wrong"}  # no oracle for names
    assert events(engine, "wang") == ["user_created", "sign_in", "sign_in_failed"]
    assert events(engine, "nobody") == ["sign_in_failed"]


def test_failures_lock_the_account_for_that_address_only(engine: Engine) -> None:
    for _ in range(SETTINGS.lockout_failures - 1):
        with pytest.raises(AuthenticationError):
            users.sign_in(engine, "wang", "guess", "10.6.6.6", SETTINGS)
    with pytest.raises(AccountLockedError) as locked:
        users.sign_in(engine, "wang", "guess", "10.6.6.6", SETTINGS)
    assert locked.value.until is not None and "locked until" in locked.value.message
    # locked: even the right password is refused from there, and nothing is verified
    with pytest.raises(AccountLockedError):
        users.sign_in(engine, "wang", PASSWORD, "10.6.6.6", SETTINGS)
    # the dispatcher's own desk is not locked out by someone who knows the name
    assert users.sign_in(engine, "wang", PASSWORD, "10.0.0.1", SETTINGS).username == "wang"
    with engine.connect() as conn:
        assert users.get_user(conn, "wang").locked_until is not None
    assert "locked_out" in events(engine, "wang")
    with engine.begin() as conn:
        users.unlock(conn, "wang", actor="admin")
        assert users.get_user(conn, "wang").locked_until is None
    assert users.sign_in(engine, "wang", PASSWORD, "10.6.6.6", SETTINGS).username == "wang"
    assert events(engine, "wang")[-2:] == ["unlocked", "sign_in"]


def test_a_guess_spread_over_many_addresses_locks_it_everywhere(engine: Engine) -> None:
    for n in range(SETTINGS.lockout_failures_everywhere):
        with pytest.raises(AuthenticationError):
            users.sign_in(engine, "wang", "guess", f"10.9.0.{n}", SETTINGS)
    with pytest.raises(AccountLockedError):
        users.sign_in(engine, "wang", PASSWORD, "10.0.0.1", SETTINGS)


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(engine: Engine) -> None:
    user = users.sign_in(engine, "wang", PASSWORD, "10.0.0.1", SETTINGS)
    with engine.begin() as conn:
        token = sessions.open_session(conn, user.id, "10.0.0.1")
        assert sessions.find_session(conn, token, SETTINGS) is not None
        users.set_disabled(conn, "wang", True, actor="admin")
        assert sessions.find_session(conn, token, SETTINGS) is None
    with pytest.raises(AuthenticationError, match="disabled"):
        users.sign_in(engine, "wang", PASSWORD, "10.0.0.1", SETTINGS)
    with engine.begin() as conn:
        users.set_disabled(conn, "wang", False, actor="admin")
    assert users.sign_in(engine, "wang", PASSWORD, "10.0.0.1", SETTINGS).active


def test_a_new_password_ends_every_session(engine: Engine) -> None:
    user = users.sign_in(engine, "wang", PASSWORD, "10.0.0.1", SETTINGS)
    with engine.begin() as conn:
        token = sessions.open_session(conn, user.id, "10.0.0.1")
        users.reset_password(conn, "wang", "a new secret 2", SETTINGS, actor="admin")
        assert sessions.find_session(conn, token, SETTINGS) is None
    with pytest.raises(AuthenticationError):
        users.sign_in(engine, "wang", PASSWORD, "10.0.0.1", SETTINGS)
    users.sign_in(engine, "wang", "a new secret 2", "10.0.0.1", SETTINGS)


def test_sessions_expire_when_idle_and_when_old(engine: Engine) -> None:
    user = users.sign_in(engine, "wang", PASSWORD, "10.0.0.1", SETTINGS)
    with engine.begin() as conn:
        idle = sessions.open_session(conn, user.id, "a")
        old = sessions.open_session(conn, user.id, "a")
        live = sessions.open_session(conn, user.id, "a")
        conn.execute(
            text(
                "UPDATE user_session SET last_seen_at = now() - interval '31 minutes' "
                "WHERE token_hash = :h"
            ),
            {"h": sessions.hash_token(idle)},
        )
        conn.execute(
            text(
                "UPDATE user_session SET created_at = now() - interval '13 hours' "
                "WHERE token_hash = :h"
            ),
            {"h": sessions.hash_token(old)},
        )
        assert sessions.find_session(conn, idle, SETTINGS) is None
        assert sessions.find_session(conn, old, SETTINGS) is None
        found = sessions.find_session(conn, live, SETTINGS)
        assert found is not None and found.principal.name == "wang"
        assert found.csrf_token == sessions.csrf_token(live) != sessions.csrf_token(old)
        assert sessions.end_session(conn, live) == user.id
        assert sessions.find_session(conn, live, SETTINGS) is None
        stored = conn.execute(text("SELECT string_agg(token_hash, ' ') FROM user_session"))
        assert live not in stored.scalar_one()


@pytest.mark.parametrize(
    "name, password, complaint",
    [
        ("x", PASSWORD, "user name"),
        ("has space", PASSWORD, "user name"),
        ("li", "short", "at least"),
        ("zhaoliu1234", "ZHAOLIU1234", "must not be the user name"),
        ("wang", PASSWORD, "exists already"),
        ("WANG", PASSWORD, "exists already"),
    ],
)
def test_bad_accounts_are_refused(engine: Engine, name: str, password: str, complaint: str) -> None:
    with engine.begin() as conn, pytest.raises(InvalidInputError, match=complaint):
        users.create_user(conn, name, Role.viewer, password, SETTINGS)


def test_a_reporter_reports_cases_and_nothing_else() -> None:
    assert ROLE_PERMISSIONS[Role.reporter] == frozenset({Permission.report_cases})


def test_an_account_says_who_its_person_is(engine: Engine) -> None:
    with engine.begin() as conn:
        with pytest.raises(InvalidInputError) as bad:
            users.create_user(conn, "li", Role.reporter, PASSWORD, SETTINGS, phone="12345")
        assert "12345" in bad.value.message
        rider = users.create_user(
            conn, "li", Role.reporter, PASSWORD, SETTINGS, display_name="李四", phone="13912345678"
        )
        assert (rider.display_name, rider.phone) == ("李四", "13912345678")
        changed = users.set_person(conn, "LI", "李小四", " 0551-62345678 ", actor="admin")
        assert (changed.display_name, changed.phone) == ("李小四", "0551-62345678")
        kept = users.set_person(conn, "li", None, "", actor="admin")  # no phone; the name kept
        assert (kept.display_name, kept.phone) == ("李小四", None)
        # the department change and the person change are both in the audit log
        users.set_department(conn, "wang", None, actor="admin")
    assert events(engine, "li")[-2:] == ["person_changed", "person_changed"]
    assert events(engine, "wang")[-1] == "department_changed"
    with engine.connect() as conn:
        details = audit.list_events(conn, username="li")[1].details
    assert details["phone"] == "055******5678"  # the log masks the phone it records
