// Sortable data tables (progressive enhancement; docs/console.md "表格：排序、最差标记、导出").
// Without this script every table reads as the server rendered it. With it, each header cell of a
// <table class="data"> gets a real <button> (mouse and keyboard), the header carries aria-sort, numbers sort as
// numbers (a cell may give its key in data-sort, e.g. "12/31" days), and empty or "—" cells stay last in both
// directions. Rows marked data-fixed (the city total) stay at the bottom. No framework, no external file.
(function () {
  'use strict';

  var MISSING = /^(?:—|–|-|无数据|)$/;
  var NUMBER = /^[+\-−]?\d+(?:\.\d+)?/;

  function keyOf(cell) {
    if (!cell) return null;
    var raw = cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent;
    var text = raw.replace(/\s+/g, ' ').trim();
    if (MISSING.test(text)) return null;
    var m = text.match(NUMBER);
    if (m) return { num: parseFloat(m[0].replace('−', '-')), text: text };
    return { num: null, text: text };
  }

  function compare(a, b, numeric) {
    if (numeric) return a.num - b.num;
    return a.text.localeCompare(b.text, 'zh-CN');
  }

  function sortBy(table, index, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var fixed = rows.filter(function (r) { return r.hasAttribute('data-fixed') || r.querySelector('td[colspan]'); });
    var movable = rows.filter(function (r) { return fixed.indexOf(r) < 0; });
    var descending = th.getAttribute('aria-sort') === 'ascending';
    var keyed = movable.map(function (r, i) { return { row: r, key: keyOf(r.cells[index]), at: i }; });
    var present = keyed.filter(function (k) { return k.key !== null; });
    var numeric = present.length > 0 && present.every(function (k) { return k.key.num !== null; });
    keyed.sort(function (p, q) {
      if (p.key === null || q.key === null) {
        if (p.key === null && q.key === null) return p.at - q.at;
        return p.key === null ? 1 : -1;  // missing last, whatever the direction
      }
      var c = compare(p.key, q.key, numeric);
      if (descending) c = -c;
      return c !== 0 ? c : p.at - q.at;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    fixed.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[table.tHead.rows.length - 1].cells, function (h) {
      if (h.hasAttribute('aria-sort')) h.setAttribute('aria-sort', 'none');
    });
    th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    var status = table.parentNode.querySelector('.sort-status');
    if (status) status.textContent = '已按“' + th.querySelector('button').textContent.trim() + '”' +
      (descending ? '降序' : '升序') + '排列';
  }

  function enhance(table) {
    if (table.dataset.sortable === '1' || !table.tHead || !table.tBodies.length) return;
    var head = table.tHead.rows[table.tHead.rows.length - 1];
    var cells = Array.prototype.slice.call(head.cells);
    if (cells.some(function (c) { return c.colSpan !== 1; })) return;  // grouped headers: columns ambiguous
    table.dataset.sortable = '1';
    var status = document.createElement('p');
    status.className = 'sort-status visually-hidden';
    status.setAttribute('aria-live', 'polite');
    table.parentNode.insertBefore(status, table.nextSibling);
    cells.forEach(function (th, index) {
      if (th.hasAttribute('data-nosort') || !th.textContent.trim()) return;
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'sort';
      while (th.firstChild) button.appendChild(th.firstChild);
      var mark = document.createElement('span');
      mark.className = 'sort-mark';
      mark.setAttribute('aria-hidden', 'true');
      button.appendChild(mark);
      th.appendChild(button);
      th.setAttribute('aria-sort', 'none');
      button.addEventListener('click', function () { sortBy(table, index, th); });
    });
    // live.js may replace the body with fresh rows in the server's order: the header no longer claims a sort
    if (window.MutationObserver) {
      new MutationObserver(function () {
        cells.forEach(function (h) { if (h.hasAttribute('aria-sort')) h.setAttribute('aria-sort', 'none'); });
      }).observe(table, { childList: true });
    }
  }

  // The period picker: editing a date of the custom range chooses 自定义 (without this script, choose it by hand).
  function pickers() {
    document.querySelectorAll('[data-period-picker]').forEach(function (box) {
      box.querySelectorAll('input[data-period-date]').forEach(function (input) {
        input.addEventListener('change', function () {
          var custom = box.querySelector('input[type=radio][value=custom]');
          if (custom) custom.checked = true;
        });
      });
    });
  }

  function tables() { document.querySelectorAll('table.data').forEach(enhance); }
  function all() { tables(); pickers(); }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', all);
  else all();
  window.qingshanTables = { enhance: tables };  // for tables drawn later (idempotent per table)
})();
