"""Domain exceptions. The API maps each to one status code in one place (api/errors.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from geogrid.i18n import Message


class GeogridError(Exception):
    """Base of every error geogrid raises on purpose. ``code`` is stable for clients."""

    code = "error"

    def __init__(self, message: str | Message, *, details: Any = None) -> None:
        super().__init__(str(message))
        #: The message as given: a :class:`~geogrid.i18n.Message` renders in every language.
        self.text = message
        self.message = str(message)
        self.details = details
        #: The same message in Chinese, for clients that ask with Accept-Language: zh (None
        #: when the catalogue has no translation of it).
        self.message_zh = message.translated("zh") if isinstance(message, Message) else None


class EmbeddedDatabaseError(GeogridError):
    """The embedded PostgreSQL cluster cannot be created, started or reached."""

    code = "embedded_database"


class DatabaseUnavailableError(GeogridError):
    """The database does not answer; the caller may retry later."""

    code = "database_unavailable"
    #: Seconds a client should wait before retrying (the Retry-After header).
    retry_after_s = 5


class DatabaseBusyError(DatabaseUnavailableError):
    """Every database connection of this process is in use; the caller may retry at once."""

    code = "database_busy"
    retry_after_s = 1


class NotFoundError(GeogridError):
    """A thing named by the caller does not exist."""

    code = "not_found"


class InvalidInputError(GeogridError):
    """Input that can never be accepted as sent (names the value and what is allowed)."""

    code = "invalid_input"


class LoadError(GeogridError):
    """A file that cannot be loaded; nothing was written. ``details`` lists violations."""

    code = "load_failed"


class ConflictError(GeogridError):
    """The request conflicts with the current state (a plan's base moved, a closed plan)."""

    code = "conflict"


class PreconditionFailedError(GeogridError):
    """A write's ``If-Match`` names a version that is no longer the current one."""

    code = "precondition_failed"


class MethodNotAllowedError(GeogridError):
    """The resource exists but does not take this method; ``allow`` lists those it takes."""

    code = "method_not_allowed"

    def __init__(self, message: Any, *, allow: tuple[str, ...], details: Any = None) -> None:
        super().__init__(message, details=details)
        self.allow = allow


class TooLargeError(GeogridError):
    """A request asks for more than geogrid answers in one go (names the limit)."""

    code = "too_large"


class UnsupportedMediaTypeError(GeogridError):
    """An upload whose content is not of a type geogrid takes (names the types it takes)."""

    code = "unsupported_media_type"


class AuthenticationError(GeogridError):
    """Missing, unknown or revoked API key; a wrong user name or password."""

    code = "unauthenticated"


class AccountLockedError(AuthenticationError):
    """Too many failed sign-ins: the account is locked (for this address) until a time."""

    code = "locked"

    def __init__(self, message: str | Message, *, until: Any) -> None:
        super().__init__(message, details={"locked_until": until.isoformat()})
        self.until = until


class PermissionDeniedError(GeogridError):
    """A caller whose role lacks the permission an action needs."""

    code = "forbidden"


class SeparationOfDutiesError(PermissionDeniedError):
    """A step the rules give to someone other than the caller: the one who handled a case does
    not verify or close it, nobody approves their own extension."""

    code = "separation_of_duties"


class CsrfError(PermissionDeniedError):
    """A write through a session cookie without the session's CSRF token, or from another
    origin."""

    code = "csrf"


def describe_validation(errors: Iterable[Mapping[str, Any]]) -> str:
    """Pydantic's errors as one sentence naming each bad field, its value and what is allowed.

    Examples
    --------
    >>> describe_validation([{"loc": ("body", "lat"), "msg": "Input should be a valid number",
    ...                       "input": "north", "type": "float_parsing"},
    ...                      {"loc": ("channel",), "type": "literal_error", "input": "fax",
    ...                       "msg": "", "ctx": {"expected": "'hotline' or 'app'"}},
    ...                      {"loc": ("body", "category"), "type": "missing", "msg": ""},
    ...                      {"loc": (), "msg": "Value error, no place"}])
    "lat: Input should be a valid number (got 'north'); channel was 'fax' but must be 'hotline' \
or 'app'; category is required; no place"
    """
    parts = []
    for error in errors:
        where = ".".join(
            str(p) for p in error.get("loc", ()) if p not in ("query", "body", "path", "header")
        )
        given = error.get("input")
        kind = error.get("type")
        if kind == "missing" and where:
            parts.append(f"{where} is required")
            continue
        if kind == "literal_error" and where:
            expected = (error.get("ctx") or {}).get("expected")
            parts.append(f"{where} was {given!r} but must be {expected}")
            continue
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        shown = given is not None and where and not isinstance(given, dict | list)
        parts.append(
            (f"{where}: " if where else "") + message + (f" (got {_shown(given)})" if shown else "")
        )
    return "; ".join(parts)


#: How much of a bad value an error message repeats.
SHOWN_CHARACTERS = 80


def _shown(value: Any) -> str:
    """``repr(value)``, cut to :data:`SHOWN_CHARACTERS` (a 4000-character text is not echoed).

    >>> _shown("x" * 200)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (200 characters)"
    """
    text = repr(value)
    if len(text) <= SHOWN_CHARACTERS:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str | bytes) else ""
    return text[:SHOWN_CHARACTERS] + "…" + size
