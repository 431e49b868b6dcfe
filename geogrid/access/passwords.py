"""Password hashing: Argon2id through pwdlib, with the parameters RFC 9106 recommends for
memory-constrained settings (64 MiB, 3 passes, 4 lanes: about 0.15 s on one core here).

A stored hash names its parameters (PHC string), so raising them later re-hashes each
password at its owner's next sign-in (``verify`` returns the new hash).
"""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from geogrid.errors import InvalidInputError
from geogrid.i18n import tr

_HASHER = PasswordHash((Argon2Hasher(time_cost=3, memory_cost=65536, parallelism=4),))
#: Verified against when a user name is unknown, so that an unknown name takes as long to
#: refuse as a wrong password (no timing oracle for which names exist).
_DUMMY = _HASHER.hash("geogrid: no such user")


def hash_password(password: str) -> str:
    """The Argon2id PHC string of ``password``."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str | None) -> tuple[bool, str | None]:
    """Whether ``password`` matches ``stored``, and a new hash when its parameters are old.

    With ``stored`` None (no such user) a dummy hash is checked, and the answer is False.
    """
    if stored is None:
        _HASHER.verify(password, _DUMMY)
        return False, None
    return _HASHER.verify_and_update(password, stored)


def check_password(password: str, username: str, min_length: int) -> None:
    """Refuse a password that is too short or is the user name (422, naming the rule)."""
    if len(password) < min_length:
        raise InvalidInputError(
            tr(
                "the password has {length} characters but must have at least {minimum}",
                length=len(password),
                minimum=min_length,
            )
        )
    if password.strip().lower() == username.strip().lower():
        raise InvalidInputError(tr("the password must not be the user name"))
    if len(password) > 1024:
        raise InvalidInputError(tr("the password must have at most 1024 characters"))
