/*
 * geogrid web maps, the browser side (window.geogrid). Needs Leaflet 1.9 and
 * Leaflet.awesome-markers; loads nothing from anywhere.
 *
 * - styles: features carry a style key (properties.s) looked up in geogrid.styles, the
 *   tables of maps/styles.py sent once per page;
 * - tooltips and popups: properties.tip / properties.pop, HTML escaped by maps/popups.py;
 * - the GCJ-02 switch: data is drawn in WGS84 (CGCS2000). A base layer whose options say
 *   datum: "gcj02" (AMap, Tencent) draws China in GCJ-02, so while one is chosen every data
 *   layer is moved by the GCJ-02 offset (about 570 m in Hefei), computed per vertex with the
 *   published formula (the same as geogrid/datum.py), and moved back for the others;
 * - the grid search's zoom, the legend control, and the dispatcher's locate client.
 */
(function (window, document) {
  "use strict";
  var L = window.L;
  var geogrid = window.geogrid = {styles: {}, icons: {}, kinds: {}, datum: "wgs84", map: null};

  // ---- GCJ-02 ------------------------------------------------------------------------
  var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;

  function inChina(lon, lat) {
    return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
  }

  function offset(lon, lat) {
    var x = lon - 105.0, y = lat - 35.0, sx = Math.sqrt(Math.abs(x));
    var dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx
      + (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0
      + (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0
      + (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    var dLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx
      + (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0
      + (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0
      + (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    var radLat = lat / 180.0 * PI;
    var magic = 1.0 - EE * Math.pow(Math.sin(radLat), 2);
    var sqrtMagic = Math.sqrt(magic);
    dLat = dLat * 180.0 / ((A * (1.0 - EE)) / (magic * sqrtMagic) * PI);
    dLon = dLon * 180.0 / (A / sqrtMagic * Math.cos(radLat) * PI);
    return [dLon, dLat];
  }

  /** WGS84 -> GCJ-02, [lon, lat]. */
  geogrid.toGcj02 = function (lon, lat) {
    if (!inChina(lon, lat)) return [lon, lat];
    var d = offset(lon, lat);
    return [lon + d[0], lat + d[1]];
  };

  /** GCJ-02 -> WGS84 by fixed-point iteration (as geogrid.datum), [lon, lat]. */
  geogrid.fromGcj02 = function (lon, lat) {
    var p = [lon, lat];
    for (var i = 0; i < 30; i++) {
      var f = geogrid.toGcj02(p[0], p[1]);
      var eLon = f[0] - lon, eLat = f[1] - lat;
      p = [p[0] - eLon, p[1] - eLat];
      if (Math.abs(eLon) < 1e-11 && Math.abs(eLat) < 1e-11) break;
    }
    return p;
  };

  function shown(ll, datum) {
    if (datum !== "gcj02") return L.latLng(ll.lat, ll.lng);
    var g = geogrid.toGcj02(ll.lng, ll.lat);
    return L.latLng(g[1], g[0]);
  }

  function shownAll(lls, datum) {
    return Array.isArray(lls) ? lls.map(function (x) { return shownAll(x, datum); })
      : shown(lls, datum);
  }

  function copy(lls) {
    return Array.isArray(lls) ? lls.map(copy) : L.latLng(lls.lat, lls.lng);
  }

  /** Draw a layer (and everything in it) in the current datum; idempotent. */
  function align(layer) {
    if (layer instanceof L.LayerGroup) { layer.eachLayer(align); return; }
    if (layer instanceof L.DivOverlay || layer instanceof L.GridLayer) return;
    var want = geogrid.datum, have = layer._ggDatum || "wgs84";
    if (want === have) return;
    if (layer.setLatLngs && layer.getLatLngs) {
      if (!layer._ggWgs) layer._ggWgs = copy(layer.getLatLngs());
      layer.setLatLngs(shownAll(layer._ggWgs, want));
    } else if (layer.setLatLng && layer.getLatLng) {
      if (!layer._ggWgs) layer._ggWgs = copy(layer.getLatLng());
      layer.setLatLng(shown(layer._ggWgs, want));
    } else {
      return;
    }
    layer._ggDatum = want;
  }
  geogrid.align = align;

  /** Switch every data layer to "wgs84" or "gcj02". Layers off the map follow when added. */
  geogrid.setDatum = function (datum) {
    if (datum === geogrid.datum) return;
    geogrid.datum = datum;
    geogrid.map.eachLayer(align);
    document.documentElement.setAttribute("data-datum", datum);
    geogrid.map.fire("geogrid:datum", {datum: datum});
  };

  /** Display position of a WGS84 point in the current datum. */
  geogrid.shown = function (latlng) { return shown(L.latLng(latlng), geogrid.datum); };

  // ---- page set-up -------------------------------------------------------------------

  geogrid.attach = function (map, config) {
    geogrid.map = map;
    geogrid.config = config;
    geogrid.styles = config.styles || {};
    geogrid.icons = config.icons || {};
    geogrid.kinds = config.kinds || {};
    document.documentElement.setAttribute("data-datum", "wgs84");
    map.on("baselayerchange", function (e) {
      geogrid.setDatum((e.layer.options && e.layer.options.datum) || "wgs84");
    });
    map.on("layeradd", function (e) {
      if (geogrid.datum !== "wgs84" || e.layer._ggDatum) align(e.layer);
    });
    if (config.bounds) map.fitBounds(config.bounds, {padding: [10, 10], animate: false});
    L.control.scale({imperial: false, position: "bottomleft"}).addTo(map);
    // Everything the page draws is added synchronously by the script that called attach;
    // the first frame after it is the first complete render.
    window.setTimeout(function () {
      window.requestAnimationFrame(function () {
        geogrid.readyMs = window.performance.now();
        document.documentElement.setAttribute("data-geogrid", "ready");
      });
    }, 0);
  };

  /** A GeoJSON layer of maps.elements.DataLayer. */
  geogrid.geoJSON = function (data, options) {
    var layerOptions = {
      pane: options.pane,
      interactive: options.interactive,
      style: geogrid.styler(options.table)
    };
    if (options.interactive) layerOptions.onEachFeature = geogrid.bind;
    if (options.points) layerOptions.pointToLayer = geogrid[options.points];
    return L.geoJSON(data, layerOptions);
  };

  geogrid.styler = function (table) {
    return function (feature) {
      var styles = geogrid.styles[table] || {};
      return styles[feature.properties.s] || {};
    };
  };

  function resetStyle(layer) {
    for (var id in layer._eventParents) {
      var parent = layer._eventParents[id];
      if (parent.resetStyle) { parent.resetStyle(layer); return; }
    }
  }

  geogrid.bind = function (feature, layer) {
    var p = feature.properties || {};
    var point = !!layer.getLatLng && !layer.getLatLngs;
    if (p.tip) layer.bindTooltip(p.tip, {sticky: !point, direction: "top", className: "gg-tip"});
    if (p.pop) layer.bindPopup(p.pop, {maxWidth: 340});
    if (layer.setStyle && !point) {
      layer.on("mouseover", function () {
        if (!layer._ggFound) layer.setStyle((geogrid.styles.grids || {}).hover || {weight: 2.5});
      });
      layer.on("mouseout", function () { if (!layer._ggFound) resetStyle(layer); });
    }
  };

  geogrid.stationMarker = function (feature, latlng) {
    var kind = feature.properties.k;
    var look = geogrid.icons[kind] || {icon: "circle", colour: "#575757",
      className: "geogrid-station"};
    // colour and icon come from maps/styles.py, never from data
    var icon = L.divIcon({className: look.className, iconSize: [22, 22],
      html: '<span style="background:' + look.colour + '"><i class="fa fa-' + look.icon
        + '"></i></span>'});
    return L.marker(latlng, {icon: icon, riseOnHover: true});
  };

  geogrid.serviceCircle = function (feature, latlng) {
    var p = feature.properties;
    return L.circle(latlng, L.extend({}, (geogrid.styles.circles || {})[p.s] || {},
      {radius: p.r, pane: "gg-circles", interactive: false}));
  };

  geogrid.legend = function (map, html, position) {
    var control = L.control({position: position});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "geogrid-legend geogrid-panel");
      div.innerHTML = html;
      var title = div.querySelector(".gg-legend-title");
      if (title) {
        title.title = "点击折叠/展开图例";
        L.DomEvent.on(title, "click", function () {
          div.classList.toggle("gg-collapsed");
        });
      }
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    control.addTo(map);
    return control;
  };

  // ---- grid search (leaflet-search) -------------------------------------------------

  /** A search tip as text: names are data, never HTML. */
  geogrid.searchTip = function (text) {
    var li = L.DomUtil.create("li", "");
    li.textContent = text;
    return li;
  };

  geogrid.searchMove = function (latlng, title, map) {
    var layer = latlng.layer;
    if (layer && layer.getBounds) {
      map.fitBounds(layer.getBounds(), {maxZoom: 17, padding: [40, 40], animate: false});
    } else {
      map.setView(latlng, 17, {animate: false});
    }
  };

  var found = null;
  geogrid.searchFound = function (e) {
    if (found) { found._ggFound = false; resetStyle(found); }
    found = e.layer || null;
    if (!found) return;
    if (found.setStyle) {
      found._ggFound = true;
      found.setStyle((geogrid.styles.grids || {}).focus || {color: "#c53030", weight: 3});
      if (found.bringToFront) found.bringToFront();
    }
    if (found.openPopup) found.openPopup();
    document.documentElement.setAttribute("data-found", (found.feature && found.feature
      .properties.code) || "");
  };

  // ---- the dispatcher's locate client -----------------------------------------------

  function esc(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g,
      function (c) {
        return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c];
      });
  }
  geogrid.escape = esc;

  function getJSON(url) {
    return window.fetch(url, {headers: {"Accept": "application/json"}}).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.detail || ("HTTP " + r.status));
        return body;
      });
    });
  }

  function row(label, html) {
    return html ? "<tr><th>" + esc(label) + "</th><td>" + html + "</td></tr>" : "";
  }

  function answerHtml(answer, near, link) {
    var g = answer.grid, rows = "";
    if (g) {
      rows += row("网格", esc(g.code) + " " + esc(g.name));
      rows += row("社区", esc(g.community.name));
      rows += row("街道", esc(g.street.name));
      var leader = [g.leader.name, g.leader.phone].filter(Boolean).join(" ");
      rows += row("网格长", esc(leader || "—"));
      if (answer.on_boundary) {
        rows += row("边界", "位于网格边界上，候选：" + answer.candidates.map(esc).join("、"));
      } else if (answer.boundary_distance_m !== null) {
        rows += row("距相邻网格", esc(answer.boundary_distance_m.toFixed(1)) + " m");
      }
    } else if (answer.nearest) {
      rows += row("网格", "不在任何网格内；最近网格 " + esc(answer.nearest.code) + "（"
        + esc(answer.nearest.distance_m.toFixed(0)) + " m）");
    }
    if (answer.compound) rows += row("小区", esc(answer.compound.name));
    rows += row("边界版本", esc(answer.release));
    var items = near.stations.map(function (s) {
      var within = s.within_minutes.length ? "，在 " + s.within_minutes.join("/") + " 分钟圈内"
        : "";
      return "<li>" + esc(s.name) + "（" + esc(geogrid.kinds[s.kind] || s.kind) + "）"
        + esc(s.distance_m.toFixed(0)) + " m · 步行约 " + esc(s.walk_minutes.toFixed(0))
        + " 分钟" + esc(within) + "</li>";
    }).join("");
    var code = g ? g.code : (answer.nearest && answer.nearest.code);
    var more = link && code ? '<a class="gg-link" href="' + esc(link + code) + '">查看网格地图</a>'
      : "";
    return "<h6>定位结果</h6><table>" + rows + "</table><h6>最近服务站点</h6><ol>" + items
      + "</ol>" + more;
  }

  geogrid.locate = function (map, config) {
    var group = L.featureGroup().addTo(map);
    var panel = L.control({position: "topright"});
    var box;
    panel.onAdd = function () {
      box = L.DomUtil.create("div", "geogrid-answer geogrid-panel");
      box.innerHTML = "<h6>网格定位</h6><p>点击地图任意位置，查询所在网格和最近的服务站点。</p>";
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    panel.addTo(map);
    var asked = 0;

    function ask(lon, lat, fit) {
      var mine = ++asked;
      group.clearLayers();
      var icon = L.AwesomeMarkers.icon({icon: "crosshairs", prefix: "fa", markerColor: "darkred",
        className: "awesome-marker geogrid-point"});
      group.addLayer(L.marker(L.latLng(lat, lon), {icon: icon, zIndexOffset: 1000}));
      box.setAttribute("data-state", "busy");
      box.innerHTML = "<h6>定位中…</h6>";
      var query = "lon=" + lon.toFixed(7) + "&lat=" + lat.toFixed(7) + "&crs=wgs84";
      return Promise.all([getJSON(config.api + "/locate?" + query),
        getJSON(config.api + "/stations/nearest?" + query + "&k=3")]).then(function (r) {
        if (mine !== asked) return null;
        var answer = r[0], near = r[1];
        near.stations.forEach(function (s) {
          var line = L.polyline([[lat, lon], [s.lat, s.lon]], L.extend({pane: "gg-locate",
            interactive: false, className: "geogrid-line"}, geogrid.styles.locate.line));
          group.addLayer(line);
          var marker = geogrid.stationMarker({properties: {k: s.kind}}, L.latLng(s.lat, s.lon));
          marker.bindTooltip(esc(s.name) + "<br>" + esc(s.distance_m.toFixed(0)) + " m · 步行约 "
            + esc(s.walk_minutes.toFixed(0)) + " 分钟", {permanent: true, direction: "right",
            className: "gg-dist"});
          group.addLayer(marker);
        });
        var code = answer.grid ? answer.grid.code : (answer.nearest && answer.nearest.code);
        box.innerHTML = answerHtml(answer, near, config.link);
        // the first point: show it with its stations; later clicks keep the view
        if (fit) map.fitBounds(group.getBounds(), {maxZoom: 16, padding: [60, 60], animate: false});
        if (!code) { box.setAttribute("data-state", "done"); return answer; }
        return getJSON(config.api + "/grids/" + encodeURIComponent(code) + "?simplify=1")
          .then(function (feature) {
            if (mine !== asked) return null;
            group.addLayer(L.geoJSON(feature, {style: geogrid.styles.locate.grid,
              pane: "gg-focus", interactive: false}));
            box.setAttribute("data-grid", answer.grid ? answer.grid.code : "");
            box.setAttribute("data-state", "done");
            return answer;
          });
      }).catch(function (err) {
        if (mine !== asked) return;
        box.setAttribute("data-state", "error");
        box.innerHTML = "<h6>定位失败</h6><p>" + esc(err.message) + "</p>";
      });
    }

    geogrid.ask = ask;
    map.on("click", function (e) {
      var ll = e.latlng;
      var wgs = geogrid.datum === "gcj02" ? geogrid.fromGcj02(ll.lng, ll.lat) : [ll.lng, ll.lat];
      ask(wgs[0], wgs[1]);
    });
    if (config.point) ask(config.point[0], config.point[1], true);
  };

  // ---- the plan map's edit form ----------------------------------------------------

  var KEY_STORE = "geogrid.plannerKey";

  /** Drawn layer -> GeoJSON geometry in WGS84 (undoing the GCJ-02 shift of AMap/Tencent). */
  function drawnGeometry(layer) {
    var geometry = layer.toGeoJSON().geometry;
    if (geogrid.datum !== "gcj02") return geometry;
    function back(c) {
      return typeof c[0] === "number" ? geogrid.fromGcj02(c[0], c[1]) : c.map(back);
    }
    return {type: geometry.type, coordinates: back(geometry.coordinates)};
  }

  function storedKey() {
    try { return window.sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { return ""; }
  }

  function storeKey(key) {
    try { window.sessionStorage.setItem(KEY_STORE, key); } catch (e) { /* private mode */ }
  }

  function problemHtml(status, body) {
    var detail = body && body.detail, html = "<h6>未能添加（HTTP " + esc(status) + "）</h6>";
    if (detail) html += "<p>" + esc(typeof detail === "string" ? detail : JSON.stringify(detail))
      + "</p>";
    var found = (body && body.violations && body.violations.features) || [];
    if (found.length) {
      html += "<ul>" + found.map(function (v) {
        var p = v.properties || v;
        return "<li>" + esc(p.rule || p.code || "") + "：" + esc(p.message || "") + "</li>";
      }).join("") + "</ul>";
    }
    return html;
  }

  /**
   * The plan map's form: op, "from"/"to" (filled by clicking grids), the planner's key
   * (kept in sessionStorage: a page load cannot send a Bearer header, so this script sends
   * it), and the last drawing of the Draw control. Submits to config.api/plans/{id}/edits.
   */
  geogrid.planEditor = function (map, drawn, layers, config) {
    var state = {geometry: null, type: null, violations: null};
    var box;
    var panel = L.control({position: "topright"});
    panel.onAdd = function () {
      box = L.DomUtil.create("div", "geogrid-answer geogrid-panel geogrid-plan");
      box.innerHTML = "<h6>添加编辑（方案 " + esc(config.plan) + "）</h6>"
        + '<label>操作 <select name="op"><option value="transfer">划转区域（transfer）</option>'
        + '<option value="split">拆分网格（split）</option></select></label>'
        + '<label>转出网格 <input name="from" autocomplete="off" size="17"></label>'
        + '<label class="gg-to">转入网格 <input name="to" autocomplete="off" size="17"></label>'
        + '<label>说明 <input name="comment" autocomplete="off" size="17"></label>'
        + '<label>规划员密钥 <input name="key" type="password" autocomplete="off" size="17">'
        + "</label>"
        + '<p class="gg-drawn">尚未绘制</p>'
        + '<button type="button" name="submit">提交编辑</button>'
        + '<div class="gg-result"></div>';
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    panel.addTo(map);
    var field = function (name) { return box.querySelector("[name=" + name + "]"); };
    var result = box.querySelector(".gg-result");
    var drawnNote = box.querySelector(".gg-drawn");
    field("key").value = storedKey();
    field("key").addEventListener("input", function () { storeKey(field("key").value); });

    function syncOp() {
      var split = field("op").value === "split";
      box.querySelector(".gg-to").style.display = split ? "none" : "";
      box.setAttribute("data-op", field("op").value);
    }
    field("op").addEventListener("change", syncOp);
    syncOp();

    // click a grid: the first click picks "from", the next "to", then "from" again
    var nextTo = false;
    function pick(e) {
      var p = e.layer && e.layer.feature && e.layer.feature.properties;
      if (!p || !p.code) return;
      if (field("op").value === "split" || !nextTo) {
        field("from").value = p.code;
        if (field("op").value !== "split") field("to").value = "";
      } else {
        field("to").value = p.code;
      }
      nextTo = field("op").value !== "split" && !nextTo;
    }
    layers.forEach(function (layer) { layer.on("click", pick); });

    map.on(L.Draw.Event.CREATED, function (e) {
      drawn.eachLayer(function (l) { if (l !== e.layer) drawn.removeLayer(l); });
      state.geometry = drawnGeometry(e.layer);
      state.type = e.layerType;
      if (e.layerType === "polyline" && field("op").value !== "split") {
        field("op").value = "split"; syncOp();
      } else if (e.layerType === "polygon" && field("op").value !== "transfer") {
        field("op").value = "transfer"; syncOp();
      }
      drawnNote.textContent = e.layerType === "polyline" ? "已绘制拆分线" : "已绘制划转范围";
      box.setAttribute("data-drawn", e.layerType);
    });
    map.on(L.Draw.Event.DELETED, function () {
      if (drawn.getLayers().length) return;
      state.geometry = null;
      drawnNote.textContent = "尚未绘制";
      box.removeAttribute("data-drawn");
    });

    function show(stateName, html) {
      box.setAttribute("data-state", stateName);
      result.innerHTML = html;
    }

    field("submit").addEventListener("click", function () {
      var op = field("op").value, key = field("key").value.trim();
      if (!key) { show("error", "<p>请填写规划员密钥</p>"); return; }
      if (!state.geometry) { show("error", "<p>请先在地图上绘制</p>"); return; }
      var body = {op: op, crs: "wgs84"};
      if (field("comment").value.trim()) body.comment = field("comment").value.trim();
      if (op === "split") {
        body.grid = field("from").value.trim();
        body.line = state.geometry;
      } else {
        body.from = field("from").value.trim();
        body.to = field("to").value.trim();
        body.area = state.geometry;
      }
      show("busy", "<p>提交中…</p>");
      if (state.violations) { map.removeLayer(state.violations); state.violations = null; }
      window.fetch(config.api + "/plans/" + encodeURIComponent(config.plan) + "/edits", {
        method: "POST",
        headers: {"Content-Type": "application/json", "Accept": "application/json",
          "Authorization": "Bearer " + key},
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (answer) {
          if (r.ok) {
            box.setAttribute("data-edit", answer.edit_id);
            show("done", "<p>已添加编辑 #" + esc(answer.edit_id)
              + "。刷新页面查看修改后的网格。</p>");
            drawn.clearLayers();
            state.geometry = null;
            drawnNote.textContent = "尚未绘制";
            return;
          }
          show("error", problemHtml(r.status, answer));
          // violation locations (GeoJSON) on the map, where the answer gives them
          var located = ((answer.violations && answer.violations.features) || [])
            .filter(function (v) { return v && v.geometry; });
          if (located.length) {
            state.violations = L.geoJSON({type: "FeatureCollection", features: located},
              {style: geogrid.styles.gaps && geogrid.styles.gaps.gap, pane: "gg-gaps",
                interactive: false}).addTo(map);
          }
        });
      }).catch(function (err) {
        show("error", "<p>" + esc(err.message) + "</p>");
      });
    });
    geogrid.plan = {state: state, box: box};
  };
})(window, document);
