"""Every message written with ``tr`` has its Chinese translation, with the same values."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.i18n import catalogue, tr

GEOGRID = Path(__file__).resolve().parents[2] / "geogrid"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _calls() -> list[tuple[str, int, str, set[str]]]:
    """(file, line, msgid, keyword names) of every tr("...", name=...) call in geogrid/."""
    found = []
    for path in sorted(GEOGRID.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "tr":
                [template] = node.args
                assert isinstance(template, ast.Constant), f"{path}:{node.lineno}"
                names = {k.arg for k in node.keywords if k.arg}
                found.append((str(path), node.lineno, template.value, names))
    return found


def test_babel_extracts_every_message_and_each_is_translated() -> None:
    extracted = {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(GEOGRID), keywords={"tr": None}, method_map=[("**.py", "python")]
        )
    }
    assert len(extracted) >= 80
    zh = catalogue("zh")
    assert sorted(extracted - set(zh)) == []


def test_translations_use_only_the_values_the_code_gives() -> None:
    zh = catalogue("zh")
    calls = _calls()
    assert len(calls) >= 90
    for path, line, template, names in calls:
        assert _fields(template) <= names, f"{path}:{line}"
        assert _fields(zh[template]) <= names, f"{path}:{line}: {zh[template]}"


def test_an_error_speaks_both_languages() -> None:
    error = NotFoundError(tr("case {case_id} does not exist", case_id=7))
    assert error.message == "case 7 does not exist"
    assert error.message_zh == "案件 7 不存在"
    assert InvalidInputError("plain text").message_zh is None


@pytest.mark.parametrize("language", ["en", "fr", None])
def test_other_languages_get_english(language: str | None) -> None:
    assert tr("grid {code} does not exist", code="1").render(language) == "grid 1 does not exist"
