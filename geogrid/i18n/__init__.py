"""Messages in two languages, each written once: English in the code, Chinese in a catalogue.

Code writes a message as an English template with named values::

    raise InvalidInputError(tr('crs was "{crs}" but must be one of {allowed}', crs=crs,
                               allowed=list(CRS_NAMES)))

and the Chinese template for the same msgid lives in ``locale/zh/LC_MESSAGES/geogrid.po``, a
gettext catalogue read with Babel. :class:`Message` renders in either language; a message
without a translation renders in English. ``pybabel extract -k tr`` finds every template (see
``docs/architecture.md``, "Messages"), and a test checks that each has a Chinese translation
with the same placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po

#: The languages geogrid answers in besides English.
LANGUAGES = ("zh",)


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """msgid -> translated template for ``language`` (read once from its .po file)."""
    if language not in LANGUAGES:
        return {}
    path = resources.files("geogrid.i18n").joinpath("locale", language, "LC_MESSAGES", "geogrid.po")
    with path.open("rb") as po:
        found = read_po(po, locale=language)
    return {
        str(m.id): str(m.string)
        for m in found
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
    }


@dataclass(frozen=True)
class Message:
    """An English template with its values; renders in English (``str``) or a catalogue's
    language (:meth:`render`)."""

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template.format(**self.values)

    def render(self, language: str | None) -> str:
        """The message in ``language`` (zh), or in English when it has no translation.

        Examples
        --------
        >>> m = tr("case {case_id} does not exist", case_id=7)
        >>> str(m), m.render("zh")
        ('case 7 does not exist', '案件 7 不存在')
        """
        translated = catalogue(language).get(self.template) if language else None
        return (translated or self.template).format(**self.values)

    def translated(self, language: str) -> str | None:
        """The message in ``language``, or None when the catalogue has no translation."""
        template = catalogue(language).get(self.template)
        return None if template is None else template.format(**self.values)


def tr(template: str, /, **values: Any) -> Message:
    """A message to show in the caller's language: ``template`` is English, with ``{names}``."""
    return Message(template, values)
