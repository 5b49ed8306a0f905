/**
 * The dashboard's browser script, as text: plain ES5-ish JS (no build step, no library), fed by
 * `EventSource('events')`. It only fills in numbers; every drawing comes finished from the server.
 */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  'use strict';
  var $ = function (sel) { return document.querySelector(sel); };
  var el = function (tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  var ms = function (v) {
    if (v === null || v === undefined || isNaN(v)) return '–';
    return v >= 10000 ? (v / 1000).toFixed(1) + ' s' : Math.round(v) + ' ms';
  };
  var updates = 0;
  var tickerLines = [];

  function setCounts(machine, values) {
    var nodes = document.querySelectorAll('svg[data-machine="' + machine + '"] [data-count]');
    var leaves = {};
    nodes.forEach(function (n) {
      var id = n.getAttribute('data-count');
      var key = id.split('.').pop();
      if (Object.prototype.hasOwnProperty.call(values, key)) leaves[id] = values[key];
    });
    nodes.forEach(function (n) {
      var id = n.getAttribute('data-count');
      var v = leaves[id];
      if (v === undefined) {
        v = 0;
        for (var k in leaves) if (k.indexOf(id + '.') === 0) v += leaves[k];
      }
      n.textContent = String(v);
      var g = n.closest('g.state');
      if (g) g.classList.toggle('busy', v > 0);
    });
  }

  function bars(container, rows) {
    container.textContent = '';
    rows.forEach(function (r) {
      var row = el('div', 'bar-row');
      row.setAttribute('data-key', r.key);
      row.appendChild(el('span', 'bar-label', r.label));
      var track = el('span', 'bar-track');
      var fill = el('span', 'bar-fill' + (r.full ? ' full' : ''));
      fill.style.width = Math.min(100, r.max > 0 ? (100 * r.value) / r.max : 0) + '%';
      track.appendChild(fill);
      row.appendChild(track);
      row.appendChild(el('span', 'bar-value', r.text));
      container.appendChild(row);
    });
  }

  function sparkline(svg, points, series) {
    var w = 560, h = 120, pad = 4;
    var max = 0;
    series.forEach(function (s) { points.forEach(function (p) { if (p[s.key] > max) max = p[s.key]; }); });
    if (max <= 0) max = 1;
    var out = '<line class="axis" x1="0" y1="' + (h - pad) + '" x2="' + w + '" y2="' + (h - pad) + '"/>';
    series.forEach(function (s) {
      var d = '';
      var dots = '';
      points.forEach(function (p, i) {
        var v = p[s.key];
        if (v === null || v === undefined) return;
        var x = points.length > 1 ? (i * w) / (points.length - 1) : 0;
        var y = h - pad - ((h - 2 * pad) * v) / max;
        d += (d === '' ? 'M' : 'L') + x.toFixed(1) + ',' + y.toFixed(1);
        if (s.dots) dots += '<circle class="' + s.cls + '" cx="' + x.toFixed(1) + '" cy="' + y.toFixed(1) + '" r="2.5"/>';
      });
      out += '<path class="' + s.cls + '" d="' + d + '"/>' + dots;
    });
    out += '<text x="4" y="12">' + s0(max, series[0].unit) + '</text>';
    svg.innerHTML = out;
  }
  function s0(v, unit) { return unit === 'ms' ? ms(v) : (Math.round(v * 10) / 10) + unit; }

  function sessionRow(s, now) {
    var tr = el('tr', 'state-' + s.state);
    tr.setAttribute('data-session', s.sessionId);
    var queued = (s.startedAt !== undefined ? s.startedAt : (s.endedAt !== undefined ? s.endedAt : now)) - s.createdAt;
    var run = s.startedAt !== undefined ? (s.endedAt !== undefined ? s.endedAt : now) - s.startedAt : null;
    [s.sessionId.slice(0, 8), s.label || '–', s.provider, s.model, s.leaf || s.state, ms(queued), ms(run),
      String(s.attempts), s.code || ''].forEach(function (v, i) {
      var td = el('td', i === 4 ? 'st' : '', v);
      tr.appendChild(td);
    });
    return tr;
  }

  function render(snap) {
    updates++;
    var st = snap.status;
    document.body.setAttribute('data-updates', String(updates));
    $('#lifecycle').textContent = st.state;
    $('#lifecycle').className = 'pill ' + st.state;
    var scope = snap.scope || { kind: 'instance' };
    $('#scope').textContent = scope.kind === 'cluster' ? 'whole cluster' : 'this instance only';
    $('#scope').title = scope.kind === 'cluster'
      ? 'Counts, live and recent sessions cover every instance on this Redis; seen from instance ' + (scope.instanceId || '?')
      : 'These figures cover this process only';
    $('#queued-total').textContent = String(st.queued);
    $('#running-total').textContent = String(st.running);
    var ended = snap.counts.done + snap.counts.failed + snap.counts.timedOut + snap.counts.cancelled;
    $('#ended-total').textContent = String(ended);
    var costs = Object.keys(snap.cost || {}).map(function (c) { return snap.cost[c].toFixed(4) + ' ' + c; });
    $('#cost-total').textContent = costs.length === 0 ? '–' : costs.join(' · ');
    setCounts('session', snap.counts);
    var sup = { accepting: 0, draining: 0, stopped: 0 };
    sup[st.state] = 1;
    setCounts('supervisor', sup);

    var prio = [];
    var maxQ = 1;
    for (var p = 9; p >= 0; p--) maxQ = Math.max(maxQ, st.queuedByPriority[p] || 0);
    for (var q = 9; q >= 0; q--) {
      var n = st.queuedByPriority[q] || 0;
      prio.push({ key: 'p' + q, label: 'priority ' + q, value: n, max: maxQ, text: String(n) });
    }
    bars($('#queue-depth'), prio);
    bars($('#in-flight'), st.providers.map(function (pr) {
      var limit = pr.limit === null ? st.maxConcurrent : pr.limit;
      return { key: pr.name, label: pr.name, value: pr.running, max: limit, full: pr.running >= limit,
        text: pr.running + ' / ' + (pr.limit === null ? 'no own limit, global ' + limit : limit) + (pr.queued ? ' (+' + pr.queued + ' queued)' : '') };
    }));

    var brk = st.breakers || [];
    var perState = { closed: 0, open: 0, halfOpen: 0 };
    brk.forEach(function (b) { perState[b.state]++; });
    setCounts('breaker', perState);
    bars($('#breakers'), brk.map(function (b) {
      return { key: b.provider, label: b.provider, value: b.state === 'closed' ? b.failures : b.threshold, max: b.threshold,
        full: b.state !== 'closed',
        text: b.state + (b.state === 'open' && b.openUntil !== null ? ' until ' + new Date(b.openUntil).toISOString().slice(11, 19) : '') +
          ' · ' + b.failures + '/' + b.threshold + ' failures' + (b.lastError ? ' (last ' + b.lastError + ')' : '') + ' · opened ' + b.opened + 'x' };
    }));

    var last = snap.series[snap.series.length - 1] || { perSec: 0, runP50Ms: null, runP95Ms: null };
    $('#rate').textContent = last.perSec + '/s';
    $('#p50').textContent = ms(last.runP50Ms);
    $('#p95').textContent = ms(last.runP95Ms);
    sparkline($('#throughput'), snap.series, [{ key: 'perSec', cls: 'l1', unit: '/s' }]);
    sparkline($('#latency'), snap.series, [
      { key: 'runP95Ms', cls: 'l2', unit: 'ms', dots: true },
      { key: 'runP50Ms', cls: 'l1', unit: 'ms', dots: true },
      { key: 'queueP50Ms', cls: 'l3', unit: 'ms', dots: true }
    ]);

    var body = $('#sessions tbody');
    body.textContent = '';
    snap.live.slice(0, 10).forEach(function (s) { body.appendChild(sessionRow(s, snap.at)); });
    st.recent.slice(0, 20 - Math.min(10, snap.live.length)).forEach(function (s) { body.appendChild(sessionRow(s, snap.at)); });
  }

  function onBatch(batch) {
    batch.events.forEach(function (e) {
      if (e.type !== 'session.ended' && e.type.indexOf('supervisor.') !== 0 && e.type !== 'session.retry') return;
      var t = new Date(e.at).toISOString().slice(11, 23);
      tickerLines.unshift(t + '  ' + e.type + (e.sessionId ? '  ' + e.sessionId.slice(0, 8) : '') +
        (e.state ? '  ' + e.state : '') + (e.code ? '  ' + e.code : ''));
    });
    tickerLines = tickerLines.slice(0, 12);
    $('#ticker').textContent = tickerLines.join('\n') + (batch.dropped ? '\n(' + batch.dropped + ' events not shown)' : '');
  }

  var source = new EventSource('events');
  source.addEventListener('snapshot', function (m) { render(JSON.parse(m.data)); $('#conn').textContent = 'live'; });
  source.addEventListener('batch', function (m) { onBatch(JSON.parse(m.data)); });
  source.onerror = function () { $('#conn').textContent = 'reconnecting…'; };
})();
`;
