"""The staff console's pages: Jinja2 templates rendered from plain data, in Chinese.

Server-rendered HTML, with htmx (vendored) swapping the parts a form changes and Chart.js
drawing the dashboard: no front-end build chain, nothing loaded from another host, and every
page works from its HTML alone where scripting is not needed (forms post, links link). No
inline scripts: every script is a file, so the pages run under the same Content-Security-Policy
as the maps. Like ``maps``, this package knows nothing of the database or of HTTP.

Modules: ``pages`` (the template environment).
"""

from geogrid.console.pages import STATIC_DIR, Nav, asset_version, local_time, render

__all__ = ["STATIC_DIR", "Nav", "asset_version", "local_time", "render"]
