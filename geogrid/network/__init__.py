"""Walking networks: the paths people walk, loaded as layers and measured as graphs."""

from geogrid.network.graph import NODE_TOLERANCE_M, Joint, WalkingGraph
from geogrid.network.paths import (
    WalkingNetwork,
    check_paths,
    current_network,
    network_graph,
    publish_paths,
)

__all__ = [
    "NODE_TOLERANCE_M",
    "Joint",
    "WalkingGraph",
    "WalkingNetwork",
    "check_paths",
    "current_network",
    "network_graph",
    "publish_paths",
]
