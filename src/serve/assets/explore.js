// Explore: the form lives in the URL (?base=story&org.engineers=100&x.integrity=1.5),
// every check is the library's (POST /api/scenario), runs stream in by long poll.
// User text only ever reaches the page through textContent or attribute values.
'use strict';

var meta = null;          // GET /api/meta
var baseFields = null;    // the base scenario's fields (no edits)
var baseSliders = {};     // the base's value of each slider's parameter
var state = { base: 'story', sets: {}, factors: {} };
var runId = null;         // the run shown
var checkTimer = null;

function $(id) { return document.getElementById(id); }
function el(tag, attrs, text) {
  var e = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
  if (text !== undefined && text !== null) { e.textContent = String(text); }
  return e;
}

// ---------------------------------------------------------------- the URL

function readUrl() {
  var q = new URLSearchParams(location.search);
  state = { base: q.get('base') || 'story', sets: {}, factors: {} };
  q.forEach(function (v, k) {
    if (k === 'base') { return; }
    if (k.indexOf('x.') === 0) { state.factors[k.slice(2)] = Number(v); } else { state.sets[k] = v; }
  });
}

function writeUrl() {
  var q = new URLSearchParams();
  q.set('base', state.base);
  Object.keys(state.factors).forEach(function (k) { q.set('x.' + k, String(state.factors[k])); });
  Object.keys(state.sets).forEach(function (k) { q.set(k, state.sets[k]); });
  history.replaceState(null, '', '?' + q.toString());
}

function formBody() {
  return JSON.stringify({
    base: state.base,
    factors: Object.keys(state.factors).map(function (k) { return [k, state.factors[k]]; }),
    sets: Object.keys(state.sets).map(function (k) { return [k, state.sets[k]]; })
  });
}

function post(url, body) {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body })
    .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); });
}

// ---------------------------------------------------------------- the form

// A policy's path prefix: by name when the name is a plain word, else by index.
function policyPath(p, i) { return /^[A-Za-z0-9_-]+$/.test(p.name) ? 'policy[' + p.name + ']' : 'policy[' + i + ']'; }

function numberInput(label, path, baseValue, opts) {
  opts = opts || {};
  var box = el('div');
  var id = 'f-' + path.replace(/[^A-Za-z0-9]/g, '-');
  box.appendChild(el('label', { for: id }, label));
  var input = el('input', { id: id, type: 'number', step: opts.step || 'any' });
  input.dataset.path = path;
  input.dataset.base = baseValue === undefined || baseValue === null ? '' : String(baseValue);
  if (opts.wrap) { input.dataset.wrap = opts.wrap; }
  if (opts.min !== undefined) { input.min = opts.min; }
  if (opts.max !== undefined) { input.max = opts.max; }
  box.appendChild(input);
  box.appendChild(el('div', { class: 'err', 'data-err': opts.wrapPath || path }));
  return box;
}

function buildPolicies() {
  var box = $('policies');
  box.textContent = '';
  (baseFields.policy || []).forEach(function (p, i) {
    var pre = policyPath(p, i);
    var fs = el('fieldset');
    fs.appendChild(el('legend', {}, p.name + (p.name === baseFields.baseline ? ' (baseline)' : '')));
    if (p.description) { fs.appendChild(el('p', { class: 'hint' }, p.description)); }
    var grid = el('div', { class: 'row2' });
    if (p.schedule && p.schedule.length) {
      p.schedule.forEach(function (s, k) {
        grid.appendChild(numberInput(s.policy + ' from period (0 is week 1)', pre + '.schedule[' + k + '].from', s.from, { step: 1, min: 0 }));
      });
    } else if (p.metric) {
      var mbox = el('div');
      var id = 'f-' + (pre + '.metric').replace(/[^A-Za-z0-9]/g, '-');
      mbox.appendChild(el('label', { for: id }, 'Metric'));
      var sel = el('select', { id: id });
      sel.dataset.path = pre + '.metric';
      sel.dataset.base = p.metric.name;
      var names = meta.metrics.slice();
      if (names.indexOf(p.metric.name) < 0) { names.unshift(p.metric.name); }
      names.forEach(function (m) { sel.appendChild(el('option', { value: m }, m)); });
      mbox.appendChild(sel);
      mbox.appendChild(el('div', { class: 'err', 'data-err': pre + '.metric' }));
      grid.appendChild(mbox);
      var r = p.reward || {};
      if (r.scheme === 'leaderboard') {
        grid.appendChild(numberInput('Prize (USD a week)', pre + '.reward.prize', r.prize, { min: 0 }));
        grid.appendChild(numberInput('Top fraction', pre + '.reward.top_fraction', r.top_fraction, { min: 0, max: 1, step: 0.01 }));
        grid.appendChild(numberInput('Pressure (USD)', pre + '.reward.penalty', r.penalty, { min: 0 }));
        grid.appendChild(numberInput('Bottom fraction', pre + '.reward.bottom_fraction', r.bottom_fraction, { min: 0, max: 1, step: 0.01 }));
      } else if (r.scheme === 'linear') {
        grid.appendChild(numberInput('Rate (USD per unit)', pre + '.reward.rate', r.rate));
      } else if (r.scheme === 'threshold') {
        grid.appendChild(numberInput('Quota', pre + '.reward.quota', r.quota));
        grid.appendChild(numberInput('Bonus (USD)', pre + '.reward.bonus', r.bonus, { min: 0 }));
      }
      var a = p.audit;
      if (a && a.changes !== undefined) {
        // An audit of a share of changes: its share, not an engineer audit's rate.
        grid.appendChild(numberInput('Changes audited (share)', pre + '.audit.changes', a.changes, { min: 0, max: 1, step: 0.05 }));
      } else {
        var wrap = '{ probability = $, sensitivity = ' + (a ? a.sensitivity : 1) + ', penalty = ' + (a ? a.penalty : 20000) + ' }';
        grid.appendChild(numberInput('Audit rate (share a week)', pre + '.audit.probability', a ? a.probability : 0,
          { min: 0, max: 1, step: 0.05, wrap: a ? undefined : wrap, wrapPath: a ? undefined : pre + '.audit' }));
      }
      grid.appendChild(numberInput('Token cap (tokens a week)', pre + '.token_cap', p.token_cap === undefined ? '' : p.token_cap, { min: 0 }));
    } else {
      fs.appendChild(el('p', { class: 'hint' }, 'Nothing is ranked or rewarded.'));
    }
    fs.appendChild(grid);
    box.appendChild(fs);
  });
}

function sliderPosition(s, f) {
  var u = s.log ? Math.log(f / s.low) / Math.log(s.high / s.low) : (f - s.low) / (s.high - s.low);
  return Math.round(1000 * Math.min(1, Math.max(0, u)));
}
function sliderFactor(s, pos) {
  var u = pos / 1000;
  var f = s.log ? s.low * Math.pow(s.high / s.low, u) : s.low + (s.high - s.low) * u;
  return Math.round(f * 1000) / 1000;
}
function showNumber(x) {
  if (x === null || x === undefined) { return ''; }
  var a = Math.abs(x);
  return a >= 1000 ? Math.round(x).toLocaleString('en') : a >= 10 ? x.toFixed(1) : x.toFixed(2);
}

// The engineers' traits stand out; the organisation's and the activities'
// assumptions fold away under them.
var TRAITS = ['integrity', 'reward_sensitivity', 'intrinsic_motivation', 'cost_awareness', 'never_game_fraction', 'ai_leverage'];

function buildSliders() {
  var traits = $('traits');
  traits.querySelectorAll('.slider, details').forEach(function (n) { n.remove(); });
  var more = el('details');
  more.appendChild(el('summary', {}, 'More assumptions: costs, prices and activities'));
  meta.sliders.forEach(function (s) {
    var box = TRAITS.indexOf(s.name) >= 0 ? traits : more;
    var v = baseSliders[s.name];
    if (v === null || v === undefined) { return; }
    var d = el('div', { class: 'slider' });
    var id = 'x-' + s.name;
    var lab = el('label', { for: id, title: s.meaning });
    var input = el('input', { id: id, type: 'range', min: 0, max: 1000, step: 1 });
    input.dataset.factor = s.name;
    var f = state.factors[s.name] === undefined ? 1 : state.factors[s.name];
    input.value = sliderPosition(s, f);
    function label(f) { lab.textContent = s.name.replace(/_/g, ' ') + ': ' + showNumber(v * f) + ' ' + s.unit + ' (×' + f.toFixed(2) + ')'; }
    label(f);
    input.addEventListener('input', function () {
      var f = sliderFactor(s, Number(input.value));
      if (Math.abs(f - 1) < 0.005) { delete state.factors[s.name]; f = 1; } else { state.factors[s.name] = f; }
      label(f);
      edited();
    });
    d.appendChild(lab);
    d.appendChild(input);
    d.appendChild(el('div', { class: 'err', 'data-err': 'x.' + s.name }));
    box.appendChild(d);
    // A moved or refused assumption is never hidden.
    if (box === more && state.factors[s.name] !== undefined) { more.open = true; }
  });
  traits.appendChild(more);
}

// Fills every input from the base and the edits.
function fillInputs() {
  document.querySelectorAll('[data-path]').forEach(function (input) {
    var p = input.dataset.path;
    var edit = input.dataset.wrap ? state.sets[p.replace(/\.probability$/, '')] : state.sets[p];
    if (edit !== undefined && input.dataset.wrap) { edit = (/probability = ([^,]*)/.exec(edit) || [])[1]; }
    input.value = edit !== undefined ? edit : baseValueOf(input);
  });
}

function baseValueOf(input) {
  if (input.dataset.base !== undefined) { return input.dataset.base; }
  var p = input.dataset.path;
  if (p === 'org.engineers') { return baseFields.org.engineers; }
  return baseFields[p];
}

function onInput(e) {
  var input = e.target;
  if (!input.dataset || !input.dataset.path) { return; }
  var p = input.dataset.path;
  var v = input.value.trim();
  var key = input.dataset.wrap ? p.replace(/\.probability$/, '') : p;
  if (v === '' || v === String(baseValueOf(input))) { delete state.sets[key]; }
  else { state.sets[key] = input.dataset.wrap ? input.dataset.wrap.replace('$', v) : v; }
  edited();
}

function edited() {
  writeUrl();
  clearTimeout(checkTimer);
  checkTimer = setTimeout(check, 250);
}

// ---------------------------------------------------------------- checking

function showErrors(errors) {
  document.querySelectorAll('.err').forEach(function (e) { e.textContent = ''; });
  document.querySelectorAll('.invalid').forEach(function (e) { e.classList.remove('invalid'); });
  var general = [];
  (errors || []).forEach(function (e) {
    var box = e.field === null ? null : document.querySelector('.err[data-err="' + CSS.escape(e.field) + '"]');
    if (box) {
      var fold = box.closest('details');
      if (fold) { fold.open = true; }
      box.textContent = (box.textContent ? box.textContent + '\n' : '') + e.message;
      var input = box.parentElement.querySelector('input, select');
      if (input) { input.classList.add('invalid'); }
    } else {
      general.push((e.field ? e.field + ': ' : '') + e.message);
    }
  });
  $('form-errors').textContent = general.join('\n');
}

function check() {
  return post('/api/scenario', formBody()).then(function (r) {
    showErrors(r.body.ok ? [] : r.body.errors);
    return r.body.ok;
  });
}

// ---------------------------------------------------------------- running

function run() {
  return post('/api/runs', formBody()).then(function (r) {
    if (!r.body.ok) {
      showErrors(r.body.errors || [{ field: null, message: r.body.error }]);
      $('out').classList.add('stale');
      $('status').textContent = 'Not run: see the messages in the form. The results below are from the last run.';
      return;
    }
    showErrors([]);
    runId = r.body.id;
    $('out').classList.add('stale');
    $('status').textContent = 'Running…';
    setDownloads(runId, false);
    poll(runId, 0);
  });
}

function poll(id, after) {
  if (id !== runId) { return; }
  fetch('/api/runs/' + id + '?after=' + after).then(function (r) { return r.json(); }).then(function (s) {
    if (id !== runId) { return; }
    show(s);
    if (s.phase === 'running' || s.phase === 'checking') { poll(id, s.version); }
  }).catch(function () { setTimeout(function () { poll(id, after); }, 1000); });
}

function show(s) {
  $('bar').style.width = (100 * (s.done || 0) / Math.max(1, s.total || 1)) + '%';
  if (s.phase === 'failed') {
    $('status').textContent = 'The run failed: ' + s.error;
    return;
  }
  if (s.rows) {
    // When the first results showed, in ms since the page was opened (read by the tests).
    if (!document.body.dataset.firstResultsMs) { document.body.dataset.firstResultsMs = Math.round(performance.now()); }
    $('out').classList.remove('stale');
    $('verdict').classList.remove('hidden');
    $('verdict').textContent = s.verdict;
    table(s);
  }
  var runs = (s.done || 0) + ' of ' + s.total + ' runs';
  if (s.phase === 'done' || s.phase === 'checking') {
    $('status').textContent = s.phase === 'done' ? 'Done: ' + runs + ' (policies × replications), with common random numbers.' :
      'Results of ' + runs + '; now testing the conclusions against the model\'s assumptions (as goodhart run does)…';
    setDownloads(runId, true);
    charts(s.charts || []);
  } else if (s.rows) {
    $('status').textContent = 'First look (' + s.replications + ' replications); running the rest: ' + runs + '…';
  } else {
    $('status').textContent = 'Running: ' + runs + '…';
  }
}

var HEAD = { net_value: 'Net value', token_cost: 'Token bill', useful_output: 'Useful output',
  incident_cost: 'Incidents', bonus_paid: 'Prizes paid', gaming_share: 'Gaming share' };

function table(s) {
  var t = $('table');
  t.textContent = '';
  var tr = el('tr');
  tr.appendChild(el('th', {}, 'Policy'));
  s.kpis.forEach(function (k) {
    tr.appendChild(el('th', {}, HEAD[k] || k));
    if (k === 'net_value') { tr.appendChild(el('th', {}, 'Net value vs ' + s.baseline)); }
  });
  t.appendChild(tr);
  s.rows.forEach(function (r) {
    var row = el('tr');
    row.appendChild(el('td', {}, r.policy + (r.settled ? '' : ' *')));
    r.cells.forEach(function (c, j) {
      var td = el('td', { class: 'num' });
      if (c) { td.textContent = c.value; td.appendChild(el('span', { class: 'ci' }, c.interval)); }
      row.appendChild(td);
      if (s.kpis[j] === 'net_value') {
        var d = el('td', { class: 'num' });
        if (c && c.diff) {
          d.textContent = c.diff;
          d.appendChild(el('span', { class: 'ci' }, c.diff_interval));
          d.className += c.diff.charAt(0) === '-' ? ' down' : ' up';
        } else { d.textContent = r.policy === s.baseline ? '(baseline)' : ''; }
        row.appendChild(d);
      }
    });
    t.appendChild(row);
  });
  $('table-note').textContent = 'USD totals per run; mean and [95% CI] over ' + s.replications +
    ' replications; differences are paired against ' + s.baseline + '. * behaviour had not settled by the last week.';
}

function charts(list) {
  var box = $('charts');
  box.textContent = '';
  list.forEach(function (c) {
    var f = el('figure');
    f.appendChild(el('figcaption', {}, c.title));
    // As an image: the SVG's text is never markup of this page.
    f.appendChild(el('img', { alt: c.title, src: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(c.svg) }));
    box.appendChild(f);
  });
}

function setDownloads(id, done) {
  var d = $('downloads');
  d.textContent = 'Download: ';
  [['scenario.toml', true], ['summary.csv', done], ['timeseries.csv', done], ['final_board.csv', done], ['summary.json', done],
    ['report.html', done]]
    .forEach(function (f) {
      var a = el('a', { href: '/api/runs/' + id + '/' + f[0], download: f[0] }, f[0]);
      if (!f[1]) { a.className = 'off'; }
      d.appendChild(a);
    });
}

// ---------------------------------------------------------------- start

function loadBase() {
  return post('/api/scenario', JSON.stringify({ base: state.base })).then(function (r) {
    if (!r.body.ok) {
      showErrors(r.body.errors);
      return false;
    }
    baseFields = r.body.fields;
    baseSliders = r.body.sliders;
    $('description').textContent = baseFields.description || '';
    buildSliders();
    buildPolicies();
    fillInputs();
    return true;
  });
}

function start() {
  readUrl();
  fetch('/api/meta').then(function (r) { return r.json(); }).then(function (m) {
    meta = m;
    var sel = $('base');
    m.presets.forEach(function (p) { sel.appendChild(el('option', { value: p.name, title: p.summary }, p.name + ': ' + p.summary)); });
    m.examples.forEach(function (e) { sel.appendChild(el('option', { value: e }, 'example: ' + e)); });
    if (!Array.prototype.some.call(sel.options, function (o) { return o.value === state.base; })) {
      sel.appendChild(el('option', { value: state.base }, state.base));
    }
    sel.value = state.base;
    sel.addEventListener('change', function () {
      state = { base: sel.value, sets: {}, factors: {} };
      writeUrl();
      loadBase().then(function (ok) { if (ok) { run(); } });
    });
    return loadBase();
  }).then(function (ok) {
    // The run started at once; this places its messages, if any, beside their fields.
    if (ok) { check(); }
  });
  // The run starts with the page, not after the form is built: the first
  // results come sooner.
  run();
  $('form').addEventListener('input', onInput);
  $('form').addEventListener('submit', function (e) { e.preventDefault(); clearTimeout(checkTimer); run(); });
  $('reset').addEventListener('click', function () {
    state.sets = {}; state.factors = {};
    writeUrl(); buildSliders(); fillInputs(); check();
  });
}

start();
