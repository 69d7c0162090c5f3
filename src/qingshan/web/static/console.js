/* 青山 console: renders every chart container (data-chart) with vega-embed from the locally served bundle, and
   makes the small-screen menu close with Escape.
   Each container holds its Vega-Lite spec in a <script type="application/json" class="chart-spec">.
   When done, the container gets data-rendered="1" (or "error"), which browser tests wait for.

   Charts take their container's width: the specs carry fixed pixel widths (the reports render the same specs with
   vl-convert, which has no container), so here a single view gets width "container" with autosize "fit-x" and Vega
   follows window resizes itself; a faceted or concatenated spec (which Vega-Lite cannot size to a container) is
   drawn at its own width and, if wider than its container, redrawn narrower by the measured excess, again when
   the container's width changes. */
(function () {
  "use strict";

  var COMPOSITE = ["facet", "hconcat", "vconcat", "concat", "repeat"];

  function isComposite(spec) {
    return COMPOSITE.some(function (k) { return Object.prototype.hasOwnProperty.call(spec, k); });
  }

  function copy(obj) { return JSON.parse(JSON.stringify(obj)); }

  function toContainer(spec) {
    var s = copy(spec);
    s.width = "container";
    s.autosize = { type: "fit-x", contains: "padding", resize: true };  // the height stays the spec's
    // a title longer than the chart ends in "…" instead of being cut off at the edge
    if (s.title && typeof s.title === "object") { s.title.limit = { expr: "width" }; }
    return s;
  }

  function draw(fig, target, spec) {
    if (fig._view) { fig._view.finalize(); fig._view = null; }
    return window.vegaEmbed(target, spec, { actions: false, mode: "vega-lite", renderer: "svg" })
      .then(function (result) {
        fig._view = result;
        // a mark whose datum carries a url of this site (the map's water sections) opens it when clicked; the
        // same links are in the page's list for the keyboard
        result.view.addEventListener("click", function (ev, item) {
          var url = item && item.datum && item.datum.url;
          if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") { window.location.assign(url); }
        });
        return result;
      });
  }

  function innerWidth(spec) {
    var inner = spec.spec || spec;
    return typeof inner.width === "number" ? inner.width : null;
  }

  function withInnerWidth(spec, width) {
    var s = copy(spec);
    (s.spec || s).width = width;
    return s;
  }

  /* A composite spec: draw at its own width (its title at most as wide as the container), then shrink the inner
     width by what sticks out; twice at most, as axis labels change with the width. */
  function drawFitted(fig, target, spec) {
    var own = innerWidth(spec);
    var room = target.clientWidth;
    var s = copy(spec);
    if (room && s.title && typeof s.title === "object") { s.title.limit = room - 10; }
    // facet headers too end in "…" within the container (the full text stays in the tooltip and the page's table)
    ["row", "column"].forEach(function (k) {
      var f = s.facet && s.facet[k];
      if (room && f) { f.header = Object.assign({}, f.header, { labelLimit: room - 10 }); }
    });
    function fit(width, tries) {
      var svg = target.querySelector("svg");
      if (!svg || width === null || !room || tries === 0) { return null; }
      var excess = svg.getBoundingClientRect().width - room;
      if (excess <= 0) { return null; }
      var next = Math.max(80, Math.floor(width - excess - 2));
      if (next === width) { return null; }
      return draw(fig, target, withInnerWidth(s, next)).then(function () { return fit(next, tries - 1); });
    }
    return draw(fig, target, s).then(function () { return fit(own, 2); });
  }

  function render(fig) {
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
    var composite = isComposite(spec);
    var done = composite ? drawFitted(fig, target, spec) : draw(fig, target, toContainer(spec));
    done.then(function () { fig.setAttribute("data-rendered", "1"); })
      .catch(function (err) {
        target.textContent = "图表绘制失败：" + err;
        fig.setAttribute("data-rendered", "error");
      });
    if (composite && typeof window.ResizeObserver === "function") {
      var last = target.clientWidth;
      var timer = null;
      new window.ResizeObserver(function () {
        var now = target.clientWidth;
        if (now === last) { return; }
        last = now;
        clearTimeout(timer);
        timer = setTimeout(function () {
          fig.removeAttribute("data-rendered");
          drawFitted(fig, target, spec)
            .then(function () { fig.setAttribute("data-rendered", "1"); })
            .catch(function () { fig.setAttribute("data-rendered", "error"); });
        }, 150);
      }).observe(fig);
    }
  }

  function renderAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), render);
  }

  /* Escape closes the open small-screen menu and returns focus to its button. A browser that cannot show a closed
     <details>' content by CSS (no ::details-content) gets the menu opened on wide screens instead. */
  function menuKeys() {
    var menu = document.querySelector("details.navmenu");
    if (!menu) { return; }
    if (window.CSS && CSS.supports && !CSS.supports("selector(::details-content)") && window.matchMedia) {
      var wide = window.matchMedia("(min-width: 961px)");
      var follow = function () { menu.open = wide.matches; };
      follow();
      if (wide.addEventListener) { wide.addEventListener("change", follow); }
    }
    menu.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
  }

  /* the big screen (screen.js) redraws its map with new data */
  window.qingshanCharts = { render: render };

  function start() {
    menuKeys();
    renderAll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
