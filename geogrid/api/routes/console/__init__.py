"""The staff console (/console): server-rendered pages for dispatchers, planners and admins.

One module per part of the console, each with its ``router``; ``router`` here includes them.
Not in the OpenAPI document: these are pages, and every change they make goes through the
same geogrid functions (and checks) as the JSON API.
"""

from __future__ import annotations

from fastapi import APIRouter

from geogrid.api.routes.console import (
    admin,
    cases,
    dashboard,
    followup,
    home,
    intake,
    plans,
    releases,
)

router = APIRouter(include_in_schema=False)
# intake before cases: /console/cases/new must not be read as a case id
for _module in (home, intake, cases, followup, dashboard, plans, releases, admin):
    router.include_router(_module.router)
