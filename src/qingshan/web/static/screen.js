/* 青山 big screen (/screen): follows the live event stream without reloading.
   The header carries data-version (the store version the page was rendered from). An EventSource on
   /api/v1/events gets a "state" event on connecting and on every change; when the version differs, the screen
   fetches /api/v1/overview (the numbers and lists), /screen/map.json (the map) and, when the open alarms are shown
   (bureau, admin), /api/v1/alerts; it rewrites the tiles in place and
   sets data-version and data-updated on the header (browser tests wait on these). When the stream drops it is
   reopened after 5, 10, 20 … 60 s. No framework, no external address. */
(function () {
  "use strict";

  var DASH = "—";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function setText(node, value) {
    if (node && node.textContent !== value) {
      node.textContent = value;
      node.classList.remove("flash"); void node.offsetWidth; node.classList.add("flash");
    }
  }
  function hourText(iso) {
    var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso || "");
    return m ? m[1] + " " + m[2] : (iso || DASH);
  }
  function primary(list) {
    return list && list.length ? list.map(function (p) { return p.name; }).join("、") : DASH;
  }
  function fixed1(x) { return (typeof x === "number" && isFinite(x)) ? x.toFixed(1) : DASH; }
  function replaceItems(list, items, empty) {
    if (!list) { return; }
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!items.length) { list.appendChild(el("li", empty, "none")); }
    items.forEach(function (li) { list.appendChild(li); });
  }

  function showOverview(o) {
    each("time[data-as-of]", function (t) { t.setAttribute("data-as-of", o.as_of || ""); setText(t, hourText(o.as_of)); });
    var tile = document.querySelector("[data-tile=city]");
    if (tile) {
      tile.style.background = o.city_now.colour;
      tile.style.color = o.city_now.text_colour;
      setText(tile.querySelector("[data-city-aqi]"), o.city_now.aqi === null ? DASH : String(o.city_now.aqi));
      setText(tile.querySelector("[data-city-category]"), o.city_now.category);
      setText(tile.querySelector("[data-city-primary]"), primary(o.city_now.primary));
    }
    var worst = o.stations.filter(function (s) { return (s.group === "city" || s.group === "town") && s.aqi !== null; })
      .sort(function (a, b) { return b.aqi - a.aqi || (a.name < b.name ? -1 : 1); }).slice(0, 5);
    replaceItems(document.querySelector("[data-worst]"), worst.map(function (s) {
      var li = el("li");
      var chip = el("span", String(s.aqi), "chip");
      chip.style.background = s.colour; chip.style.color = s.text_colour;
      li.appendChild(chip);
      li.appendChild(document.createTextNode(" " + s.name + " "));
      li.appendChild(el("small", s.category));
      return li;
    }), "暂无数据");
    var alerts = o.alerts.air.map(function (a) { return el("li", a.message); })
      .concat(o.alerts.hj212.map(function (a) { return el("li", a.kind_label + " · " + a.message); }));
    replaceItems(document.querySelector("[data-alerts]"), alerts, "无预警");
    var risky = o.targets.rows.filter(function (r) { return r.status === "at_risk" || r.status === "missed"; });
    replaceItems(document.querySelector("[data-targets]"), risky.map(function (r) {
      return el("li", r.name + " · " + r.status_text + "（累计 " + fixed1(r.ytd_value) + " " + (r.unit || "") +
        "，目标 " + r.target + "）", "status-" + r.status);
    }), o.targets.available ? "各项目标均按序推进" : "未配置年度目标");
  }
  function each(selector, fn) { Array.prototype.forEach.call(document.querySelectorAll(selector), fn); }

  function showAlarms(a) {
    replaceItems(document.querySelector("[data-alarms]"), a.items.map(function (x) {
      return el("li", x.level_text + " · " + (x.subject_name || x.subject) + " · " + x.rule_title);
    }), "无待处置报警");
  }

  function showMap(c) {
    var fig = document.querySelector("[data-tile=map] figure.chart");
    if (!fig || !window.qingshanCharts) { return; }
    fig.querySelector("script.chart-spec").textContent = JSON.stringify(c.spec);
    var cap = fig.querySelector("figcaption");
    if (cap) { cap.textContent = c.caption || ""; }
    fig.removeAttribute("data-rendered");
    window.qingshanCharts.render(fig);
  }

  function start(root) {
    var status = document.querySelector("[data-live-status]");
    var version = root.getAttribute("data-version");
    var city = root.getAttribute("data-city");
    var q = city ? "?city=" + encodeURIComponent(city) : "";
    var busy = false, pending = null, retry = 5;

    function setStatus(state, text) {
      if (status) { status.setAttribute("data-state", state); status.textContent = text; }
    }
    function update(v) {
      if (busy) { pending = v; return; }
      busy = true;
      var alarmsShown = !!document.querySelector("[data-alarms]");
      Promise.all([getJSON("/api/v1/overview" + q), getJSON("/screen/map.json" + q),
                   alarmsShown ? getJSON("/api/v1/alerts?state=new&state=acknowledged&limit=5") : null])
      .then(function (r) {
        showOverview(r[0]);
        showMap(r[1]);
        if (r[2]) { showAlarms(r[2]); }
        version = v; root.setAttribute("data-version", v);
        root.setAttribute("data-updated", String(Date.now()));
      }).catch(function () { /* the next event tries again */ }).then(function () {
        busy = false;
        if (pending !== null) { var p = pending; pending = null; if (p !== version) { update(p); } }
      });
    }
    function connect() {
      setStatus("connecting", "正在连接实时更新…");
      var source = new EventSource("/api/v1/events");
      source.addEventListener("state", function (e) {
        retry = 5;
        setStatus("live", "实时更新中");
        var d;
        try { d = JSON.parse(e.data); } catch (err) { return; }
        if (d.version !== version) { update(d.version); }
      });
      source.onerror = function () {
        source.close();
        setStatus("down", "已断开，" + retry + " 秒后重试");
        window.setTimeout(connect, retry * 1000);
        retry = Math.min(retry * 2, 60);
      };
      window.addEventListener("pagehide", function () { source.close(); });
    }
    if (typeof window.EventSource !== "function") {
      setStatus("poll", "每分钟刷新");
      window.setInterval(function () { update(version); }, 60000);
      return;
    }
    connect();
  }

  function init() {
    var root = document.querySelector("[data-screen=live]");
    if (root) { start(root); return; }
    var empty = document.querySelector("[data-screen=reload]");
    if (empty && typeof window.EventSource === "function") {
      new EventSource("/api/v1/events").addEventListener("state", function (e) {
        try { if (JSON.parse(e.data).version !== empty.getAttribute("data-version")) { window.location.reload(); } }
        catch (err) { /* ignore */ }
      });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
