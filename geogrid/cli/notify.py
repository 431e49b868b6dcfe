"""``geogrid notify``: webhooks, the delivery worker and the outbox's state.

Run as many ``geogrid notify run`` workers as you like, on as many hosts as you like, against
one database: they share the work without sending an event twice (docs/notifications.md).
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Any

import typer
from rich.table import Table

from geogrid import db, notify
from geogrid.cli.support import console, database, err, errors, transaction
from geogrid.settings import NotifySettings

notify_app = typer.Typer(help="Notifications: webhooks and their delivery.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Where events are sent.", no_args_is_help=True)
notify_app.add_typer(webhooks_app, name="webhooks")
ACTOR = "geogrid cli"


@webhooks_app.command("add")
def webhooks_add(
    name: Annotated[str, typer.Argument(help="A short name (letters, digits, _ . -).")],
    url: Annotated[str, typer.Argument(help="The http(s) address events are POSTed to.")],
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="An event kind to send (repeat); none: every kind."),
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(help="The signing secret (16+ characters); unset: one is made and shown."),
    ] = None,
) -> None:
    """Add a webhook; it receives the events emitted from now on."""
    with errors(), transaction() as conn:
        hook = notify.add_webhook(conn, name, url, kinds=kind or [], secret=secret, actor=ACTOR)
    err.print(f'webhook "{hook.name}" added: {hook.url} ({", ".join(hook.kinds) or "every kind"})')
    if secret is None:
        err.print("its signing secret (give it to the receiver; it is not shown again):")
        console.print(hook.secret, highlight=False)


@webhooks_app.command("list")
def webhooks_list() -> None:
    """List webhooks with their delivery state (never their secrets)."""
    with errors(), transaction() as conn:
        state = notify.outbox_status(conn)
    table = Table(
        "name", "url", "kinds", "active", "pending", "failing", "delivered", "dead", "last error"
    )
    for h in state.webhooks:
        table.add_row(
            h.name,
            h.url,
            ", ".join(h.kinds) or "all",
            "yes" if h.active else "paused",
            str(h.pending),
            str(h.failing),
            str(h.delivered),
            str(h.dead),
            h.last_error or "",
        )
    console.print(table)


@webhooks_app.command("remove")
def webhooks_remove(name: Annotated[str, typer.Argument(help="The webhook's name.")]) -> None:
    """Remove a webhook and its deliveries (pending ones are dropped: say so first)."""
    with errors(), transaction() as conn:
        dropped = notify.remove_webhook(conn, name)
    err.print(f'webhook "{name}" removed ({dropped} pending deliveries dropped)')


@webhooks_app.command("pause")
def webhooks_pause(name: Annotated[str, typer.Argument(help="The webhook's name.")]) -> None:
    """Stop sending to a webhook; its deliveries wait (nothing is lost) until it resumes."""
    with errors(), transaction() as conn:
        notify.set_active(conn, name, False)
    err.print(f'webhook "{name}" paused')


@webhooks_app.command("resume")
def webhooks_resume(name: Annotated[str, typer.Argument(help="The webhook's name.")]) -> None:
    """Send to a paused webhook again, starting with what waited."""
    with errors(), transaction() as conn:
        notify.set_active(conn, name, True)
    err.print(f'webhook "{name}" resumed')


@notify_app.command("run")
def notify_run(
    until_idle: Annotated[
        bool,
        typer.Option("--until-idle", help="Stop once nothing is pending (retries included)."),
    ] = False,
    max_seconds: Annotated[
        float | None, typer.Option(help="Stop after this many seconds whatever is left.")
    ] = None,
    warn_every: Annotated[
        float,
        typer.Option(
            help="Also give the cases' yellow and red warnings every this many seconds "
            "(geogrid cases warn; they go out as case.warning); 0: not here.",
            min=0,
        ),
    ] = 60.0,
) -> None:
    """Deliver the outbox to the webhooks until stopped (Ctrl-C, SIGTERM), and give the
    cases' warnings as they fall due."""
    url = database()
    engine = db.make_engine(url, pool_size=3)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if warn_every and not until_idle:
        threading.Thread(
            target=_warn, args=(engine, stop, warn_every), name="warnings", daemon=True
        ).start()
    shown = {"failed": 0, "dead": 0}

    def report(tally: notify.Tally) -> None:
        # a line when something fails (a webhook down), not one per round of a healthy outbox
        if (tally.failed, tally.dead) != (shown["failed"], shown["dead"]):
            last = tally.errors[-1] if tally.errors else ""
            err.print(
                f"delivered {tally.delivered}, failed {tally.failed} (to be retried), "
                f"dead {tally.dead}; last error: {last}",
                highlight=False,
                markup=False,
            )
            shown.update(failed=tally.failed, dead=tally.dead)

    try:
        tally = notify.run_worker(
            engine,
            NotifySettings(),
            stop=stop,
            until_idle=until_idle,
            max_seconds=max_seconds,
            on_round=report,
        )
    finally:
        engine.dispose()
    err.print(
        f"delivered {tally.delivered}, failed {tally.failed} (to be retried), dead {tally.dead}"
    )


def _warn(engine: Any, stop: threading.Event, every: float) -> None:
    """Give the warnings that are due, every ``every`` seconds until ``stop``."""
    from geogrid.cases.warnings import issue_warnings

    while True:
        try:
            with engine.begin() as conn:
                given = issue_warnings(conn)
            if given:
                err.print(f"{len(given)} warnings given", highlight=False)
        except Exception as exc:
            err.print(f"warnings: {exc}", highlight=False, markup=False)
        if stop.wait(every):
            return


@notify_app.command("status")
def notify_status() -> None:
    """Pending, failing and dead deliveries (docs/notifications.md, "Watching it")."""
    with errors(), transaction() as conn:
        s = notify.outbox_status(conn)
    oldest = (
        "" if s.oldest_pending_at is None else f", oldest pending {s.oldest_pending_at:%F %T%z}"
    )
    console.print(
        f"events {s.events}: pending {s.pending} (failing {s.failing}), delivered "
        f"{s.delivered}, dead {s.dead}{oldest}"
    )
