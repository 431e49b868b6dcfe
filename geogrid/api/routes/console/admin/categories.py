"""/console/admin/categories: the case category catalogue, by major class, searchable and
editable (a name, handling hours, a new category).

A case keeps the handling hours it was accepted with (civic_case.due_hours), so new hours
count for cases accepted afterwards; the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from geogrid.access.roles import Permission
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import ConnDep
from geogrid.api.routes.console.admin.forms import REFUSALS, done, done_message, refused
from geogrid.api.routes.console.pages import need, page
from geogrid.cases import TYPE_ZH, add_category, list_categories, update_category
from geogrid.cases.categories import MAX_HANDLING_HOURS, Category

router = APIRouter()
CuratorDep = Annotated[SignedIn, Depends(need(Permission.manage_catalogue))]
Text = Annotated[str, Form(max_length=200)]

DONE = {
    "saved": "已保存分类 {name}：新的处置时限用于此后立案的案件。",
    "added": "已新增分类 {name}。",
}


@dataclass(frozen=True)
class MajorClass:
    """The categories of one major class (event 01 市容环境, component 01 公用设施 ...)."""

    type_zh: str
    code: str
    name: str
    categories: list[Category]


def major_classes(categories: list[Category], query: str) -> list[MajorClass]:
    """``categories`` matching ``query`` (in a code, name or major class name), by class."""
    needle = query.strip().lower()
    found = [
        c
        for c in categories
        if not needle or any(needle in s.lower() for s in (c.code, c.name, c.major_name))
    ]
    return [
        MajorClass(TYPE_ZH[kind], major, items[0].major_name, items)
        for (kind, major), group in groupby(found, key=lambda c: (c.type, c.major_code))
        for items in [list(group)]
    ]


def _categories_page(
    request: Request,
    conn: ConnDep,
    user: SignedIn,
    *,
    status: int = 200,
    error: str = "",
    draft: dict[str, str] | None = None,
) -> HTMLResponse:
    params = request.query_params
    query = params.get("q", "")[:50]
    categories = list_categories(conn)
    classes = major_classes(categories, query)
    return page(
        request,
        "admin_categories.html",
        user,
        title="案件分类",
        active="categories",
        status=status,
        query=query,
        total=len(categories),
        classes=classes,
        shown=sum(len(c.categories) for c in classes),
        done=done_message(DONE, params.get("done"), params.get("name")),
        error=error,
        draft=draft or {"code": "", "major_name": "", "name": "", "handling_hours": ""},
        max_hours=MAX_HANDLING_HOURS,
    )


@router.get("/categories")
def categories_page(request: Request, user: CuratorDep, conn: ConnDep) -> HTMLResponse:
    """The catalogue by major class (``q`` filters by code or name)."""
    return _categories_page(request, conn, user)


@router.post("/categories")
def create_category(
    request: Request,
    user: CuratorDep,
    conn: ConnDep,
    code: Text = "",
    major_name: Text = "",
    name: Text = "",
    handling_hours: Text = "",
) -> Response:
    """Add a category to the catalogue."""
    try:
        added = add_category(conn, code, name, handling_hours, major_name=major_name)
    except REFUSALS as exc:
        status, text = refused(conn, exc)
        draft = {
            "code": code,
            "major_name": major_name,
            "name": name,
            "handling_hours": handling_hours,
        }
        return _categories_page(request, conn, user, status=status, error=text, draft=draft)
    return done(request, "/categories", "added", f"{added.code} {added.name}")


@router.post("/categories/{code}")
def edit_category(
    request: Request,
    user: CuratorDep,
    conn: ConnDep,
    code: str,
    name: Text = "",
    handling_hours: Text = "",
    q: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    """Rename a category or change its handling hours."""
    try:
        saved = update_category(conn, code, name=name, handling_hours=handling_hours)
    except REFUSALS as exc:
        status, text = refused(conn, exc)
        return _categories_page(request, conn, user, status=status, error=f"{code[:20]}：{text}")
    return done(request, "/categories", "saved", f"{saved.code} {saved.name}", q=q)
