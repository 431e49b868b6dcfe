/* The dashboard's charts (dashboard.html): the figures come from the page's
 * <script type="application/json" id="dashboard-data"> block (data, not code, so the CSP allows
 * it); every chart has a table with the same numbers below it. */
(function () {
  "use strict";
  var COLOURS = {open: "#1f5fa8", closed: "#1e7b34", overdue: "#b42318"};
  var LABELS = {open: "在办", closed: "结案", overdue: "超期"};

  function barChart(canvas, units, horizontal) {
    if (!canvas || !units.length) { return; }
    var datasets = ["open", "closed", "overdue"].map(function (key) {
      return {
        label: LABELS[key],
        backgroundColor: COLOURS[key],
        data: units.map(function (u) { return u[key]; })
      };
    });
    new window.Chart(canvas, {
      type: "bar",
      data: {labels: units.map(function (u) { return u.name; }), datasets: datasets},
      options: {
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        plugins: {legend: {position: "bottom"}},
        scales: {x: {ticks: {autoSkip: false}}, y: {ticks: {autoSkip: false}}}
      }
    });
  }

  function draw() {
    var block = document.getElementById("dashboard-data");
    if (!block || !window.Chart) { return; }
    var figures = JSON.parse(block.textContent);
    barChart(document.getElementById("chart-streets"), figures.streets, false);
    barChart(document.getElementById("chart-communities"), figures.communities, true);
    barChart(document.getElementById("chart-departments"), figures.departments || [], true);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
