"""/login and /logout: people sign in with a form and work in the console by session cookie.

The cookie (``geogrid_session``) is HttpOnly (no script reads it), SameSite=Lax (another
site's forms and scripts cannot send it along) and Secure over https; its token is new at
every sign-in, so a token planted before sign-in is worth nothing (session fixation).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from geogrid.access import audit, sessions, users
from geogrid.access.ratelimits import RateLimitedError, RateLimits
from geogrid.api.database import Database
from geogrid.api.deps import client_address, same_origin, signed_in
from geogrid.api.routes.console.pages import page, root
from geogrid.errors import AccountLockedError, AuthenticationError
from geogrid.settings import AuthSettings

router = APIRouter(include_in_schema=False)
HOME = "/console"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    return value[:500]


def login_url(request: Request) -> str:
    """/login, coming back to this request's page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{root(request)}/login?next={quote(here, safe='')}"


def _form(
    request: Request,
    status: int = 200,
    message: str = "",
    kind: str = "error",
    username: str = "",
    next_path: str = HOME,
) -> HTMLResponse:
    return page(
        request,
        "login.html",
        None,
        title="登录",
        status=status,
        message=message,
        message_kind=kind,
        username=username,
        next=next_path,
    )


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form (a signed-in person goes straight on)."""
    if await signed_in(request) is not None:
        return RedirectResponse(f"{root(request)}{safe_next(next)}", 303)
    notice = "已退出登录。" if request.query_params.get("signed_out") else ""
    return _form(request, message=notice, kind="ok", next_path=safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=600)] = HOME,
) -> Response:
    """Sign in: a new session and its cookie, then on to ``next``."""
    target = safe_next(next)
    origin = request.headers.get("origin")
    if origin is not None and not same_origin(request, origin):
        return _form(request, 403, "不接受来自其他网站的登录请求。", next_path=target)
    if not username.strip() or not password:
        return _form(request, 422, "请填写用户名和密码。", username=username, next_path=target)
    database: Database = request.app.state.database
    settings: AuthSettings = request.app.state.auth_settings
    limits: RateLimits | None = request.app.state.rate_limits
    address = client_address(request)
    try:
        user = await database.run(
            users.sign_in, request.app.state.engine, username, password, address, settings, limits
        )
    except AccountLockedError as exc:
        text = exc.message_zh or exc.message
        return _form(request, 401, text, username=username, next_path=target)
    except AuthenticationError as exc:
        text = exc.message_zh or exc.message
        return _form(request, 401, text, username=username, next_path=target)
    except RateLimitedError as exc:
        refused = _form(
            request,
            429,
            f"此地址登录失败次数过多，请 {exc.retry_after_s} 秒后再试。",
            username=username,
            next_path=target,
        )
        refused.headers["Retry-After"] = str(exc.retry_after_s)
        return refused
    old = request.cookies.get(sessions.COOKIE)
    token = await database.run(_open, request, user.id, address, old)
    response = RedirectResponse(f"{root(request)}{target}", 303)
    set_session_cookie(request, response, token, settings)
    return response


def _open(request: Request, user_id: int, address: str, old: str | None) -> str:
    with request.app.state.engine.begin() as conn:
        if old:
            sessions.end_session(conn, old)  # whatever it was, it is not this sign-in's
        return sessions.open_session(conn, user_id, address)


def set_session_cookie(
    request: Request, response: Response, token: str, settings: AuthSettings
) -> None:
    secure = settings.session_cookie_secure == "always" or (
        settings.session_cookie_secure == "auto" and request.url.scheme == "https"
    )
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=int(settings.session_absolute_hours * 3600),
        path=root(request) or "/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign out: the session ends (a write: it needs the session's CSRF token)."""
    found = await signed_in(request)  # checks the CSRF token of a live session
    token = request.cookies.get(sessions.COOKIE)
    if found is not None and token:
        database: Database = request.app.state.database
        await database.run(_end, request, token, found.username)
    response = RedirectResponse(f"{root(request)}/login?signed_out=1", 303)
    response.delete_cookie(sessions.COOKIE, path=root(request) or "/")
    return response


def _end(request: Request, token: str, username: str) -> None:
    with request.app.state.engine.begin() as conn:
        sessions.end_session(conn, token)
        audit.record(conn, "sign_out", username, address=client_address(request))
