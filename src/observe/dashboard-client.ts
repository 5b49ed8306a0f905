/**
 * The dashboard's browser script, as text: plain ES5-ish JS (no build step, no library), fed by
 * `EventSource('events')`. The statecharts come finished from the server; it fills in their counts and draws the time charts.
 */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  'use strict';
  var $ = function (sel) { return document.querySelector(sel); };
  // Model ids, labels and error codes come from clients and providers: shown on one line, with line
  // breaks and bidi controls spelled out, so none can start a line of its own in the events list.
  var oneLine = function (v) {
    // ALM (U+061C) is a bidi mark like LRM/RLM; zero-width and invisible format characters are
    // spelled out too. (Long strings wrap: overflow-wrap in the CSS, so no id widens the page.)
    return String(v).replace(/[\u0000-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g, function (c) {
      return '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4);
    });
  };
  var el = function (tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = oneLine(text);
    return e;
  };
  var ms = function (v) {
    if (v === null || v === undefined || isNaN(v)) return '–';
    return v >= 10000 ? (v / 1000).toFixed(1) + ' s' : Math.round(v) + ' ms';
  };
  var updates = 0;
  var tickerLines = [];

  // A highlighted state has something in it now. The session machine's final states count the
  // sessions that ended there since the server started, so they are never highlighted: until
  // 2026-12-07 done, failed, timedOut and cancelled lit up for good at their first end, as if live.
  function setCounts(machine, values, finalsEnded) {
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
      if (g) g.classList.toggle('busy', v > 0 && !(finalsEnded && g.classList.contains('final')));
    });
  }

  function bars(container, rows, none) {
    container.textContent = '';
    if (rows.length === 0 && none) container.appendChild(el('div', 'none', none));
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

  var STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  function clock(t) { return new Date(t).toTimeString().slice(0, 8); }

  // A line chart over time: the x axis spans the monitor's window up to the snapshot's time, with
  // clock-time ticks every round step (about five of them); the y axis from 0 to the largest value.
  function timeChart(svg, snap, series) {
    var w = Math.max(240, Math.round(svg.getBoundingClientRect().width)), h = 130;
    var left = 46, right = 10, top = 8, bottom = 20;
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    var points = snap.series;
    var end = snap.at, start = end - points.length * snap.bucketMs;
    var span = Math.max(1, end - start);
    var x = function (t) { return left + ((t - start) * (w - left - right)) / span; };
    var max = 0;
    series.forEach(function (s) { points.forEach(function (p) { if (p[s.key] > max) max = p[s.key]; }); });
    max = niceCeil(max);
    var y = function (v) { return h - bottom - ((h - top - bottom) * v) / max; };
    var step = STEPS[STEPS.length - 1] * 1000;
    for (var i = 0; i < STEPS.length; i++) if (STEPS[i] * 1000 >= span / 6) { step = STEPS[i] * 1000; break; }
    var out = '';
    [0, max / 2, max].forEach(function (v) {
      out += '<g class="tick y"><line class="grid" x1="' + left + '" y1="' + y(v).toFixed(1) + '" x2="' + (w - right) +
        '" y2="' + y(v).toFixed(1) + '"/><text x="' + (left - 4) + '" y="' + (y(v) + 3).toFixed(1) +
        '" text-anchor="end">' + axisLabel(v, series[0].unit) + '</text></g>';
    });
    for (var t = Math.ceil(start / step) * step; t <= end; t += step) {
      var tx = x(t).toFixed(1);
      out += '<g class="tick x" data-t="' + t + '"><line class="axis" x1="' + tx + '" y1="' + (h - bottom) + '" x2="' + tx +
        '" y2="' + (h - bottom + 4) + '"/><text x="' + tx + '" y="' + (h - 5) + '" text-anchor="middle">' + clock(t) + '</text></g>';
    }
    out += '<line class="axis" x1="' + left + '" y1="' + (h - bottom) + '" x2="' + (w - right) + '" y2="' + (h - bottom) + '"/>';
    series.forEach(function (s) {
      var d = '';
      var dots = '';
      points.forEach(function (p) {
        var v = p[s.key];
        if (v === null || v === undefined) return;
        // A bucket's value is drawn at its end (the newest, still open, at the snapshot's time).
        var px = x(Math.min(end, p.at + snap.bucketMs)).toFixed(1);
        var py = y(v).toFixed(1);
        d += (d === '' ? 'M' : 'L') + px + ',' + py;
        if (s.dots) dots += '<circle class="' + s.cls + '" cx="' + px + '" cy="' + py + '" r="2.5"/>';
      });
      out += '<path class="' + s.cls + '" d="' + d + '"/>' + dots;
    });
    svg.innerHTML = out;
  }
  // The smallest of 1, 2, 2.5, 5 times a power of ten that is at least v (1 for nothing yet).
  function niceCeil(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var m = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < m.length; i++) if (m[i] * p >= v) return m[i] * p;
    return 10 * p;
  }
  function axisLabel(v, unit) {
    var r = function (n) { return String(Math.round(n * 100) / 100); };
    if (unit !== 'ms') return r(v) + unit;
    return v >= 1000 ? r(v / 1000) + ' s' : r(v) + ' ms';
  }

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
    var cluster = scope.kind === 'cluster';
    var here = scope.instanceId || '?';
    $('#scope').textContent = cluster ? 'cluster' : 'instance';
    $('#scope').title = cluster
      ? 'Counts, live and recent sessions cover every instance on this Redis; the lifecycle and the supervisor chart are this instance\'s, ' + here
      : 'These figures cover this process only';
    // Each instance has its own supervisor (it drains on its own SIGTERM): on a cluster, say whose.
    $('#lifecycle').title = cluster ? 'this instance\'s lifecycle (' + here + '); other instances show theirs on their own dashboards' : 'lifecycle';
    var caption = $('#chart-supervisor figcaption');
    caption.textContent = cluster ? 'supervisor — this instance (' + here.slice(0, 8) + ')' : 'supervisor';
    caption.title = cluster ? 'the lifecycle of instance ' + here + ' alone, not the cluster\'s' : '';
    $('#queued-total').textContent = String(st.queued);
    $('#running-total').textContent = String(st.running);
    var ended = snap.counts.done + snap.counts.failed + snap.counts.timedOut + snap.counts.cancelled;
    $('#ended-total').textContent = String(ended);
    var costs = Object.keys(snap.cost || {}).map(function (c) { return snap.cost[c].toFixed(4) + ' ' + c; });
    $('#cost-total').textContent = costs.length === 0 ? '–' : costs.join(' · ');
    setCounts('session', snap.counts, true);
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
    }), 'none: no provider has its circuit breaker on, so the breaker chart counts 0 everywhere');

    var lim = st.limits || {};
    var coolCounts = { open: 0, coolingDown: 0, probing: 0 };
    var limRows = [];
    Object.keys(lim).forEach(function (name) {
      var b = lim[name];
      coolCounts[b.cooldown]++;
      var r = b.remaining;
      var parts = [];
      if (r.requestsPerMinute !== null) parts.push(r.requestsPerMinute + ' req/min');
      if (r.tokensPerMinute !== null) parts.push(r.tokensPerMinute + ' tok/min');
      if (r.tokensPerDay !== null) parts.push(r.tokensPerDay + ' tok/day');
      if (r.maxConcurrent !== null) parts.push(r.maxConcurrent + ' slots');
      var cooling = Object.keys(b.models || {}).map(function (model) {
        return model + ' until ' + new Date(b.models[model]).toISOString().slice(11, 19);
      });
      limRows.push({ key: name, label: name, value: b.cooldown === 'open' ? 0 : 1, max: 1, full: b.cooldown !== 'open',
        text: b.cooldown + (b.cooldownUntil !== null ? ' until ' + new Date(b.cooldownUntil).toISOString().slice(11, 19) : '') +
          ' · left: ' + (parts.length ? parts.join(', ') : 'no limits in its units') + ' · cooled down ' + b.cooldowns + 'x' +
          (cooling.length ? ' · models cooling down: ' + cooling.join(', ') : '') });
    });
    setCounts('provider', coolCounts);
    bars($('#limits'), limRows, 'none: no provider has limits configured (a tier, or limits of its own), so the provider chart counts 0 everywhere');

    var last = snap.series[snap.series.length - 1] || { perSec: 0, runP50Ms: null, runP95Ms: null };
    $('#rate').textContent = last.perSec + '/s';
    $('#p50').textContent = ms(last.runP50Ms);
    $('#p95').textContent = ms(last.runP95Ms);
    timeChart($('#throughput'), snap, [{ key: 'perSec', cls: 'l1', unit: '/s' }]);
    timeChart($('#latency'), snap, [
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
      if (e.type !== 'session.ended' && e.type.indexOf('supervisor.') !== 0 && e.type !== 'session.retry' && e.type !== 'session.fallback') return;
      var t = new Date(e.at).toISOString().slice(11, 23);
      tickerLines.unshift(oneLine(t + '  ' + e.type + (e.sessionId ? '  ' + e.sessionId.slice(0, 8) : '') +
        (e.state ? '  ' + e.state : '') + (e.code ? '  ' + e.code : '') + (e.to ? '  -> ' + e.to : '')));
    });
    tickerLines = tickerLines.slice(0, 12);
    $('#ticker').textContent = tickerLines.join('\n') + (batch.dropped ? '\n(' + batch.dropped + ' events not shown)' : '');
  }

  // Without the server the figures stop where they were: the page says since when, and greys them,
  // so a server that stopped does not read as one still accepting with sessions running.
  var lastAt = null;
  function conn(text, why) {
    var live = text === 'live';
    var since = lastAt === null ? '' : ' (the figures are from ' + clock(lastAt) + ', when the server last answered)';
    $('#conn').textContent = text;
    $('#conn').title = (why || text) + (live ? '' : since);
    $('#conn').className = live ? 'live' : '';
    document.body.classList.toggle('stale', !live && lastAt !== null);
  }
  // A dropped stream reconnects on its own; a refused one (503 past the server's stream limit, or
  // any other non-200) is CLOSED for good by the browser, so the page asks again itself, backing off.
  var retryMs = 1000;
  function connect() {
    var source = new EventSource('events');
    source.addEventListener('snapshot', function (m) {
      var snap = JSON.parse(m.data);
      retryMs = 1000;
      render(snap);
      lastAt = snap.at;
      conn('live');
    });
    source.addEventListener('batch', function (m) { onBatch(JSON.parse(m.data)); });
    source.onerror = function () {
      if (source.readyState !== EventSource.CLOSED) { conn('reconnecting…', 'lost the connection to the server; reconnecting'); return; }
      source.close();
      conn('retry in ' + Math.round(retryMs / 1000) + ' s', 'the server refused the event stream (too many dashboards open, 32 by default, or a token required); retrying');
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    };
  }
  connect();
})();
`;
