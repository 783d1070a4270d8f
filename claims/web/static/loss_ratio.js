// The loss-ratio chart (no build step, no inline script: the CSP is default-src 'self').
// Reads the numbers from <script type="application/json" id="lr-data"> and draws, with the
// vendored ECharts (SVG renderer), earned premium and paid as bars per county, product and
// policy year, and the loss ratio (%) as a line on a second axis. The table under the chart
// carries the same numbers for keyboard and screen-reader users.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("lr-data");
    var el = document.getElementById("lr-chart");
    if (!source || !el || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 64, right: 56, top: 40, bottom: 56 },
      xAxis: { type: "category", data: data.groups, axisLabel: { interval: 0, rotate: data.groups.length > 4 ? 20 : 0 } },
      yAxis: [
        { type: "value", name: el.dataset.yuan },
        { type: "value", name: el.dataset.ratio, min: 0 }
      ],
      series: [
        { name: el.dataset.earned, type: "bar", data: data.earned.map(Number) },
        { name: el.dataset.paid, type: "bar", data: data.paid.map(Number) },
        { name: el.dataset.ratio, type: "line", yAxisIndex: 1, connectNulls: false, data: data.ratio }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
