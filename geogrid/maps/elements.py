"""Folium elements geogrid maps add: the page runtime, legend, grid search, base layers.

The browser side lives in ``static/geogrid/maps.js`` (``window.geogrid``): style lookup,
tooltips and popups, the legend control, the grid search's zoom, and the GCJ-02 switch that
moves every data layer onto AMap/Tencent tiles (see :func:`base_layers`).
"""

from __future__ import annotations

import json
from typing import Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import FeatureGroup, Layer
from folium.plugins import MarkerCluster, Search
from folium.template import Template

from geogrid.maps import styles
from geogrid.maps.assets import OWN


class Runtime(JSCSSMixin, MacroElement):
    """``maps.js`` and ``maps.css``, and ``geogrid.attach(map, config)``. Add it first."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            geogrid.attach({{ this._parent.get_name() }}, {{ this.config_json }});
        {% endmacro %}
    """)
    default_js = [("geogrid_maps_js", OWN + "geogrid/maps.js")]  # noqa: RUF012 (folium's API)
    default_css = [("geogrid_maps_css", OWN + "geogrid/maps.css")]  # noqa: RUF012

    def __init__(self, **config: Any) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "GeogridRuntime"
        self.config = {
            "styles": styles.TABLES,
            "icons": styles.station_icons(),
            "kinds": {k: v[0] for k, v in styles.STATION_KINDS.items()},
            **config,
        }
        self.config_json = script_json(self.config)


def script_json(data: Any) -> str:
    r"""``data`` as compact JSON that is safe inside a ``<script>`` element.

    Non-ASCII text stays UTF-8 (Chinese names take 3 bytes, not a 6-byte escape); ``</`` and
    ``<!--``, the only sequences that can end or confuse a script element, are escaped.

    Examples
    --------
    >>> script_json({"name": "</script><b>网格</b>"})
    '{"name":"<\\/script><b>网格<\\/b>"}'
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "\\u003c!--")


class DataLayer(FeatureGroup):
    """A GeoJSON layer drawn by ``geogrid.geoJSON``: style keys looked up in a style table,
    tooltips and popups bound from ``tip``/``pop``, points drawn by ``geogrid[points]`` (a
    maps.js function such as "stationMarker").

    ``shapes``: a DataLayer added before this one whose features carry a ``code``; a feature
    here without a geometry is drawn with the shape of that layer's feature of the same
    ``code`` (so a page writes the grids' shapes once, however many layers colour them).

    Leaner than folium.GeoJson for what geogrid draws: the data is written once as compact
    UTF-8 JSON, styles are shared tables, and no per-feature style map is generated.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = geogrid.geoJSON({{ this.json }},
                                                         {{ this.layer_options|tojson }}
                {%- if this.shapes %}, {{ this.shapes.get_name() }}{% endif %});
        {% endmacro %}
    """)

    def __init__(
        self,
        data: dict[str, Any],
        name: str,
        table: str,
        pane: str,
        *,
        show: bool = True,
        overlay: bool = True,
        control: bool = True,
        points: str | None = None,
        interactive: bool = True,
        shapes: DataLayer | None = None,
    ) -> None:
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "DataLayer"
        self.shapes = shapes
        self.data = data
        self.json = script_json(data)
        self.layer_options = {
            "table": table,
            "pane": pane,
            "points": points,
            "interactive": interactive,
        }


class Legend(MacroElement):
    """A legend control; ``html`` is built (and escaped) by maps.popups.legend."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            geogrid.legend({{ this._parent.get_name() }}, {{ this.html_json }},
                           {{ this.position|tojson }});
        {% endmacro %}
    """)

    def __init__(self, html: str, position: str = "bottomright") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "GeogridLegend"
        self.html = html
        self.html_json = script_json(html)
        self.position = position


class GridSearch(Search):
    """leaflet-search over a GeoJSON layer: matches anywhere in ``properties[search_label]``,
    zooms to the match's bounds and opens its popup. Tips are set as text, never as HTML."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = new L.Control.Search({
                layer: {{ this.layer.get_name() }},
                propertyName: {{ this.search_label|tojson }},
                initial: false,
                marker: false,
                collapsed: {{ this.collapsed|tojson }},
                autoCollapse: false,
                textPlaceholder: {{ this.placeholder|tojson }},
                textErr: "未找到",
                textCancel: "清除",
                position: {{ this.position|tojson }},
                buildTip: geogrid.searchTip,
                moveToLocation: geogrid.searchMove
            });
            {{ this.get_name() }}.on("search:locationfound", geogrid.searchFound);
            {{ this._parent.get_name() }}.addControl({{ this.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, layer: FeatureGroup, search_label: str, placeholder: str) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            layer,
            search_label=search_label,
            geom_type="Polygon",
            placeholder=placeholder,
            collapsed=False,
        )
        self._name = "GridSearch"


class TileGroup(Layer):
    """A base layer of several tile layers drawn together (e.g. Tianditu map + labels).

    Not added to the map unless ``show``: its tiles are requested only when chosen.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.layerGroup([
                {%- for url in this.urls %}
                L.tileLayer({{ url|tojson }}, {{ this.options|tojson }}),
                {%- endfor %}
            ], {{ this.group_options|tojson }});
        {% endmacro %}
    """)

    def __init__(
        self,
        urls: list[str],
        name: str,
        attribution: str,
        subdomains: str,
        datum: str = "wgs84",
        show: bool = False,
    ) -> None:
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "TileGroup"
        self.urls = urls
        self.options = {"attribution": attribution, "subdomains": subdomains, "maxZoom": 18}
        self.group_options = {"datum": datum}


class LocateClient(MacroElement):
    """The dispatcher's locate map: asks /v1/locate and /v1/stations/nearest for the point
    and for every click, and draws the answers (``geogrid.locate`` in maps.js)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            geogrid.locate({{ this._parent.get_name() }}, {{ this.config_json }});
        {% endmacro %}
    """)

    def __init__(self, **config: Any) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "GeogridLocate"
        self.config = config
        self.config_json = script_json(config)


def base_layers(m: folium.Map, tianditu_key: str | None) -> None:
    """The online base layers a viewer may switch to; none is loaded until chosen.

    OpenStreetMap and 天地图 (CGCS2000, which is WGS84 at map scale) take the data as it is.
    AMap/高德 and Tencent/腾讯 draw in GCJ-02: their layers carry ``datum: "gcj02"`` and
    maps.js moves every data layer by the GCJ-02 offset (about 570 m in Yaohai) while one
    of them is the base, and back when another is chosen.
    """
    folium.TileLayer(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        name="OpenStreetMap",
        attr="© OpenStreetMap contributors",
        max_zoom=19,
        show=False,
        datum="wgs84",
    ).add_to(m)
    if tianditu_key:
        tiles = (
            "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
            "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
            "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=" + tianditu_key
        )
        TileGroup(
            [tiles.replace("{layer}", "vec"), tiles.replace("{layer}", "cva")],
            name="天地图",
            attribution="© 天地图 国家地理信息公共服务平台",
            subdomains="01234567",
        ).add_to(m)
    folium.TileLayer(
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1"
        "&scale=1&style=8&x={x}&y={y}&z={z}",
        name="高德地图（GCJ-02）",
        attr="© 高德地图 AutoNavi",
        subdomains="1234",
        max_zoom=18,
        show=False,
        datum="gcj02",
    ).add_to(m)
    folium.TileLayer(
        "https://rt{s}.map.gtimg.com/tile?z={z}&x={x}&y={-y}&type=vector&styleid=0",
        name="腾讯地图（GCJ-02）",
        attr="© 腾讯地图 Tencent",
        subdomains="0123",
        max_zoom=18,
        show=False,
        datum="gcj02",
    ).add_to(m)


class PlanEditor(MacroElement):
    """The plan map's side panel (``geogrid.planEditor`` in maps.js): pick grids by clicking,
    draw with ``drawn``'s Draw control and POST the edit to ``/v1/plans/{id}/edits`` with the
    planner's key; list the edits with an undo button each; publish; show the preview.

    ``layers`` are the clickable grid layers; ``before`` and ``after`` the touched grids'
    layers, redrawn from ``/maps/plans/{id}/layers`` after every change.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            geogrid.planEditor({{ this._parent.get_name() }}, {{ this.drawn.get_name() }}, [
                {%- for layer in this.layers %}{{ layer.get_name() }},{% endfor -%}
            ], {before: {{ this.before.get_name() }}, after: {{ this.after.get_name() }}},
            {{ this.config_json }});
        {% endmacro %}
    """)

    def __init__(
        self,
        drawn: FeatureGroup,
        layers: list[FeatureGroup],
        *,
        before: FeatureGroup,
        after: FeatureGroup,
        **config: Any,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "GeogridPlanEditor"
        self.drawn = drawn
        self.layers = layers
        self.before = before
        self.after = after
        self.config = config
        self.config_json = script_json(config)


class CaseCluster(MarkerCluster):
    """Case markers clustered by Leaflet.markercluster (``geogrid.caseCluster`` in maps.js).

    ``rows`` are ``[lat, lon, style key, popup HTML]`` (popups escaped by maps.popups): one
    compact array for thousands of cases, where folium would write a Marker object each.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = geogrid.caseCluster({{ this.json }},
                                                            {{ this.options|tojson }});
        {% endmacro %}
    """)

    def __init__(self, rows: list[list[Any]], name: str, *, show: bool = True) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            name=name,
            show=show,
            showCoverageOnHover=False,
            maxClusterRadius=50,
            spiderfyOnMaxZoom=True,
            disableClusteringAtZoom=18,
        )
        self._name = "CaseCluster"
        self.rows = rows
        self.json = script_json(rows)


class Panel(MacroElement):
    """A fixed panel of HTML (built and escaped by maps.popups) in a corner of the map."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            geogrid.panel({{ this._parent.get_name() }}, {{ this.html_json }},
                          {{ this.position|tojson }}, {{ this.class_name|tojson }});
        {% endmacro %}
    """)

    def __init__(self, html: str, position: str = "topright", class_name: str = "") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "GeogridPanel"
        self.html_json = script_json(html)
        self.position = position
        self.class_name = class_name
