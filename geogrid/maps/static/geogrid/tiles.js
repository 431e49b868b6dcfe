// The vector tile map (/maps/tiles): geogrid's tiles drawn by MapLibre GL JS.
// "paper": the district on a plain background, nothing from another host (WebMercatorQuad);
// "amap": AMap's raster tiles under the grids of GCJ02WebMercatorQuad, which line up with it.
(function () {
  "use strict";
  var element = document.getElementById("map");
  var api = element.dataset.api || "";
  var amapTiles = (element.dataset.amap || "").split("|");
  var TMS = { paper: "WebMercatorQuad", amap: "GCJ02WebMercatorQuad" };

  function style(base) {
    var sources = {
      geogrid: { type: "vector", url: api + "/ogc/tiles/" + TMS[base] + "/tilejson.json" },
    };
    var layers = [{ id: "background", type: "background", paint: { "background-color": "#e9e4d8" } }];
    if (base === "amap") {
      sources.amap = {
        type: "raster", tiles: amapTiles, tileSize: 256, maxzoom: 18,
        attribution: "© 高德地图 AutoNavi",
      };
      layers.push({ id: "amap", type: "raster", source: "amap" });
    } else {
      layers.push({
        id: "district-fill", type: "fill", source: "geogrid", "source-layer": "district",
        paint: { "fill-color": "#fffdf6" },
      });
    }
    layers.push(
      {
        id: "grids", type: "fill", source: "geogrid", "source-layer": "grids",
        paint: {
          "fill-color": ["match", ["get", "kind"], "dedicated", "#d9822b", "#3b7dd8"],
          "fill-opacity": 0.18,
        },
      },
      {
        id: "grids-outline", type: "line", source: "geogrid", "source-layer": "grids",
        paint: { "line-color": "#3b7dd8", "line-width": 0.8 },
      },
      {
        id: "communities-outline", type: "line", source: "geogrid", "source-layer": "communities",
        paint: { "line-color": "#555", "line-width": 1.4 },
      },
      {
        id: "district-outline", type: "line", source: "geogrid", "source-layer": "district",
        paint: { "line-color": "#222", "line-width": 2.5 },
      },
      {
        id: "stations", type: "circle", source: "geogrid", "source-layer": "stations",
        minzoom: 13,
        paint: { "circle-radius": 4, "circle-color": "#c0392b", "circle-stroke-color": "#fff",
                 "circle-stroke-width": 1 },
      }
    );
    return { version: 8, sources: sources, layers: layers };
  }

  var map = new maplibregl.Map({
    container: "map", style: style("paper"), center: [117.35, 31.9], zoom: 11.5,
    attributionControl: { compact: true },
  });
  map.addControl(new maplibregl.NavigationControl());
  map.on("click", "grids", function (event) {
    var p = event.features[0].properties;
    new maplibregl.Popup().setLngLat(event.lngLat)
      .setText(p.name + "（" + p.code + "）· " + p.community_name).addTo(map);
  });
  document.getElementById("bases").addEventListener("change", function (event) {
    window.geogridBase = event.target.value;
    map.setStyle(style(event.target.value));
  });
  window.geogridBase = "paper";
  window.geogridMap = map;  // for the browser test and the console
})();
