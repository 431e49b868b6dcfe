"""Boundary planning: plans, their edits (ops), preview and atomic publish.

Modules: ``lifecycle`` (open, edit, undo, publish), ``layer`` (edits replayed in memory),
``ops`` (transfer, merge, split, revert, reassign, carve, move_compound, replace, reshape)
with ``geometry``, ``fitting`` (the precision pipeline), ``params``, ``move``, ``replace``
and ``reshape``, ``preview``, ``listing`` (every plan, as the console lists them), and
``collection`` (a plan as an OGC API Part 4 collection).
"""

from geogrid.plans.geometry import adjacent, holder
from geogrid.plans.layer import EditRejectedError, Layer, base_layer
from geogrid.plans.lifecycle import (
    Edit,
    Plan,
    add_edit,
    build_layer,
    create_plan,
    discard_plan,
    get_plan,
    open_plans,
    publish_plan,
    require_open,
    undo_edit,
)
from geogrid.plans.listing import PlanListing, plan_listing, plan_listings
from geogrid.plans.move import corridor
from geogrid.plans.ops import OPS, Op
from geogrid.plans.preview import preview
from geogrid.plans.replace import read_drawing

__all__ = [
    "OPS",
    "Edit",
    "EditRejectedError",
    "Layer",
    "Op",
    "Plan",
    "PlanListing",
    "add_edit",
    "adjacent",
    "base_layer",
    "build_layer",
    "corridor",
    "create_plan",
    "discard_plan",
    "get_plan",
    "holder",
    "open_plans",
    "plan_listing",
    "plan_listings",
    "preview",
    "publish_plan",
    "read_drawing",
    "require_open",
    "undo_edit",
]
