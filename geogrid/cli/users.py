"""``geogrid users``: the people who sign in to the console.

The first admin of a district is created here (``geogrid users create NAME --role admin``);
after that admins manage accounts in the console too. A password is read from standard input
when that is not a terminal (``echo "$PW" | geogrid users create ...``), else asked twice
without echo; it is never an argument, so it never lands in a shell history or ``ps``.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.table import Table

from geogrid.access import users
from geogrid.access.roles import ROLE_ZH, Role
from geogrid.cli.support import console, err, errors, fail, transaction
from geogrid.settings import AuthSettings

users_app = typer.Typer(help="People who sign in to the console.", no_args_is_help=True)
ACTOR = "geogrid cli"


def _password() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line.strip():
            raise fail("no password on standard input")
        return line.rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise fail("the two passwords differ")
    return first


def _role(name: str) -> Role:
    try:
        return Role.parse(name)
    except ValueError as exc:
        raise fail(str(exc)) from None


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="User name (what they type at sign-in).")],
    role: Annotated[
        str,
        typer.Option(help="viewer, dispatcher, planner, handler, supervisor, admin or reporter."),
    ],
    display_name: Annotated[str, typer.Option(help="Full name shown in the console.")] = "",
    department: Annotated[
        str | None, typer.Option(help="The department (code) a handler acts for.")
    ] = None,
    phone: Annotated[
        str | None,
        typer.Option(help="Their phone: with the display name, how the registers know them."),
    ] = None,
) -> None:
    """Create an account; the password comes from standard input (or is asked for)."""
    parsed = _role(role)
    password = _password()
    with errors(), transaction() as conn:
        user = users.create_user(
            conn,
            name,
            parsed,
            password,
            AuthSettings(),
            display_name=display_name,
            actor=ACTOR,
            department=department,
            phone=phone,
        )
    err.print(f'user "{user.username}" ({ROLE_ZH[user.role]} {user.role.name}) created')


@users_app.command("list")
def users_list() -> None:
    """List accounts (never their passwords)."""
    with errors(), transaction() as conn:
        found = users.list_users(conn)
    table = Table("name", "display name", "phone", "role", "status", "last sign-in")
    for u in found:
        status = "disabled" if u.disabled_at else "active"
        if u.locked_until is not None:
            status += f", locked until {u.locked_until.astimezone():%Y-%m-%d %H:%M}"
        table.add_row(
            u.username,
            u.display_name,
            u.phone or "",
            u.role.name,
            status,
            "" if u.last_sign_in_at is None else f"{u.last_sign_in_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Disable an account: its sessions end at once and it cannot sign in."""
    with errors(), transaction() as conn:
        users.set_disabled(conn, name, True, actor=ACTOR)
    console.print(f'user "{name}" disabled')


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Enable a disabled account again."""
    with errors(), transaction() as conn:
        users.set_disabled(conn, name, False, actor=ACTOR)
    console.print(f'user "{name}" enabled')


@users_app.command("reset-password")
def users_reset_password(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Set a new password (from standard input, or asked for); every session ends."""
    password = _password()
    with errors(), transaction() as conn:
        users.reset_password(conn, name, password, AuthSettings(), actor=ACTOR)
    console.print(f'password of "{name}" reset; its sessions have ended')


@users_app.command("unlock")
def users_unlock(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Lift a lock-out after failed sign-ins."""
    with errors(), transaction() as conn:
        users.unlock(conn, name, actor=ACTOR)
    console.print(f'user "{name}" unlocked')


@users_app.command("set-role")
def users_set_role(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[
        str,
        typer.Option(help="viewer, dispatcher, planner, handler, supervisor, admin or reporter."),
    ],
) -> None:
    """Give an account another role (effective from its next request)."""
    parsed = _role(role)
    with errors(), transaction() as conn:
        users.set_role(conn, name, parsed, actor=ACTOR)
    console.print(f'user "{name}" is now {parsed.name}')


@users_app.command("set-person")
def users_set_person(
    name: Annotated[str, typer.Argument(help="User name.")],
    phone: Annotated[str, typer.Option(help="Their phone; empty for none.")],
    display_name: Annotated[
        str | None, typer.Option(help="Their name as the registers spell it.")
    ] = None,
) -> None:
    """Say who an account's person is (name and phone): a mobile grid's member so named in
    the register reports as one."""
    with errors(), transaction() as conn:
        user = users.set_person(conn, name, display_name, phone, actor=ACTOR)
    console.print(f'user "{user.username}" is {user.display_name} {user.phone or ""}'.rstrip())
