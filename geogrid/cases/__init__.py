"""Case dispatch: the category catalogue, routing, the case record and its life cycle, queries,
import/export and Open311.

Modules: ``addresses``, ``categories``, ``duplicates``, ``export``, ``importing``,
``lifecycle``, ``merging``, ``open311``, ``photos``, ``preview``, ``queries``, ``records``,
``rerouting``, ``routing``.
"""

from geogrid.cases.categories import (
    TYPE_ZH,
    add_category,
    list_categories,
    read_catalogue,
    replace_catalogue,
    update_category,
)
from geogrid.cases.export import HEADERS, case_table, export_cases, to_csv
from geogrid.cases.importing import import_cases, read_rows
from geogrid.cases.lifecycle import MOVES, STATUS_ZH, STATUSES, legal_moves
from geogrid.cases.merging import merge_case
from geogrid.cases.photos import (
    STAGES,
    AfterPhotoRequiredError,
    Photo,
    add_photo,
    list_photos,
    photo_content,
)
from geogrid.cases.preview import CasePreview, preview_case
from geogrid.cases.queries import CaseFilter, count_cases, count_h3, list_cases, performance
from geogrid.cases.records import (
    Case,
    Placement,
    create_case,
    get_case,
    place_report,
    reopen,
    reroute,
    submit_case,
    transition,
)
from geogrid.cases.report import CHANNELS, CaseReport
from geogrid.cases.rerouting import preview_reroutes
from geogrid.cases.routing import FLAG_ZH, FLAGS, UnroutableError, route, route_in_release

__all__ = [
    "CHANNELS",
    "FLAGS",
    "FLAG_ZH",
    "HEADERS",
    "MOVES",
    "STAGES",
    "STATUSES",
    "STATUS_ZH",
    "TYPE_ZH",
    "AfterPhotoRequiredError",
    "Case",
    "CaseFilter",
    "CasePreview",
    "CaseReport",
    "Photo",
    "Placement",
    "UnroutableError",
    "add_category",
    "add_photo",
    "case_table",
    "count_cases",
    "count_h3",
    "create_case",
    "export_cases",
    "get_case",
    "import_cases",
    "legal_moves",
    "list_cases",
    "list_categories",
    "list_photos",
    "merge_case",
    "performance",
    "photo_content",
    "place_report",
    "preview_case",
    "preview_reroutes",
    "read_catalogue",
    "read_rows",
    "reopen",
    "replace_catalogue",
    "reroute",
    "route",
    "route_in_release",
    "submit_case",
    "to_csv",
    "transition",
    "update_category",
]
