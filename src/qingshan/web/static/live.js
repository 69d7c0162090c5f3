/* 青山 console, live pages: the overview ("/"), the air table ("/air") and the data-capture page ("/air/capture")
   follow new data without a reload.

   The page's root element carries data-live (overview | air | capture | reload) and data-version, the store
   version it was rendered from. An EventSource on /api/v1/events receives a "state" event on connecting and on
   every change of the store; when its version differs from the page's, the page fetches the JSON it shows
   (/api/v1/overview, /api/v1/air/stations, /api/v1/air/capture) and rewrites the numbers, "数据截至", the
   station cards/table and the capture panel in place. When the stream drops, the status says
   "已断开，N 秒后重试", the data are fetched once (polling), and the stream is reopened after 5, 10, 20, 40 then
   60 s. Browsers without EventSource poll once a minute. No framework, no external address. */
(function () {
  "use strict";

  var DASH = "—";
  var POLL_MS = 60000;
  var MAX_RETRY_S = 60;

  function text(x) { return x === null || x === undefined ? DASH : String(x); }
  function fixed(x, digits) {
    return (typeof x === "number" && isFinite(x)) ? x.toFixed(digits) : DASH;
  }
  /* "2025-03-31T14:00:00" → "2025-03-31 14:00" (render.hour_text). */
  function hourText(iso) {
    if (!iso) { return DASH; }
    var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
    return m ? m[1] + " " + m[2] : iso;
  }
  function primary(list) {
    if (!list || !list.length) { return DASH; }
    return list.map(function (p) { return p.name; }).join("、");
  }
  function setText(el, value) {
    if (el && el.textContent !== value) {
      el.textContent = value;
      el.classList.remove("flash");
      void el.offsetWidth; // restart the animation
      el.classList.add("flash");
    }
  }
  function each(selector, fn, scope) {
    Array.prototype.forEach.call((scope || document).querySelectorAll(selector), fn);
  }
  function badge(el, x) {
    if (!el) { return; }
    el.style.background = x.colour;
    el.style.color = x.text_colour;
    el.setAttribute("data-aqi", x.aqi === null ? "" : String(x.aqi));
    setText(el, text(x.aqi));
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      });
  }

  function showAsOf(iso) {
    each("time[data-as-of]", function (t) {
      t.setAttribute("data-as-of", iso || "");
      setText(t, hourText(iso));
    });
  }

  function showCity(cityNow) {
    var card = document.querySelector("[data-panel=city-aqi]");
    if (card) {
      card.style.background = cityNow.colour;
      card.style.color = cityNow.text_colour;
      var big = card.querySelector("[data-city-aqi]");
      if (big) {
        big.setAttribute("data-city-aqi", cityNow.aqi === null ? "" : String(cityNow.aqi));
        setText(big, text(cityNow.aqi));
      }
      setText(card.querySelector("[data-city-averaged]"),
        cityNow.stations_averaged + "/" + cityNow.evaluation_stations);
    }
    each("[data-city-category]", function (el) {
      setText(el, cityNow.category + (cityNow.level_name && card ? "（" + cityNow.level_name + "）" : ""));
    });
    each("[data-city-primary]", function (el) { setText(el, primary(cityNow.primary)); });
    var line = document.querySelector("[data-city-line] .aqi-badge");
    if (line) { badge(line, cityNow); }
  }

  function showStationCards(stations) {
    stations.forEach(function (s) {
      var card = document.querySelector("a.station-card[data-station=\"" + CSS.escape(s.code) + "\"]");
      if (!card) { return; }
      card.style.background = s.colour;
      card.style.color = s.text_colour;
      setText(card.querySelector("[data-field=aqi]"), text(s.aqi));
      setText(card.querySelector("[data-field=cat]"), s.category + " · " + primary(s.primary));
    });
  }

  function showStationTable(stations) {
    stations.forEach(function (s) {
      var row = document.querySelector("table[data-table=stations] tr[data-station=\"" + CSS.escape(s.code) + "\"]");
      if (!row) { return; }
      row.classList.toggle("muted", !s.has_data);
      badge(row.querySelector("[data-col=aqi] .aqi-badge"), s);
      setText(row.querySelector("[data-col=category]"), s.category);
      setText(row.querySelector("[data-col=primary]"), primary(s.primary));
      each("td[data-col]", function (td) {
        var c = td.getAttribute("data-col");
        if (s.values && Object.prototype.hasOwnProperty.call(s.values, c)) {
          setText(td, fixed(s.values[c], c === "co" || c === "co_24h" ? 1 : 0));
        }
      }, row);
    });
  }

  function statusOf(s) {
    if (s.offline) { return "离线"; }
    if (s.lost) { return "已无法满足"; }
    return s.received >= s.expected ? "齐全" : "有缺失";
  }

  function captureRow(s, c, full) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-capture-station", s.code);
    if (s.offline || s.lost) { tr.className = "capture-bad"; }
    function cell(value, col, num) {
      var td = document.createElement("td");
      if (col) { td.setAttribute("data-col", col); }
      if (num) { td.className = "num"; }
      td.textContent = value;
      tr.appendChild(td);
      return td;
    }
    var name = cell(s.name);
    if (s.group === "control" || s.group === "town") {
      var small = document.createElement("small");
      small.textContent = s.group === "control" ? "对照点" : "乡镇站";
      name.appendChild(document.createTextNode(" "));
      name.appendChild(small);
    }
    cell(s.received + "/" + s.expected, "received", true);
    cell(fixed(s.share, 1) + "%", "share", true);
    if (full) {
      ["pm25", "pm10", "o3", "no2", "so2", "co"].forEach(function (p) {
        cell(fixed(s.by_pollutant[p].share, 1) + "%", p, true);
      });
      if (c.period === "month") { cell(text(s.valid_days), "valid_days", true); }
    }
    cell(hourText(s.last_hour), "last_hour");
    cell(statusOf(s), "status");
    return tr;
  }

  function showCapture(c) {
    var panel = document.querySelector("[data-panel=capture]");
    if (!panel || !c) { return; }
    var full = panel.getAttribute("data-capture-full") === "1";
    var set = function (key, value) { setText(panel.querySelector("[data-cap=" + key + "]"), value); };
    set("first_day", c.first_day);
    set("now", hourText(c.clock.now));
    set("mean_share", fixed(c.summary.mean_share, 1) + "%");
    set("expected", String(c.expected));
    set("complete", String(c.summary.complete));
    set("stations", String(c.summary.stations));
    set("lost", String(c.summary.lost));
    set("offline", String(c.summary.offline));
    set("devices_offline", c.devices.offline_count === null ? DASH : String(c.devices.offline_count));
    set("devices_total", String(c.devices.total));
    set("rule", c.rule.text);
    set("clock_label", c.clock.label);
    var rows = c.stations.slice();
    if (!full) {
      rows.sort(function (a, b) { return (a.share === null ? -1 : a.share) - (b.share === null ? -1 : b.share); });
      rows = rows.slice(0, 8);
    }
    var body = panel.querySelector("table[data-table=capture] tbody");
    if (body) {
      var fresh = document.createElement("tbody");
      rows.forEach(function (s) { fresh.appendChild(captureRow(s, c, full)); });
      body.parentNode.replaceChild(fresh, body);
    }
  }

  function refresher(root) {
    var kind = root.getAttribute("data-live");
    var city = root.getAttribute("data-city");
    var q = city ? "?city=" + encodeURIComponent(city) : "";
    if (kind === "overview") {
      return function () {
        return getJSON("/api/v1/overview" + q).then(function (o) {
          showAsOf(o.as_of);
          showCity(o.city_now);
          var today = document.querySelector("[data-panel=today]");
          if (today) {
            setText(today.querySelector("[data-today-date]"), o.today.date);
            setText(today.querySelector("[data-today-hours]"), String(o.today.hours));
            setText(today.querySelector("[data-today-primary]"), primary(o.today.primary));
          }
          showStationCards(o.stations);
          showCapture(o.capture);
        });
      };
    }
    if (kind === "air") {
      return function () {
        return getJSON("/api/v1/air/stations" + q).then(function (d) {
          showAsOf(d.as_of);
          showCity(d.city_now);
          showStationTable(d.stations);
        });
      };
    }
    if (kind === "capture") {
      var period = root.getAttribute("data-period") || "today";
      return function () {
        return getJSON("/api/v1/air/capture" + (q ? q + "&" : "?") + "period=" + encodeURIComponent(period))
          .then(function (c) {
            showAsOf(c.as_of);
            showCapture(c);
          });
      };
    }
    // "reload": a page without data (an empty store): any change reloads it.
    return function () { window.location.reload(); return Promise.resolve(); };
  }

  function start(root) {
    var status = document.querySelector("[data-live-status]");
    var version = root.getAttribute("data-version");
    var refresh = refresher(root);
    var busy = false;
    var pending = null;
    var retry = 5;
    var timer = null;
    var source = null;

    function setStatus(state, message) {
      if (!status) { return; }
      status.setAttribute("data-state", state);
      status.textContent = message;
    }

    /* Fetch and show the data of version v (null: whatever is current); one fetch at a time, the last wins. */
    function update(v) {
      if (busy) { pending = v; return; }
      busy = true;
      refresh().then(function () {
        if (v !== null) { version = v; root.setAttribute("data-version", v); }
        root.setAttribute("data-updated", String(Date.now()));
      }).catch(function () { /* the next event or retry tries again */ }).then(function () {
        busy = false;
        if (pending !== null) { var p = pending; pending = null; if (p !== version) { update(p); } }
      });
    }

    function countdown(seconds) {
      var left = seconds;
      setStatus("down", "已断开，" + left + " 秒后重试");
      timer = window.setInterval(function () {
        left -= 1;
        if (left > 0) {
          setStatus("down", "已断开，" + left + " 秒后重试");
          return;
        }
        window.clearInterval(timer);
        timer = null;
        update(null); // polling: the data may have changed while the stream was down
        connect();
      }, 1000);
    }

    function connect() {
      setStatus("connecting", "正在连接实时更新…");
      source = new EventSource("/api/v1/events");
      source.addEventListener("state", function (e) {
        retry = 5;
        setStatus("live", "实时更新中");
        var d;
        try { d = JSON.parse(e.data); } catch (err) { return; }
        if (d.version !== version) { update(d.version); }
      });
      source.onerror = function () {
        source.close();
        source = null;
        countdown(retry);
        retry = Math.min(retry * 2, MAX_RETRY_S);
      };
    }

    if (typeof window.EventSource !== "function") {
      setStatus("poll", "每分钟刷新");
      window.setInterval(function () { update(null); }, POLL_MS);
      return;
    }
    connect();
    window.addEventListener("pagehide", function () { if (source) { source.close(); } });
  }

  function init() {
    var root = document.querySelector("[data-live]");
    if (root) { start(root); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
