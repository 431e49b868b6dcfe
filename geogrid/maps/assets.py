"""Vendored browser assets: the one table from CDN URLs to files under ``maps/static``.

Folium and its plugins name their JavaScript and CSS by CDN URL. Every URL a geogrid map uses
is listed in :data:`VENDORED` with the npm package (or PyPI sdist) file that holds the same
bytes; ``python -m maps.vendor`` fetches them into ``static/vendor/<package>/<version>/``
keeping each package's own layout, so relative ``url(...)`` references in its CSS still work.

:func:`localise` points every element of a map at those files before rendering, in one of
two ways: **served** (``<script src="/static/...">``, the API serves them with long cache
headers) or **inline** (the files' text inside the page, fonts and images as ``data:`` URIs,
for a file that opens offline). :func:`check_offline` then refuses any page that would
still reach another host: an unknown CDN URL fails loudly instead of quietly loading from
the network.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Prefix of our own (non-vendored) assets in ``default_js``/``default_css``.
OWN = "geogrid-static:"


@dataclass(frozen=True)
class Package:
    """One vendored package: where it comes from and under which licence."""

    name: str
    version: str
    #: "npm" (``npm pack name@version``) or "pypi-sdist" (the package's source archive).
    registry: str
    licence: str
    #: Licence files inside the package, copied beside the assets.
    licence_files: tuple[str, ...] = ()

    @property
    def folder(self) -> str:
        return f"vendor/{self.name.replace('@', '').replace('/', '-')}/{self.version}"


LEAFLET = Package("leaflet", "1.9.3", "npm", "BSD-2-Clause", ("LICENSE",))
JQUERY = Package("jquery", "3.7.1", "npm", "MIT", ("LICENSE.txt",))
BOOTSTRAP = Package("bootstrap", "5.2.2", "npm", "MIT", ("LICENSE",))
FONTAWESOME = Package(
    "@fortawesome/fontawesome-free",
    "6.2.0",
    "npm",
    "CC-BY-4.0 (icons), OFL-1.1 (fonts), MIT (code)",
    ("LICENSE.txt",),
)
AWESOME_MARKERS = Package("drmonty-leaflet-awesome-markers", "2.0.2", "npm", "MIT")
FULLSCREEN = Package("leaflet.fullscreen", "3.0.0", "npm", "MIT", ("LICENSE",))
SEARCH = Package("leaflet-search", "2.9.7", "npm", "MIT", ("license.txt",))
FOLIUM = Package("folium", "0.20.0", "pypi-sdist", "MIT", ("LICENSE.txt",))
#: folium.plugins.Draw's version. The npm package ships no licence file; its package.json
#: (kept beside the assets) declares MIT, as does the project's MIT-LICENSE.md.
DRAW = Package("leaflet-draw", "1.0.2", "npm", "MIT", ("package.json",))
#: folium.plugins.MarkerCluster's version (the case map clusters its markers).
MARKERCLUSTER = Package("leaflet.markercluster", "1.1.0", "npm", "MIT", ("MIT-LICENCE.txt",))
#: The API's documentation pages (/docs, /redoc), served from this origin like the maps.
SWAGGER_UI = Package("swagger-ui-dist", "5.35.0", "npm", "Apache-2.0", ("LICENSE", "NOTICE"))
REDOC = Package("redoc", "2.5.2", "npm", "MIT", ("LICENSE",))
#: OpenLayers' full build (the ``ol`` global): no geogrid page loads it yet; the browser test of
#: OGC API – Features (tests/api/test_ogc_clients.py) reads /ogc and /v1 with it.
OPENLAYERS = Package("ol", "10.11.0", "npm", "BSD-2-Clause", ("LICENSE.md",))
#: MapLibre GL JS (the ``maplibregl`` global): the vector tile page (/maps/tiles) draws
#: geogrid's own tiles (/ogc/tiles) with it.
MAPLIBRE = Package("maplibre-gl", "5.24.1", "npm", "BSD-3-Clause", ("LICENSE.txt",))
#: The staff console (/console): htmx swaps the parts of a page a form changes (the 2.0 line:
#: 4.0 came out weeks ago with changed defaults), Chart.js draws the dashboard's charts.
HTMX = Package("htmx.org", "2.0.11", "npm", "0BSD", ("LICENSE",))
CHARTJS = Package("chart.js", "4.6.1", "npm", "MIT", ("LICENSE.md",))

PACKAGES = (
    LEAFLET,
    JQUERY,
    BOOTSTRAP,
    FONTAWESOME,
    AWESOME_MARKERS,
    FULLSCREEN,
    SEARCH,
    FOLIUM,
    DRAW,
    MARKERCLUSTER,
    SWAGGER_UI,
    REDOC,
    OPENLAYERS,
    MAPLIBRE,
    HTMX,
    CHARTJS,
)


@dataclass(frozen=True)
class Asset:
    """A file of a vendored package, and the files its CSS refers to."""

    package: Package
    path: str
    #: Other files of the package this one loads (CSS ``url(...)``), relative to the package.
    extra: tuple[str, ...] = ()

    @property
    def local(self) -> str:
        """Path under ``maps/static``."""
        return f"{self.package.folder}/{self.path}"


_FA_FONTS = tuple(
    f"webfonts/fa-{n}.{ext}"
    for n in ("brands-400", "regular-400", "solid-900", "v4compatibility")
    for ext in ("woff2", "ttf")
)

#: Every CDN URL a geogrid map may reference, and the vendored file that replaces it.
VENDORED: dict[str, Asset] = {
    # The URLs FastAPI's documentation pages name by default.
    "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js": Asset(
        SWAGGER_UI, "swagger-ui-bundle.js"
    ),
    "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css": Asset(
        SWAGGER_UI, "swagger-ui.css", ("favicon-32x32.png",)
    ),
    "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js": Asset(
        REDOC, "bundles/redoc.standalone.js"
    ),
    # The console's two scripts, as their documentation loads them from a CDN.
    "https://unpkg.com/htmx.org@2.0.11/dist/htmx.min.js": Asset(HTMX, "dist/htmx.min.js"),
    "https://cdn.jsdelivr.net/npm/chart.js@4.6.1/dist/chart.umd.min.js": Asset(
        CHARTJS, "dist/chart.umd.min.js"
    ),
    # OpenLayers' full build, as its documentation's examples load it.
    "https://cdn.jsdelivr.net/npm/ol@10.11.0/dist/ol.js": Asset(OPENLAYERS, "dist/ol.js"),
    "https://cdn.jsdelivr.net/npm/ol@10.11.0/ol.css": Asset(OPENLAYERS, "ol.css"),
    # MapLibre GL JS's build, as its documentation's examples load it.
    "https://unpkg.com/maplibre-gl@5.24.1/dist/maplibre-gl.js": Asset(
        MAPLIBRE, "dist/maplibre-gl.js"
    ),
    "https://unpkg.com/maplibre-gl@5.24.1/dist/maplibre-gl.css": Asset(
        MAPLIBRE, "dist/maplibre-gl.css"
    ),
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": Asset(LEAFLET, "dist/leaflet.js"),
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": Asset(
        LEAFLET,
        "dist/leaflet.css",
        tuple(
            f"dist/images/{n}"
            for n in (
                "layers.png",
                "layers-2x.png",
                "marker-icon.png",
                "marker-icon-2x.png",
                "marker-shadow.png",
            )
        ),
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": Asset(JQUERY, "dist/jquery.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": Asset(
        BOOTSTRAP, "dist/js/bootstrap.bundle.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": Asset(
        BOOTSTRAP, "dist/css/bootstrap.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": Asset(
        FONTAWESOME, "css/all.min.css", _FA_FONTS
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
    "leaflet.awesome-markers.js": Asset(AWESOME_MARKERS, "js/leaflet.awesome-markers.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
    "leaflet.awesome-markers.css": Asset(
        AWESOME_MARKERS,
        "css/leaflet.awesome-markers.css",
        tuple(
            f"css/images/{n}"
            for n in (
                "markers-soft.png",
                "markers-soft@2x.png",
                "markers-shadow.png",
                "markers-shadow@2x.png",
            )
        ),
    ),
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
    "leaflet.awesome.rotate.min.css": Asset(FOLIUM, "folium/templates/leaflet.awesome.rotate.css"),
    # jsDelivr minifies on the fly; the npm package holds the source file.
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js": Asset(
        FULLSCREEN, "Control.FullScreen.js"
    ),
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css": Asset(
        FULLSCREEN, "Control.FullScreen.css", ("icon-fullscreen.svg",)
    ),
    "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js": Asset(
        SEARCH, "dist/leaflet-search.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.css": Asset(
        SEARCH, "dist/leaflet-search.min.css", ("images/search-icon.png", "images/loader.gif")
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.js": Asset(
        DRAW, "dist/leaflet.draw.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.css": Asset(
        DRAW,
        "dist/leaflet.draw.css",
        tuple(
            f"dist/images/{n}" for n in ("spritesheet.png", "spritesheet-2x.png", "spritesheet.svg")
        ),
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js": Asset(
        MARKERCLUSTER, "dist/leaflet.markercluster.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css": Asset(
        MARKERCLUSTER, "dist/MarkerCluster.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
    "MarkerCluster.Default.css": Asset(MARKERCLUSTER, "dist/MarkerCluster.Default.css"),
}

#: Folium defaults deliberately left out: Bootstrap 3's glyphicons serve only
#: ``folium.Icon(prefix="glyphicon")``, which geogrid maps never use (they use Font Awesome).
DROPPED = frozenset(
    {
        "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
    }
)

#: Our own assets, as ``OWN + path`` in ``default_js``/``default_css``.
OWN_FILES = ("geogrid/maps.js", "geogrid/maps.css", "geogrid/tiles.js")


class ExternalAssetError(RuntimeError):
    """A page would load something from another host."""


@lru_cache(maxsize=64)
def _digest(path: str) -> str:
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]


def _resolve(url: str) -> str | None:
    """Path under ``maps/static`` for a CDN URL or own asset; None when deliberately dropped."""
    if url.startswith(OWN):
        return url[len(OWN) :]
    if url in VENDORED:
        return VENDORED[url].local
    if url in DROPPED:
        return None
    raise ExternalAssetError(
        f'"{url}" is not vendored: add it to maps.assets.VENDORED and run '
        "python -m maps.vendor (geogrid maps load nothing from other hosts)"
    )


def _walk(element: Any) -> Any:
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def localise(root: Any, static_url: str | None) -> None:
    """Point every asset of ``root``'s element tree at vendored files.

    ``static_url`` is where ``maps/static`` is served (e.g. ``/static``); None inlines the
    files when the page is rendered by :func:`render_page`. Instance attributes shadow the
    class lists, so folium's own classes are left untouched.
    """
    for element in _walk(root.get_root()):
        for attribute in ("default_js", "default_css"):
            links = getattr(element, attribute, None)
            if not links:
                continue
            localised = []
            for name, url in links:
                path = _resolve(url)
                if path is None:
                    continue
                if static_url is None:
                    localised.append((name, f"{_INLINE}{path}"))
                else:
                    version = f"?v={_digest(path)}" if url.startswith(OWN) else ""
                    localised.append((name, f"{static_url.rstrip('/')}/{path}{version}"))
            setattr(element, attribute, localised)


_INLINE = "geogrid-inline:"
_SCRIPT = re.compile(r'<script src="geogrid-inline:([^"]+)"></script>')
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="geogrid-inline:([^"]+)"/>')
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
_TRUETYPE = re.compile(r",\s*url\([^)]*\.ttf\)\s*format\(\"truetype\"\)")


def _data_uri(path: Path) -> str:
    kind = (
        {".woff2": "font/woff2", ".ttf": "font/ttf", ".svg": "image/svg+xml"}.get(path.suffix)
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


@lru_cache(maxsize=32)
def inline_css(path: str) -> str:
    """The CSS file ``path`` (under static/) with its ``url(...)`` files as data: URIs.

    Font Awesome lists a woff2 and a ttf for every face; every browser that runs Leaflet 1.9
    reads woff2, so the ttf alternatives are dropped rather than inlined twice.
    """
    file = STATIC_DIR / path
    css = _TRUETYPE.sub("", file.read_text(encoding="utf-8"))

    def replace(match: re.Match[str]) -> str:
        target = match.group(2).strip()
        if target.startswith(("data:", "#")):
            return match.group(0)
        found = (file.parent / target).resolve()
        if not found.is_file() or STATIC_DIR not in found.parents:
            raise ExternalAssetError(f"{path} refers to {target}, which is not vendored")
        return f'url("{_data_uri(found)}")'

    return _CSS_URL.sub(replace, css)


@lru_cache(maxsize=32)
def inline_js(path: str) -> str:
    # "</script" inside the code would end the element early; "<\/" means the same in JS.
    text = (STATIC_DIR / path).read_text(encoding="utf-8")
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def render_page(root: Any, static_url: str | None) -> str:
    """``root`` (a folium Map or its Figure) as a complete HTML page that reaches no other host.

    ``static_url`` as in :func:`localise`. Raises ExternalAssetError when anything in the
    page still points at another host.
    """
    localise(root, static_url)
    figure = root.get_root()
    html = str(figure.render())
    if static_url is None:
        html = _SCRIPT.sub(lambda m: f"<script>{inline_js(m.group(1))}</script>", html)
        html = _STYLESHEET.sub(lambda m: f"<style>{inline_css(m.group(1))}</style>", html)
    check_offline(html)
    return html


_REFERENCE = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*?\b(?:src|href)\s*=\s*["']?"""
    r"""([^"' >]+)""",
    re.IGNORECASE,
)
_IMPORT = re.compile(r"@import\s+(?:url\()?['\"]?([^'\")\s;]+)", re.IGNORECASE)


def external_references(html: str) -> list[str]:
    """Every script, stylesheet, image or frame address in ``html`` that names a host.

    Same-origin paths (``/static/...``) and ``data:`` URIs are fine; anything with a scheme or
    ``//`` is not. Tile URL templates of optional base layers live in script text and are
    requested only when a viewer picks that layer, so they are not references here.

    Examples
    --------
    >>> external_references('<script src="/static/a.js"></script><img src="https://x/y.png">')
    ['https://x/y.png']
    """
    found = _REFERENCE.findall(html) + _IMPORT.findall(html)
    return [
        u
        for u in found
        if re.match(r"^(?:[a-z][a-z0-9+.-]*:|//)", u, re.IGNORECASE)
        and not u.lower().startswith("data:")
    ]


def check_offline(html: str) -> None:
    """Raise ExternalAssetError when ``html`` loads anything from another host."""
    external = external_references(html)
    if external:
        raise ExternalAssetError(f"the page would load from other hosts: {sorted(set(external))}")
