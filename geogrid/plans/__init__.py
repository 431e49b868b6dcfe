"""Boundary planning: plans, their edits (ops), preview and atomic publish.

Modules: ``geometry``, ``layer``, ``lifecycle``, ``move``, ``ops``, ``params``, ``preview``,
``replace``.
"""

from geogrid.plans.geometry import adjacent, holder
from geogrid.plans.layer import EditRejectedError
from geogrid.plans.lifecycle import build_layer, get_plan
from geogrid.plans.move import corridor
from geogrid.plans.preview import preview
from geogrid.plans.replace import read_drawing

__all__ = [
    "EditRejectedError",
    "adjacent",
    "build_layer",
    "corridor",
    "get_plan",
    "holder",
    "preview",
    "read_drawing",
]
