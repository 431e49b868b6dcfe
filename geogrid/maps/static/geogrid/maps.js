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
 *   published formula (the same as geogrid/geo/datum.py), and moved back for the others;
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
  geogrid.geoJSON = function (data, options, shapes) {
    if (shapes) data = borrowShapes(data, shapes);
    var layerOptions = {
      pane: options.pane,
      interactive: options.interactive,
      style: geogrid.styler(options.table)
    };
    if (options.interactive) layerOptions.onEachFeature = geogrid.bind;
    if (options.points) layerOptions.pointToLayer = geogrid[options.points];
    return L.geoJSON(data, layerOptions);
  };

  /** Features without a geometry take the one of the feature with the same code in the
   *  layer ``shapes`` (drawn before): the grids' shapes are written once per page. */
  function borrowShapes(data, shapes) {
    var byCode = {};
    shapes.eachLayer(function (layer) {
      var f = layer.feature;
      if (f && f.properties && f.properties.code) byCode[f.properties.code] = f.geometry;
    });
    var features = [];
    data.features.forEach(function (f) {
      var geometry = f.geometry || byCode[f.properties.code];
      if (geometry) features.push(L.extend({}, f, {geometry: geometry}));
    });
    return L.extend({}, data, {features: features});
  }

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
        + esc(s.distance_m.toFixed(0)) + " m · 步行 " + esc(s.walk_minutes.toFixed(1))
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
          marker.bindTooltip(esc(s.name) + "<br>" + esc(s.distance_m.toFixed(0)) + " m · 步行 "
            + esc(s.walk_minutes.toFixed(1)) + " 分钟", {permanent: true, direction: "right",
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

  // ---- the plan map's side panel ---------------------------------------------------

  var OPS = {transfer: "划转区域", merge: "合并网格", split: "拆分网格", revert: "恢复旧版本",
    move_compound: "移动小区", carve: "划出专属网格", replace: "替换边界", reassign: "调整责任人"};
  var CASES_LISTED = 50;
  var STATUS = {open: "编辑中（open）", published: "已发布（published）",
    discarded: "已放弃（discarded）"};

  /** Drawn layer -> GeoJSON geometry in WGS84 (undoing the GCJ-02 shift of AMap/Tencent). */
  function drawnGeometry(layer) {
    var geometry = layer.toGeoJSON().geometry;
    if (geogrid.datum !== "gcj02") return geometry;
    function back(c) {
      return typeof c[0] === "number" ? geogrid.fromGcj02(c[0], c[1]) : c.map(back);
    }
    return {type: geometry.type, coordinates: back(geometry.coordinates)};
  }

  function violationsHtml(features) {
    if (!features.length) return "";
    return '<ul class="gg-violations">' + features.map(function (v) {
      var p = v.properties || v;
      var codes = (p.codes || []).length ? "（" + p.codes.map(esc).join("、") + "）" : "";
      return "<li>" + esc(p.rule || p.code || "") + "：" + esc(p.message || "") + codes
        + "</li>";
    }).join("") + "</ul>";
  }

  /** A refused request: its status, what the API says (detail), and what it lists. */
  function problemHtml(title, status, body) {
    var detail = body && body.detail;
    var html = "<h6>" + esc(title) + "（HTTP " + esc(status) + "）</h6>";
    if (detail) html += '<p class="gg-detail">' + esc(typeof detail === "string" ? detail
      : JSON.stringify(detail)) + "</p>";
    if (body && body.changed && body.changed.length) {
      html += "<p>当前边界版本 " + esc(body.current_release) + "，方案基于版本 "
        + esc(body.base_release) + "；已改动的网格：" + body.changed.map(esc).join("、") + "</p>";
    }
    return html + violationsHtml((body && body.violations && body.violations.features) || []);
  }

  function fmt(n, digits) {
    if (n === null || n === undefined) return "—";
    return Number(n).toLocaleString("zh-CN", {maximumFractionDigits: digits || 0});
  }

  function change(before, after, key, digits) {
    var a = before ? before[key] : null, b = after ? after[key] : null;
    var text = fmt(a, digits) + " → " + fmt(b, digits);
    if (a !== null && b !== null && a !== undefined && b !== undefined && a !== b) {
      var d = b - a;
      text += '<span class="gg-delta"> (' + (d > 0 ? "+" : "") + esc(fmt(d, digits)) + ")</span>";
    }
    return text;
  }

  function normText(figures, norm) {
    if (!figures) return "—";
    if (figures.households_within_norm === null) return "不适用";
    return figures.households_within_norm ? '<span class="gg-ok">✓ 符合</span>'
      : '<span class="gg-bad">✗ 超出 ' + esc(norm[0]) + "–" + esc(norm[1]) + " 户</span>";
  }

  /** ``touched``: the codes the map redraws (reshaped beyond 0.5 m², created, removed or
   * re-attributed). The preview also lists neighbours that only gained a shared vertex:
   * those go on one line, not in the table. */
  function previewHtml(p, touched) {
    var norm = p.household_norm || [300, 700];
    var html = '<p class="gg-check ' + (p.valid ? "gg-ok" : "gg-bad") + '">'
      + (p.valid ? "✓ 全部不变量成立（valid）"
        : "✗ 违反不变量 " + esc(p.violations.features.length) + " 处（invalid）") + "</p>";
    html += violationsHtml(p.violations.features);
    if (!p.grids.length && !(p.vertices_shared || []).length) {
      return html + "<p>方案尚未改动任何网格。</p>";
    }
    var shown = p.grids.filter(function (g) { return touched.indexOf(g.code) >= 0; });
    var vertexOnly = (p.vertices_shared || []).concat(p.grids.filter(function (g) {
      return touched.indexOf(g.code) < 0; }).map(function (g) { return g.code; }));
    html += '<table class="gg-figures"><thead><tr><th>网格 grid</th><th>修改前 → 修改后</th>'
      + "</tr></thead>";
    shown.forEach(function (g) {
      var b = g.before, a = g.after, name = (a && a.name) || (b && b.name) || "";
      var note = !b ? "（新建 new）" : !a ? "（撤销 removed）" : "";
      html += '<tbody data-grid="' + esc(g.code) + '"><tr class="gg-grid-head"><th colspan="2">'
        + esc(g.code) + " " + esc(name) + esc(note) + "</th></tr>"
        + "<tr><th>面积 m²</th><td>" + change(b, a, "area_m2") + "</td></tr>"
        + "<tr><th>住户 households</th><td>" + change(b, a, "households") + "</td></tr>"
        + "<tr><th>人口 population</th><td>" + change(b, a, "population") + "</td></tr>"
        + "<tr><th>小区数 compounds</th><td>" + fmt(b ? b.compounds.length : null) + " → "
        + fmt(a ? a.compounds.length : null) + "</td></tr>"
        + "<tr><th>紧凑度 Polsby–Popper</th><td>" + change(b, a, "polsby_popper", 3)
        + "</td></tr>"
        + "<tr><th>户数规范 " + esc(norm[0]) + "–" + esc(norm[1]) + "</th><td>"
        + normText(b, norm) + " → " + normText(a, norm) + "</td></tr></tbody>";
    });
    html += "</table>";
    if (vertexOnly.length) {
      html += '<p class="gg-vertex-only">相邻网格仅增加共享顶点（shared vertex only）：'
        + vertexOnly.map(esc).join("、") + "</p>";
    }
    var moved = p.compounds_moved || [], cut = p.compounds_cut || [];
    html += "<h6>移动的小区 compounds moved（" + esc(moved.length) + "）</h6>";
    html += moved.length ? '<ul class="gg-moved">' + moved.map(function (c) {
      return "<li>" + esc(c.name) + "（" + esc(fmt(c.households)) + " 户）：" + esc(c.from || "—")
        + " → " + esc(c.to || "—") + "</li>";
    }).join("") + "</ul>" : "<p>无</p>";
    html += "<h6>被新边界切开的小区 compounds cut（" + esc(cut.length) + "）</h6>";
    html += cut.length ? '<ul class="gg-cut">' + cut.map(function (c) {
      var shares = Object.keys(c.shares).map(function (code) {
        return esc(code) + " " + esc(Math.round(c.shares[code] * 100)) + "%";
      }).join("、");
      return "<li>" + esc(c.name) + "：" + shares + "</li>";
    }).join("") + "</ul>" : "<p>无</p>";
    var cases = p.open_cases_rerouted;
    if (Array.isArray(cases)) {  // null until the case module answers
      html += "<h6>受影响的在办案件 open cases rerouted（" + esc(cases.length) + "）</h6>";
      html += cases.length ? '<ul class="gg-cases">' + cases.slice(0, CASES_LISTED)
        .map(function (c) {
          return "<li>#" + esc(c.id) + "：" + esc(c.from) + " → " + esc(c.to) + "（"
            + (c.action === "reroute" ? "改派 reroute" : "仅标记 flag") + "）</li>";
        }).join("") + (cases.length > CASES_LISTED ? "<li>……另 "
          + esc(cases.length - CASES_LISTED) + " 件</li>" : "") + "</ul>" : "<p>无</p>";
    }
    return html;
  }

  /**
   * The plan map's side panel. A signed-in planner's page has config.csrf (the session's CSRF
   * token): every call goes with the session cookie and that token as X-CSRF-Token. Without
   * it nobody is signed in: the panel links to config.login and calls nothing (keys are for
   * machines; people sign in).
   * - the edit form: op, "from"/"to" (filled by clicking grids) and the last drawing of the
   *   Draw control, POSTed to config.api/plans/{id}/edits;
   * - the plan's edits, each with an undo button (DELETE .../edits/{edit_id});
   * - publish (POST .../publish);
   * - the preview (GET .../preview): figures per touched grid, compounds moved and cut, and
   *   the invariant violations, drawn on the map too.
   * After every change the touched grids (config.root/maps/plans/{id}/layers), the edits and
   * the preview are fetched again and redrawn; the page is never reloaded.
   * The panel's data-state (busy/done/error) and data-action (edit/undo/publish) say how
   * the last request went.
   */
  geogrid.planEditor = function (map, drawn, layers, targets, config) {
    var state = {geometry: null, type: null, violations: null, status: config.status,
      edits: config.edits || [], touched: config.touched || [], busy: false};
    var planUrl = config.api + "/plans/" + encodeURIComponent(config.plan);
    var signedIn = !!config.csrf;
    var box;
    var panel = L.control({position: "topright"});
    panel.onAdd = function () {
      box = L.DomUtil.create("div", "geogrid-answer geogrid-panel geogrid-plan");
      box.innerHTML = "<h6>方案 " + esc(config.plan) + "：" + esc(config.comment || "") + "</h6>"
        + '<p class="gg-status">基于边界版本 ' + esc(config.base_release) + " · "
        + '<span class="gg-plan-status"></span></p>'
        + (signedIn ? "" : '<p class="gg-signin"><a href="' + esc(config.login)
          + '">登录后编辑</a>（查看预览、提交编辑与发布需先登录）</p>')
        + '<div class="gg-result" role="status" aria-live="polite"></div>'
        + '<details class="gg-section" open><summary>添加编辑 add edit</summary>'
        + '<label>操作 <select name="op"><option value="transfer">划转区域（transfer）</option>'
        + '<option value="split">拆分网格（split）</option></select></label>'
        + '<label><span class="gg-from-label">转出网格</span> '
        + '<input name="from" autocomplete="off" size="17"></label>'
        + '<label class="gg-to">转入网格 <input name="to" autocomplete="off" size="17"></label>'
        + '<label>说明 <input name="comment" autocomplete="off" size="17"></label>'
        + '<p class="gg-drawn">尚未绘制</p>'
        + '<button type="button" name="submit">提交编辑</button></details>'
        + '<details class="gg-section" open><summary>编辑列表 edits（<span class="gg-count">'
        + "</span>）</summary>"
        + '<ol class="gg-edits"></ol>'
        + '<button type="button" name="publish">发布方案 publish</button></details>'
        + '<details class="gg-section" open><summary>预览 preview</summary>'
        + '<div class="gg-preview"></div></details>';
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    panel.addTo(map);
    var field = function (name) { return box.querySelector("[name=" + name + "]"); };
    var result = box.querySelector(".gg-result");
    var drawnNote = box.querySelector(".gg-drawn");
    var previewBox = box.querySelector(".gg-preview");
    var editList = box.querySelector(".gg-edits");

    function syncOp() {
      var split = field("op").value === "split";
      box.querySelector(".gg-to").style.display = split ? "none" : "";
      box.querySelector(".gg-from-label").textContent = split ? "拆分网格" : "转出网格";
      box.setAttribute("data-op", field("op").value);
    }
    field("op").addEventListener("change", syncOp);
    syncOp();

    function show(stateName, action, html) {
      box.setAttribute("data-state", stateName);
      box.setAttribute("data-action", action);
      result.innerHTML = html;
    }

    function headers(json) {
      var h = {"Accept": "application/json", "X-CSRF-Token": config.csrf};
      if (json) h["Content-Type"] = "application/json";
      return h;
    }

    /** fetch -> {ok, status, body}; a network failure is a status 0 with the message. */
    function call(url, method, body) {
      return window.fetch(url, {method: method, headers: headers(body !== undefined),
        credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body)}).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (answer) {
          return {ok: r.ok, status: r.status, body: answer};
        });
      }, function (err) {
        return {ok: false, status: 0, body: {detail: "无法连接服务器：" + err.message}};
      });
    }

    function drawViolations(features) {
      if (state.violations) { map.removeLayer(state.violations); state.violations = null; }
      var located = (features || []).filter(function (v) { return v && v.geometry; });
      if (!located.length) return;
      var look = (geogrid.styles.plan || {}).violation || {color: "#d7191c"};
      state.violations = L.geoJSON({type: "FeatureCollection", features: located}, {
        pane: "gg-gaps", interactive: false, style: function () { return look; },
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, L.extend({}, look, {pane: "gg-gaps"}));
        }
      }).addTo(map);
    }

    function renderEdits() {
      var open = state.status === "open";
      box.querySelector(".gg-plan-status").textContent = STATUS[state.status] || state.status;
      box.setAttribute("data-status", state.status);
      box.querySelector(".gg-count").textContent = state.edits.length;
      editList.innerHTML = state.edits.length ? state.edits.map(function (e) {
        return '<li data-edit="' + esc(e.id) + '">#' + esc(e.id) + " " + esc(OPS[e.op] || e.op)
          + "（" + esc(e.op) + "）" + (e.comment ? "：" + esc(e.comment) : "")
          + (open ? ' <button type="button" name="undo" data-edit="' + esc(e.id)
            + '" title="撤销这项编辑">撤销 undo</button>' : "") + "</li>";
      }).join("") : '<li class="gg-none">尚无编辑</li>';
      field("submit").disabled = !open || !signedIn;
      field("publish").disabled = !open || !state.edits.length || !signedIn;
    }

    /** The preview, or null when nobody is signed in or the API refuses (said in the panel). */
    function fetchPreview() {
      if (!signedIn) {
        previewBox.setAttribute("data-state", "signin");
        previewBox.innerHTML = "<p>登录后显示预览（面积、住户、紧凑度、小区变动、"
          + "不变量检查）。</p>";
        return Promise.resolve(null);
      }
      previewBox.setAttribute("data-state", "busy");
      return call(planUrl + "/preview", "GET").then(function (r) {
        if (r.ok) return r.body;
        previewBox.setAttribute("data-state", "error");
        previewBox.innerHTML = '<div class="gg-error">' + problemHtml("无法获取预览", r.status,
          r.body) + "</div>";
        return null;
      });
    }

    function renderPreview(p) {
      if (!p) return;
      previewBox.innerHTML = previewHtml(p, state.touched);
      previewBox.setAttribute("data-edits", p.edits);
      previewBox.setAttribute("data-valid", p.valid ? "true" : "false");
      previewBox.setAttribute("data-state", "ready");
      drawViolations(p.violations.features);
    }

    function loadPreview() { return fetchPreview().then(renderPreview); }

    /** The plan's status, edits and touched grids, redrawn in place. */
    function loadLayers() {
      return call(config.root + "/maps/plans/" + encodeURIComponent(config.plan) + "/layers",
        "GET").then(function (r) {
        if (!r.ok) throw {html: problemHtml("无法刷新地图", r.status, r.body)};
        state.status = r.body.status;
        state.edits = r.body.edits;
        state.touched = r.body.touched;
        renderEdits();
        [["before", r.body.before], ["after", r.body.after]].forEach(function (pair) {
          var layer = targets[pair[0]];
          layer.clearLayers();
          layer.addData(pair[1]);
        });
        box.setAttribute("data-touched", r.body.touched.join(","));
      });
    }

    function refresh(action, html) {
      return Promise.all([loadLayers(), fetchPreview()]).then(function (done) {
        renderPreview(done[1]);
        show("done", action, html);
      }, function (err) {
        show("error", action, html + '<div class="gg-error">' + (err.html || esc(err.message))
          + "</div>");
      });
    }

    /** One request at a time: the buttons wait while one is under way. */
    function act(action, busyText, request, success, failTitle) {
      if (state.busy) return;
      if (!signedIn) { show("error", action, "<p>请先登录</p>"); return; }
      state.busy = true;
      box.classList.add("gg-busy");
      show("busy", action, "<p>" + esc(busyText) + "</p>");
      request().then(function (r) {
        if (r.ok) return refresh(action, success(r.body));
        show("error", action, problemHtml(failTitle, r.status, r.body));
        drawViolations(r.body && r.body.violations && r.body.violations.features);
        return null;
      }).then(function () {
        state.busy = false;
        box.classList.remove("gg-busy");
      });
    }

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

    field("submit").addEventListener("click", function () {
      var op = field("op").value;
      if (!state.geometry) { show("error", "edit", "<p>请先在地图上绘制</p>"); return; }
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
      act("edit", "提交中…", function () { return call(planUrl + "/edits", "POST", body); },
        function (answer) {
          box.setAttribute("data-edit", answer.edit_id);
          drawn.clearLayers();
          state.geometry = null;
          drawnNote.textContent = "尚未绘制";
          box.removeAttribute("data-drawn");
          return '<p class="gg-ok">已添加编辑 #' + esc(answer.edit_id) + "（edit added）</p>";
        }, "编辑被拒绝 edit refused");
    });

    editList.addEventListener("click", function (e) {
      var button = e.target.closest && e.target.closest("button[name=undo]");
      if (!button) return;
      var id = button.getAttribute("data-edit");
      act("undo", "撤销中…", function () {
        return call(planUrl + "/edits/" + encodeURIComponent(id), "DELETE");
      }, function () {
        box.setAttribute("data-undone", id);
        return '<p class="gg-ok">已撤销编辑 #' + esc(id) + "（edit undone）</p>";
      }, "未能撤销 undo refused");
    });

    field("publish").addEventListener("click", function () {
      if (!window.confirm("发布后生成新的边界版本，所有编辑一并生效。确定发布方案 " + config.plan
        + "？")) return;
      act("publish", "发布中…", function () { return call(planUrl + "/publish", "POST", {}); },
        function (answer) {
          box.setAttribute("data-release", answer.release);
          return '<p class="gg-ok gg-published">已发布为边界版本 ' + esc(answer.release)
            + "（published as release " + esc(answer.release) + '）。<a href="'
            + esc(config.root + "/maps/overview") + '">查看总览地图</a></p>';
        }, "未能发布 publish refused");
    });

    renderEdits();
    loadPreview();
    geogrid.plan = {state: state, box: box, refresh: refresh, loadPreview: loadPreview};
  };

  // ---- the case map --------------------------------------------------------------------

  /** A fixed panel of HTML (escaped by maps/popups.py) in a corner of the map. */
  geogrid.panel = function (map, html, position, className) {
    var control = L.control({position: position});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "geogrid-panel " + (className || ""));
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    control.addTo(map);
    return control;
  };

  /** A cluster's icon: its count, coloured by its worst case (overdue > open > done). */
  function clusterIcon(cluster) {
    var worst = "done";
    cluster.getAllChildMarkers().some(function (m) {
      if (m.options.ggKey === "overdue") { worst = "overdue"; return true; }
      if (m.options.ggKey === "open") worst = "open";
      return false;
    });
    // 40 px as Leaflet.markercluster's own CSS lays the icon out
    return L.divIcon({
      html: "<div><span>" + cluster.getChildCount() + "</span></div>", iconSize: L.point(40, 40),
      className: "marker-cluster gg-case-cluster gg-case-cluster-" + worst
    });
  }

  /** Cases as markers in a Leaflet.markercluster group: rows [lat, lon, key, popup]. */
  geogrid.caseCluster = function (rows, options) {
    var looks = geogrid.styles.casePoints || {};
    var icons = {};
    Object.keys(looks).forEach(function (key) {
      // colours come from maps/styles.py, never from data
      icons[key] = L.divIcon({className: "gg-case gg-case-" + key, iconSize: [14, 14],
        html: '<span style="background:' + looks[key].color + '"></span>'});
    });
    var group = L.markerClusterGroup(L.extend({iconCreateFunction: clusterIcon}, options));
    var markers = rows.map(function (r) {
      var marker = L.marker([r[0], r[1]], {icon: icons[r[2]] || icons.open, ggKey: r[2]});
      marker.bindPopup(r[3], {maxWidth: 340});
      return marker;
    });
    group.addLayers(markers);
    return group;
  };
})(window, document);
