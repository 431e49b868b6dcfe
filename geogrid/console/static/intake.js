/* The intake form (/console/cases/new): pick the place on a MapLibre map of geogrid's own
 * vector tiles, from a compound search or typed coordinates, and see at once what the case
 * would get, from POST /v1/cases/preview (which writes nothing).
 * The time from a click to the answer on screen is kept in #preview's data-ms (the browser
 * test and bench/console.py read it).
 */
(function () {
  "use strict";
  var form = document.getElementById("intake");
  var element = document.getElementById("intake-map");
  if (!form || !element) { return; }
  var api = element.dataset.api || "";
  var field = function (name) { return form.elements[name]; };
  var panel = document.getElementById("preview");
  var results = document.getElementById("compound-results");
  var asked = 0;
  var clickedAt = null;

  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function categoryCode() {
    var value = field("category").value.trim();
    return value ? value.split(/\s+/)[0] : "";
  }
  function firstCategory() {
    var option = document.querySelector("#category-list option");
    return option ? option.value.split(/\s+/)[0] : "E0102";
  }
  function localTime(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    return d.toLocaleString("zh-CN", {timeZone: "Asia/Shanghai", hour12: false});
  }
  function person(p) {
    if (!p || !p.name) { return "（未登记）"; }
    return esc(p.name) + (p.phone ? " " + esc(p.phone) : "");
  }

  function render(data, withCategory) {
    var g = data.grid;
    var html = '<dl class="facts">'
      + "<dt>网格</dt><dd><strong>" + esc(g.name) + "</strong>（" + esc(g.code) + "）</dd>"
      + "<dt>社区</dt><dd>" + esc(g.community.name) + "</dd>"
      + "<dt>街道</dt><dd>" + esc(g.street.name) + "</dd>"
      + "<dt>网格长</dt><dd>" + person(g.leader) + "</dd>"
      + "<dt>党支部</dt><dd>" + esc((g.party_branch && g.party_branch.name) || "（未登记）")
      + (g.party_branch && g.party_branch.secretary && g.party_branch.secretary.name
        ? "，书记 " + person(g.party_branch.secretary) : "") + "</dd>"
      + (data.compound ? "<dt>小区</dt><dd>" + esc(data.compound.name) + "</dd>" : "")
      + (withCategory ? "<dt>立案后时限</dt><dd>" + esc(localTime(data.due_at)) + "前（"
        + esc(data.category.handling_hours) + " 小时）</dd>" : "")
      + "<dt>边界版本</dt><dd>第 " + esc(data.release) + " 版</dd>"
      + "</dl>";
    if (data.flags_zh && data.flags_zh.length) {
      html += '<p>' + data.flags_zh.map(function (f) {
        return '<span class="badge flag">' + esc(f) + "</span>";
      }).join(" ") + "</p>";
    }
    if (withCategory && data.similar && data.similar.length) {
      html += '<div class="alert warn" role="alert"><strong>附近有 ' + data.similar.length
        + " 件同类未办结案件</strong>（" + esc(data.similar_within.distance_m) + " 米、"
        + esc(data.similar_within.days) + " 天内），可能重复：<ul>"
        + data.similar.map(function (s) {
          return '<li><a href="' + api + "/console/cases/" + s.id + '" target="_blank">#'
            + s.id + "</a> " + esc(s.status_zh) + "，相距 " + Math.round(s.distance_m)
            + " 米：" + esc(s.description) + "</li>";
        }).join("") + "</ul></div>";
    } else if (!withCategory) {
      html += '<p class="hint">选择类别后显示处置时限和附近的同类案件。</p>';
    }
    panel.innerHTML = html;
  }

  function preview() {
    var lon = field("lon").value.trim(), lat = field("lat").value.trim();
    var address = field("address").value.trim();
    if ((!lon || !lat) && !address) { return; }
    var code = categoryCode();
    var body = {
      category: code || firstCategory(),
      description: field("description").value.trim() || "（受理中）",
      crs: field("crs").value,
    };
    if (lon && lat) { body.lon = Number(lon); body.lat = Number(lat); }
    else { body.address = address; }
    var mine = ++asked;
    panel.setAttribute("data-state", "asking");
    window.geogridConsole.api("POST", api + "/v1/cases/preview", body).then(function (r) {
      if (mine !== asked) { return; }  // a newer question is on its way
      if (r.ok) {
        render(r.data, Boolean(code));
        panel.setAttribute("data-state", "ok");
        panel.setAttribute("data-grid", r.data.grid.code);
      } else {
        panel.innerHTML = '<p class="alert error" role="alert">' + esc(
          (r.data && r.data.detail) || ("出错了（" + r.status + "）")) + "</p>";
        panel.setAttribute("data-state", "error");
        panel.removeAttribute("data-grid");
      }
      if (clickedAt !== null) {
        panel.setAttribute("data-ms", String(Math.round(performance.now() - clickedAt)));
        clickedAt = null;
      }
      if (r.ok) { showPoint(r.data.location); }
    });
  }

  var map = null;
  function showPoint(location) {
    if (!map || !location || location.lon == null || !map.getSource("pick")) { return; }
    // The answer's point is CGCS2000, within centimetres of the map's WGS84. A circle layer,
    // not a maplibregl.Marker: a marker keeps the map repainting, which on a slow machine
    // delays everything else the page does.
    map.getSource("pick").setData({type: "Point", coordinates: [location.lon, location.lat]});
  }
  if (window.maplibregl) {
    map = new maplibregl.Map({
      container: element,
      style: {
        version: 8,
        sources: {
          geogrid: {type: "vector", url: api + "/ogc/tiles/WebMercatorQuad/tilejson.json"},
          pick: {type: "geojson", data: {type: "FeatureCollection", features: []}},
        },
        layers: [
          {id: "background", type: "background", paint: {"background-color": "#e9e4d8"}},
          {id: "district-fill", type: "fill", source: "geogrid", "source-layer": "district",
            paint: {"fill-color": "#fffdf6"}},
          {id: "grids", type: "fill", source: "geogrid", "source-layer": "grids",
            paint: {"fill-color": "#3b7dd8", "fill-opacity": 0.12}},
          {id: "grids-outline", type: "line", source: "geogrid", "source-layer": "grids",
            paint: {"line-color": "#3b7dd8", "line-width": 0.8}},
          {id: "communities-outline", type: "line", source: "geogrid",
            "source-layer": "communities", paint: {"line-color": "#555", "line-width": 1.4}},
          {id: "pick", type: "circle", source: "pick",
            paint: {"circle-radius": 7, "circle-color": "#c53030", "circle-stroke-width": 2,
              "circle-stroke-color": "#fff"}},
        ],
      },
      center: [117.35, 31.9], zoom: 11.5, attributionControl: {compact: true},
      fadeDuration: 0,  // no cross-fading frames: nothing to fade here, and each frame costs
    });
    map.addControl(new maplibregl.NavigationControl());
    map.on("click", function (event) {
      clickedAt = performance.now();
      field("lon").value = event.lngLat.lng.toFixed(7);
      field("lat").value = event.lngLat.lat.toFixed(7);
      field("crs").value = "wgs84";
      field("address").value = "";
      preview();
    });
    window.geogridIntakeMap = map;  // for the browser test
  }

  var timer = null;
  function later() { clearTimeout(timer); timer = setTimeout(preview, 250); }
  ["lon", "lat", "address"].forEach(function (name) {
    field(name).addEventListener("input", later);
  });
  field("crs").addEventListener("change", preview);
  field("category").addEventListener("change", preview);

  var search = document.getElementById("compound-q");
  var searchTimer = null;
  search.addEventListener("input", function () {
    clearTimeout(searchTimer);
    var q = search.value.trim();
    if (!q) { results.innerHTML = ""; return; }
    searchTimer = setTimeout(function () {
      window.geogridConsole.api("GET", api + "/v1/compounds?limit=8&q=" + encodeURIComponent(q))
        .then(function (r) {
          var found = (r.ok && r.data.features) || [];
          results.innerHTML = found.length ? found.map(function (f) {
            var p = f.properties;
            return '<li><button type="button" data-lon="' + p.point.lon + '" data-lat="'
              + p.point.lat + '">' + esc(p.name) + "（" + esc(p.community.name || "")
              + "）</button></li>";
          }).join("") : '<li class="hint">没有名称含“' + esc(q) + '”的小区</li>';
        });
    }, 200);
  });
  results.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-lon]");
    if (!button) { return; }
    field("lon").value = button.getAttribute("data-lon");
    field("lat").value = button.getAttribute("data-lat");
    field("crs").value = "wgs84";
    if (map) { map.flyTo({center: [Number(field("lon").value), Number(field("lat").value)], zoom: 15}); }
    preview();
  });
  preview();  // a form sent back with an error keeps its place
})();
