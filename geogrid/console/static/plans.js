/* The plan page's chart: households per changed grid before and after the plan.
 * Its data is the page's <script type="application/json" id="plan-chart-data"> (not run:
 * the Content-Security-Policy allows only script files); the table above shows the same
 * numbers for those who do not see the chart.
 */
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("plan-chart-data");
    var canvas = document.getElementById("plan-chart");
    if (!source || !canvas || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    if (!data.labels.length) return;
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          {label: "修改前", data: data.before, backgroundColor: "#a0aec0"},
          {label: "修改后", data: data.after, backgroundColor: "#dd6b20"}
        ]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: {position: "bottom"},
          title: {display: true, text: "住户数（户数规范 " + data.norm.join("–") + " 户）"}
        },
        scales: {y: {beginAtZero: true, title: {display: true, text: "住户"}}}
      }
    });
    canvas.setAttribute("data-drawn", String(chart.data.datasets.length));
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
