// Workshop: /workshop (open or join a room), /workshop?room=CODE (a participant),
// /workshop?room=CODE&host=1 (the facilitator). Identities live in sessionStorage,
// so a reloaded tab is the same person and another tab is another one.
// User text only ever reaches the page through textContent.
'use strict';

var ACTIVITY = {
  build: 'Build with AI: real work that ships',
  burn: 'Burn tokens: agents on pointless tasks',
  split: 'Split and pad changes',
  rush: 'Rush: skip the tests',
  inflate: 'Inflate usefulness claims'
};

var q = new URLSearchParams(location.search);
var code = (q.get('room') || '').toUpperCase().replace(/[^A-Z0-9]/g, '');
var isHost = q.get('host') === '1';
var token = null;
var last = null;          // the last state shown
var deadline = 0;         // when the open round closes, in this page's clock
var hoursBuilt = -1;      // the week whose hour sliders are built

function $(id) { return document.getElementById(id); }
function el(tag, attrs, text) {
  var e = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
  if (text !== undefined && text !== null) { e.textContent = String(text); }
  return e;
}
function show(id, on) { $(id).classList.toggle('hidden', !on); }
function usd(x) {
  if (x === null || x === undefined) { return ''; }
  var a = Math.abs(x), s = x < 0 ? '-' : '';
  if (a >= 1e6) { return s + (a / 1e6).toFixed(2) + 'M USD'; }
  if (a >= 1e4) { return s + (a / 1e3).toFixed(1) + 'k USD'; }
  return s + Math.round(a).toLocaleString('en') + ' USD';
}
function num(x) {
  if (typeof x !== 'number') { return ''; }
  return Math.abs(x) >= 1e6 ? (x / 1e6).toFixed(1) + 'M' : Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(2); }
function post(url, body) {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    .then(function (r) { return r.json(); });
}

// ---------------------------------------------------------------- landing

function landing() {
  show('landing', true);
  $('open-room').addEventListener('click', function () {
    post('/api/rooms', {
      engineers: Number($('new-engineers').value), timer: Number($('new-timer').value), policy: $('new-policy').value
    }).then(function (r) {
      if (!r.ok) { $('open-error').textContent = r.error; return; }
      sessionStorage.setItem('goodhart-host-' + r.code, r.token);
      location.href = '/workshop?room=' + r.code + '&host=1';
    });
  });
  $('go-join').addEventListener('click', function () {
    var c = $('join-code').value.toUpperCase().replace(/[^A-Z0-9]/g, '');
    if (c) { location.href = '/workshop?room=' + c; }
  });
}

// ---------------------------------------------------------------- joining

function joinForm() {
  show('join', true);
  $('join-room').textContent = code;
  $('join-btn').addEventListener('click', function () {
    post('/api/rooms/' + code + '/join', { name: $('join-name').value }).then(function (r) {
      if (!r.ok) { $('join-error').textContent = r.error; return; }
      token = r.token;
      sessionStorage.setItem('goodhart-player-' + code, token);
      show('join', false);
      poll(0);
    });
  });
}

// ---------------------------------------------------------------- polling

function poll(after) {
  fetch('/api/rooms/' + code + '?token=' + encodeURIComponent(token || '') + '&after=' + after)
    .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); })
    .then(function (r) {
      if (r.status === 403 || r.status === 404) {
        sessionStorage.removeItem('goodhart-player-' + code);
        $('where').textContent = r.body.error;
        if (!isHost && r.status === 403) { token = null; joinForm(); }
        return;
      }
      render(r.body);
      poll(r.body.version);
    })
    .catch(function () { setTimeout(function () { poll(after); }, 1000); });
}

function render(s) {
  last = s;
  document.body.dataset.phase = s.phase;
  document.body.dataset.week = s.week;
  deadline = s.phase === 'choosing' ? Date.now() + s.left_ms : 0;
  $('where').textContent = 'Room ' + s.code + ' · ' + s.people + ' people and ' + (s.engineers - s.people) + ' agents';
  if (s.host) { renderHost(s); } else if (s.me) { renderPlayer(s); }
  show('ledger-card', !!s.ledger);
  if (s.ledger) { renderLedger(s.ledger); }
}

// The countdown, redrawn every quarter second from the server's deadline.
setInterval(function () {
  var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
  var text = deadline ? left + ' s' : '';
  if ($('me-timer')) { $('me-timer').textContent = text; }
  if ($('host-timer')) { $('host-timer').textContent = text; }
}, 250);

// ---------------------------------------------------------------- a participant

function renderPlayer(s) {
  show('player', true);
  var me = s.me;
  $('me-name').textContent = me.name;
  $('me-week').textContent = s.week + 1;
  $('me-policy').textContent = s.policy.name;
  $('me-policy-text').textContent = s.policy.description;
  var status = {
    lobby: 'You are in. The facilitator will start the first week.',
    choosing: me.submitted ? 'Handed in. You can change your week until the timer ends.' : 'Plan your week before the timer ends.',
    running: 'The week is being worked…',
    results: 'The week is over: here is the leaderboard.',
    revealed: 'The game is over.'
  }[s.phase];
  if (me.agent_played_last && s.phase !== 'choosing') { status += ' (An agent played your last week: you did not hand it in.)'; }
  $('me-status').textContent = status;
  $('me-pay').textContent = me.pay_last === null || me.pay_last === undefined ? '' :
    'Your pay last week: ' + usd(me.pay_last) + ' · in all: ' + usd(me.pay_total);
  show('plan-card', s.phase === 'choosing');
  if (s.phase === 'choosing' && hoursBuilt !== s.week) { buildHours(s); }
  $('plan-note').textContent = me.submitted ? 'Handed in ✓' : '';
  show('me-board-card', !!s.board);
  if (s.board) {
    $('me-board-title').textContent = 'Leaderboard, week ' + (s.board.week + 1) + ' (' + s.board.policy + ')';
    boardTable($('me-board'), s.board, true);
  }
}

function buildHours(s) {
  hoursBuilt = s.week;
  var box = $('hours');
  box.textContent = '';
  $('contract').textContent = s.hours.contract;
  $('max-hours').textContent = s.hours.max;
  var start = s.me.hours || s.activities.map(function (a, i) { return i === 0 ? s.hours.contract : 0; });
  s.activities.forEach(function (a, i) {
    var d = el('div');
    var lab = el('label', { for: 'h-' + i });
    lab.appendChild(el('span', {}, ACTIVITY[a.name] || a.name));
    var out = el('b', {}, Math.round(start[i] || 0) + ' h');
    lab.appendChild(out);
    var input = el('input', { id: 'h-' + i, type: 'range', min: 0, max: s.hours.max, step: 1 });
    input.value = Math.round(start[i] || 0);
    input.dataset.activity = i;
    input.addEventListener('input', function () { out.textContent = input.value + ' h'; fitHours(i); });
    d.appendChild(lab);
    d.appendChild(input);
    box.appendChild(d);
  });
  fitHours(-1);
}

// Keeps the total within the week: the other activities give way to the one moved.
function fitHours(moved) {
  var inputs = Array.prototype.slice.call(document.querySelectorAll('#hours input'));
  var max = last.hours.max;
  var total = inputs.reduce(function (t, i) { return t + Number(i.value); }, 0);
  for (var k = inputs.length - 1; total > max && k >= 0; k--) {
    if (k === moved) { continue; }
    var cut = Math.min(Number(inputs[k].value), total - max);
    inputs[k].value = Number(inputs[k].value) - cut;
    inputs[k].previousSibling.lastChild.textContent = inputs[k].value + ' h';
    total -= cut;
  }
  $('total-hours').textContent = total;
}

function submitPlan() {
  var hours = Array.prototype.map.call(document.querySelectorAll('#hours input'), function (i) { return Number(i.value); });
  post('/api/rooms/' + code + '/plan', { token: token, week: last.week, hours: hours }).then(function (r) {
    $('plan-error').textContent = r.ok ? '' : r.error;
  });
}

function boardTable(t, b, mine) {
  t.textContent = '';
  var head = el('tr');
  ['#', 'Engineer', 'Metric', 'Pay'].forEach(function (h) { head.appendChild(el('th', {}, h)); });
  t.appendChild(head);
  var rows = b.top.slice();
  if (mine && b.mine && b.mine.rank > rows.length) { rows.push(null, b.mine); }
  if (!mine) { b.people.forEach(function (p) { if (p.rank > 10) { rows.push(p); } }); }
  rows.forEach(function (r) {
    var tr = el('tr');
    if (r === null) { tr.appendChild(el('td', { colspan: 4 }, '…')); t.appendChild(tr); return; }
    if (r.me) { tr.className = 'me'; } else if (r.person) { tr.className = 'human'; }
    tr.appendChild(el('td', {}, r.rank));
    tr.appendChild(el('td', {}, r.name));
    tr.appendChild(el('td', { class: 'num' }, num(r.metric)));
    tr.appendChild(el('td', { class: 'num' }, r.pay ? usd(r.pay) : ''));
    t.appendChild(tr);
  });
}

// ---------------------------------------------------------------- the facilitator

var hostBuilt = false;
function renderHost(s) {
  show('host', true);
  if (!hostBuilt) {
    hostBuilt = true;
    s.policies.forEach(function (p) { $('policy-select').appendChild(el('option', { value: p.name, title: p.description }, p.name)); });
    $('policy-select').value = 'normalized-deployments';
  }
  var base = s.lan || location.origin;
  $('host-code').textContent = s.code;
  $('host-link').textContent = base + '/join/' + s.code;
  $('host-people').textContent = s.people + ' people have joined; ' + (s.engineers - s.people) + ' agents work beside them.';
  $('host-week').textContent = s.week + 1;
  $('host-phase').textContent = { lobby: 'not started', choosing: 'people are choosing', running: 'running', results: 'results', revealed: 'game over' }[s.phase];
  $('host-policy').textContent = s.policy.name;
  $('host-policy-text').textContent = s.policy.description;
  $('host-stages').textContent = 'Schedule: ' + s.stages.map(function (st) { return st.policy + ' from week ' + (st.from + 1); }).join(', then ');
  $('host-error').textContent = s.error || '';
  $('next').disabled = !(s.phase === 'lobby' || s.phase === 'results');
  $('next').textContent = 'Start week ' + (s.weeks_played + 1);
  $('close').disabled = s.phase !== 'choosing';
  $('reveal').disabled = s.phase !== 'results';
  var t = $('host-players');
  t.textContent = '';
  var head = el('tr');
  ['Person', 'This round', 'Weeks played by an agent'].forEach(function (h) { head.appendChild(el('th', {}, h)); });
  t.appendChild(head);
  s.players.forEach(function (p) {
    var tr = el('tr');
    tr.appendChild(el('td', {}, p.name));
    tr.appendChild(el('td', {}, p.away ? 'away' : s.phase === 'choosing' ? (p.submitted ? 'handed in' : 'choosing') : 'here'));
    tr.appendChild(el('td', { class: 'num' }, p.missed));
    t.appendChild(tr);
  });
  show('host-board-card', !!s.board);
  if (s.board) {
    $('host-board-title').textContent = 'Leaderboard, week ' + (s.board.week + 1) + ' (' + s.board.policy + ')';
    boardTable($('host-board'), s.board, false);
  }
}

function hostAction(what, extra) {
  var body = { token: token };
  Object.keys(extra || {}).forEach(function (k) { body[k] = extra[k]; });
  post('/api/rooms/' + code + '/' + what, body).then(function (r) { $('host-error').textContent = r.ok ? '' : r.error; });
}

// ---------------------------------------------------------------- the ledger

function renderLedger(l) {
  $('ledger-org').textContent = 'The organisation: useful output ' + usd(l.org.value) + ', token bill ' + usd(l.org.bill) +
    ', incidents ' + usd(l.org.incidents) + ', prizes ' + usd(l.org.prizes) + ': net ' + usd(l.org.net) + '.';
  var t = $('ledger');
  t.textContent = '';
  var head = el('tr');
  ['Who', 'Useful output', 'Token bill', 'Output per USD of tokens', 'Pay (prizes less pressure)', 'Gaming hours'].forEach(function (h) { head.appendChild(el('th', {}, h)); });
  t.appendChild(head);
  function row(name, r, cls) {
    var tr = el('tr', cls ? { class: cls } : {});
    tr.appendChild(el('td', {}, name));
    tr.appendChild(el('td', { class: 'num' }, usd(r.value)));
    tr.appendChild(el('td', { class: 'num' }, usd(r.bill)));
    tr.appendChild(el('td', { class: 'num' }, r.bill > 0 ? (r.value / r.bill).toFixed(1) : '∞'));
    tr.appendChild(el('td', { class: 'num' }, usd(r.pay)));
    tr.appendChild(el('td', { class: 'num' }, Math.round(r.gaming_hours)));
    t.appendChild(tr);
  }
  l.people.forEach(function (p) {
    var me = last && last.me && last.me.name === p.name;
    var by = p.agent_weeks === 1 ? ' (1 week by an agent)' : ' (' + p.agent_weeks + ' weeks by an agent)';
    row(p.name + (p.agent_weeks ? by : ''), p, me ? 'me' : 'human');
  });
  row('An agent (mean of ' + l.agents.count + ')', l.agents);
  var w = $('ledger-weeks');
  w.textContent = '';
  var h = el('tr');
  ['Week', 'Policy', 'Useful output', 'Token bill'].forEach(function (x) { h.appendChild(el('th', {}, x)); });
  w.appendChild(h);
  l.weeks.forEach(function (x) {
    var tr = el('tr');
    tr.appendChild(el('td', {}, x.week));
    tr.appendChild(el('td', {}, x.policy));
    tr.appendChild(el('td', { class: 'num' }, usd(x.value)));
    tr.appendChild(el('td', { class: 'num' }, usd(x.bill)));
    w.appendChild(tr);
  });
}

// ---------------------------------------------------------------- start

(function start() {
  $('submit-plan').addEventListener('click', submitPlan);
  $('next').addEventListener('click', function () { hostAction('next'); });
  $('close').addEventListener('click', function () { hostAction('close'); });
  $('reveal').addEventListener('click', function () { hostAction('reveal'); });
  $('switch').addEventListener('click', function () { hostAction('policy', { policy: $('policy-select').value }); });
  if (!code) { landing(); return; }
  if (isHost) {
    token = sessionStorage.getItem('goodhart-host-' + code);
    if (!token) { $('where').textContent = 'This tab did not open room ' + code + '; join it as a participant instead.'; return; }
    poll(0);
    return;
  }
  token = sessionStorage.getItem('goodhart-player-' + code);
  if (token) {
    // A reload: the same person, rejoined by their token.
    post('/api/rooms/' + code + '/join', { name: '', token: token }).then(function (r) {
      if (r.ok) { poll(0); } else { sessionStorage.removeItem('goodhart-player-' + code); token = null; joinForm(); }
    });
  } else {
    joinForm();
  }
})();
