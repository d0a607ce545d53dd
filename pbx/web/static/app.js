// hushbox web page: confirmations, the password field toggle and the live
// dashboard (Server-Sent Events from /events, drawn on a canvas). No
// framework, no inline script (the CSP forbids it).
'use strict';

(function () {
  // Buttons with data-confirm ask first.
  document.addEventListener('submit', function (e) {
    var b = e.submitter;
    if (b && b.dataset.confirm && !window.confirm(b.dataset.confirm)) e.preventDefault();
  });

  // The chosen-password field only when "choose" is picked.
  var pw = document.querySelector('input[name=pwmode][value=choose]');
  if (pw) {
    var field = document.getElementById('password');
    var sync = function () { field.disabled = !pw.checked; };
    document.querySelectorAll('input[name=pwmode]').forEach(function (r) { r.addEventListener('change', sync); });
    sync();
  }

  // The logs view opens at its newest line.
  var log = document.getElementById('log');
  if (log) log.scrollTop = log.scrollHeight;

  // After a restart or reboot: reload the dashboard once the box answers.
  var stopping = document.getElementById('stopping');
  if (stopping) {
    var tries = 0;
    var poll = function () {
      tries++;
      fetch('/login', { cache: 'no-store', redirect: 'manual' }).then(function (r) {
        if (r.status && r.status < 500) { window.location.href = '/'; return; }
        setTimeout(poll, 2000);
      }, function () {
        document.getElementById('stopping-state').textContent = 'Waiting for hushbox… (' + tries + ')';
        setTimeout(poll, 2000);
      });
    };
    setTimeout(poll, 3000);
    return;
  }

  var dash = document.getElementById('dash');
  if (!dash || !window.EventSource) return;

  var canvas = document.getElementById('graph');
  var state = document.getElementById('live-state');
  var points = []; // {pps, calls}
  var MAX = 150;   // 5 minutes at one event per 2 s
  var last = null;

  function text(id, v) { var el = document.getElementById(id); if (el) el.textContent = v; }

  function cell(tr, v, cls) {
    var td = document.createElement('td');
    td.textContent = v == null ? '' : v;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function renderCalls(list) {
    var body = document.getElementById('calls');
    if (!body) return;
    var rows = [];
    list.forEach(function (c) {
      var tr = document.createElement('tr');
      cell(tr, c.from); cell(tr, c.to); cell(tr, c.state); cell(tr, c.codec); cell(tr, c.sas, 'sas'); cell(tr, c.duration);
      rows.push(tr);
    });
    if (!rows.length) {
      var tr = document.createElement('tr');
      var td = document.createElement('td');
      td.colSpan = 6; td.className = 'muted'; td.textContent = 'no calls';
      tr.appendChild(td); rows.push(tr);
    }
    body.replaceChildren.apply(body, rows);
  }

  function meter(id, v) { var el = document.getElementById(id); if (el) el.value = v; }

  // CPU, memory and DoS pressure gauges.
  function gauges(d) {
    meter('g-cpu', Math.min(100, d.cpu || 0)); text('s-cpu', (d.cpu || 0).toFixed(1)); text('s-load', (d.load || 0).toFixed(2));
    meter('g-mem', d.mem_used || 0); text('s-rss', d.rss); text('s-avail', d.mem_available);
    if (d.pressure) {
      meter('g-pressure', d.pressure.level); text('s-pressure', d.pressure.name); text('s-refused', d.refused);
    } else {
      text('s-pressure', 'guard off');
    }
  }

  function draw() {
    var dpr = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
    var g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    var css = getComputedStyle(document.documentElement);
    var maxP = 10, maxC = 2;
    points.forEach(function (p) { maxP = Math.max(maxP, p.pps, p.sps); maxC = Math.max(maxC, p.calls); });
    var pad = 18, step = (w - 2) / (MAX - 1);
    g.strokeStyle = css.getPropertyValue('--line'); g.lineWidth = 1;
    g.beginPath(); g.moveTo(0, h - pad + .5); g.lineTo(w, h - pad + .5); g.stroke();
    function line(key, max, color) {
      g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
      points.forEach(function (p, i) {
        var x = w - 1 - (points.length - 1 - i) * step;
        var y = h - pad - (p[key] / max) * (h - 2 * pad);
        if (i) g.lineTo(x, y); else g.moveTo(x, y);
      });
      g.stroke();
    }
    line('pps', maxP, css.getPropertyValue('--accent'));
    line('sps', maxP, css.getPropertyValue('--warn'));
    line('calls', maxC, css.getPropertyValue('--ok'));
    g.fillStyle = css.getPropertyValue('--muted'); g.font = '11px system-ui,sans-serif';
    var cur = points.length ? points[points.length - 1] : { pps: 0, sps: 0, calls: 0 };
    g.fillText('RTP ' + Math.round(cur.pps) + ' pkt/s · SIP ' + Math.round(cur.sps) + ' msg/s (max ' + Math.round(maxP) + ')', 4, 12);
    g.fillText('calls ' + cur.calls, 4, h - 4);
  }

  var es = new EventSource('/events');
  es.addEventListener('status', function (m) {
    var d;
    try { d = JSON.parse(m.data); } catch (err) { return; }
    text('s-regs', d.registrations); text('s-calls', d.calls); text('s-exts', d.extensions); text('s-uptime', d.uptime);
    gauges(d);
    renderCalls(d.list || []);
    var pps = 0, sps = 0;
    if (last && d.time > last.time) {
      pps = Math.max(0, (d.packets - last.packets) * 1000 / (d.time - last.time));
      sps = Math.max(0, (d.sip - last.sip) * 1000 / (d.time - last.time));
    }
    last = d;
    points.push({ pps: pps, sps: sps, calls: d.calls });
    if (points.length > MAX) points.shift();
    draw();
    state.textContent = 'live · updated ' + new Date(d.time).toLocaleTimeString();
  });
  es.onerror = function () {
    state.textContent = es.readyState === EventSource.CLOSED ? 'disconnected: reload the page (your session may have ended)' : 'reconnecting…';
  };
  window.addEventListener('resize', draw);
})();
