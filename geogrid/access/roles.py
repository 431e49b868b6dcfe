"""Roles and personal-data masking (docs/architecture.md, "Access").

Roles are ordered viewer < dispatcher < planner < admin. Anonymous callers are viewers.
Names and phone numbers of grid leaders, party contacts and case reporters are masked for
viewers (张** / 138****0000) and shown to dispatchers and above.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, TypeVar

from geogrid.errors import PermissionDeniedError
from geogrid.i18n import tr


class Role(IntEnum):
    """Access roles, ordered by what they may do."""

    viewer = 1
    dispatcher = 2
    planner = 3
    admin = 4

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.strip().lower()]
        except KeyError:
            raise ValueError(
                f'role was "{name}" but must be one of {[r.name for r in cls]}'
            ) from None


class Maskable(Protocol):
    """Anything that carries personal data and can give a masked copy of itself."""

    def masked(self: M) -> M: ...


M = TypeVar("M", bound=Maskable)


@dataclass(frozen=True)
class Principal:
    """Who is asking: a key's name and role, or the anonymous viewer."""

    name: str | None
    role: Role

    @property
    def sees_personal_data(self) -> bool:
        return self.role >= Role.dispatcher

    def visible(self, thing: M) -> M:
        """``thing`` as this principal may see it: masked below the dispatcher role.

        The one place that decides masking; ``thing`` says how it masks itself (a person, a
        grid, a case).
        """
        return thing if self.sees_personal_data else thing.masked()

    def require(self, role: Role) -> None:
        """Raise PermissionDeniedError unless this principal has at least ``role``."""
        if self.role < role:
            who = f'key "{self.name}"' if self.name else "anonymous callers"
            raise PermissionDeniedError(
                tr(
                    "this needs the {needs} role; {who} have the {has} role",
                    needs=role.name,
                    who=who,
                    has=self.role.name,
                    needs_zh=ROLE_ZH[role],
                    has_zh=ROLE_ZH[self.role],
                ),
            )


ANONYMOUS = Principal(None, Role.viewer)
ROLE_ZH = {
    Role.viewer: "查看者",
    Role.dispatcher: "调度员",
    Role.planner: "规划员",
    Role.admin: "管理员",
}


def mask_name(name: str | None) -> str | None:
    """Keep the first character (the surname) and star the rest.

    Examples
    --------
    >>> mask_name("张三丰"), mask_name("李四"), mask_name(None)
    ('张**', '李*', None)
    """
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits.

    Examples
    --------
    >>> mask_phone("13812340000")
    '138****0000'
    """
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
