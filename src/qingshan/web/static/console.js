/* 青山 console: renders every chart container (data-chart) with vega-embed from the locally served bundle.
   Each container holds its Vega-Lite spec in a <script type="application/json" class="chart-spec">.
   When done, the container gets data-rendered="1" (or "error"), which browser tests wait for. */
(function () {
  "use strict";

  function renderAll() {
    var figures = document.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(figures, function (fig) {
      var target = fig.querySelector(".chart-canvas");
      var source = fig.querySelector("script.chart-spec");
      if (!target || !source) { return; }
      if (typeof window.vegaEmbed !== "function") {
        target.textContent = "图表脚本未能加载";
        fig.setAttribute("data-rendered", "error");
        return;
      }
      var spec;
      try {
        spec = JSON.parse(source.textContent);
      } catch (e) {
        target.textContent = "图表数据有误";
        fig.setAttribute("data-rendered", "error");
        return;
      }
      window.vegaEmbed(target, spec, { actions: false, mode: "vega-lite", renderer: "svg" })
        .then(function () { fig.setAttribute("data-rendered", "1"); })
        .catch(function (err) {
          target.textContent = "图表绘制失败：" + err;
          fig.setAttribute("data-rendered", "error");
        });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderAll);
  } else {
    renderAll();
  }
})();
