"""/console/admin: accounts and the audit log, API keys, the case category catalogue, the
working calendar, the registers of people and organisations.

Every change is a POST form carrying the session's CSRF token (checked before the route
runs), made through the same geogrid functions as the command line, which write the audit
log; it answers 303 back to its page with ``?done=`` (post/redirect/get), or the page again
with the error in Chinese (422 bad input, 409 refused by the state of things) and nothing
changed.
"""

from __future__ import annotations

from fastapi import APIRouter

from geogrid.api.routes.console.admin import (
    calendar,
    categories,
    departments,
    keys,
    registers,
    users,
)

router = APIRouter(prefix="/console/admin")
for _module in (users, keys, categories, departments, registers, calendar):
    router.include_router(_module.router)
