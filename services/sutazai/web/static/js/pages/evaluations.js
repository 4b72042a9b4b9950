// Evaluations (admins): the suites, start a run, follow runs as they go, and compare two runs of a
// suite case by case — accuracy with its 95% interval for each, and the paired difference B − A
// with its interval drawn against zero.
import { api } from '../api.js';
import { announce, clear, errorBox, field, fill, formatTime, h } from '../dom.js';
import { pageHeader } from './common.js';

const LIVE = ['queued', 'running'];
const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const interval = (ci) => (ci && ci[0] !== null && ci[1] !== null ? ` [${pct(ci[0])}, ${pct(ci[1])}]` : '');
const secs = (x) => (x === null || x === undefined ? '–' : x < 1 ? `${Math.round(x * 1000)} ms` : `${x.toFixed(1)} s`);

export function render(root, ctx) {
  const refresh = h('button', { type: 'button', class: 'ghost small' }, 'Refresh');
  const suites = h('section', { class: 'card', 'aria-labelledby': 'suites-title' },
    h('h2', { id: 'suites-title' }, 'Suites'), h('p', { class: 'muted' }, 'Loading…'));
  const runs = h('section', { class: 'card', 'aria-labelledby': 'runs-title' },
    h('div', { class: 'section-head' }, h('h2', { id: 'runs-title' }, 'Runs')), h('p', { class: 'muted' }, 'Loading…'));
  const comparison = h('section', { class: 'card', id: 'comparison', 'aria-labelledby': 'compare-title', hidden: true });
  const review = h('section', { class: 'card', id: 'review', 'aria-labelledby': 'review-title' },
    h('h2', { id: 'review-title' }, 'Corrections to review'), h('p', { class: 'muted' }, 'Loading…'));
  root.append(pageHeader('Evaluations', refresh), comparison, review, suites, runs);
  let alive = true;
  let timer = null;
  const chosen = { a: null, b: null };
  const [wantA, wantB] = (ctx.arg || '').split('/');
  if (wantA && wantB) Object.assign(chosen, { a: wantA, b: wantB });

  const loadRuns = async () => {
    clearTimeout(timer);
    let list;
    try {
      list = await api('/api/learning/v1/runs?limit=100');
    } catch (err) {
      if (alive) fill(runs, h('h2', { id: 'runs-title' }, 'Runs'), errorBox(err.message));
      return;
    }
    if (!alive) return;
    fill(runs, h('div', { class: 'section-head' }, h('h2', { id: 'runs-title' }, 'Runs'), compareButton()),
      list.length ? runTable(list) : h('p', { class: 'muted' }, 'No run yet: start one from a suite above, or with `sutazai eval run SUITE`.'));
    if (list.some((r) => LIVE.includes(r.status))) timer = setTimeout(loadRuns, 2000);
  };

  const compareButton = () => {
    const button = h('button', { type: 'button', class: 'primary small', disabled: !(chosen.a && chosen.b && chosen.a !== chosen.b) },
      'Compare A and B');
    button.addEventListener('click', () => { location.hash = `#/evaluations/${chosen.a}/${chosen.b}`; });
    return button;
  };

  const runTable = (list) => h('div', { class: 'table-wrap' }, h('table', { class: 'runs' },
    h('thead', {}, h('tr', {}, ['A', 'B', 'Run', 'Suite', 'Progress', 'Accuracy [95% interval]', 'Coverage', 'Latency p50', '']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map((run) => runRow(run)))));

  const runRow = (run) => {
    const pick = (side) => {
      const radio = h('input', { type: 'radio', name: `pick-${side}`, value: run.run_id, checked: chosen[side] === run.run_id,
        'aria-label': `${side.toUpperCase()}: ${run.label}` });
      radio.addEventListener('change', () => { chosen[side] = run.run_id; loadRuns(); });
      return radio;
    };
    const sum = run.summary || {};
    const cancel = LIVE.includes(run.status) ? h('button', { type: 'button', class: 'danger small' }, 'Cancel') : null;
    if (cancel) {
      cancel.addEventListener('click', async () => {
        cancel.disabled = true;
        try {
          await api(`/api/learning/v1/runs/${run.run_id}/cancel`, { method: 'POST' });
          announce(`Run ${run.label} cancelled; its finished cases are kept.`);
        } catch (err) {
          cancel.replaceWith(errorBox(err.message));
        }
        loadRuns();
      });
    }
    return h('tr', { 'data-run': run.run_id },
      h('td', {}, pick('a')), h('td', {}, pick('b')),
      h('th', { scope: 'row' }, run.label, h('br'), h('small', { class: 'muted' }, `${formatTime(run.created_at)} · ${configText(run.config)}`)),
      h('td', {}, `${run.suite} v${run.suite_version}`),
      h('td', {}, h('progress', { max: run.total, value: run.finished, 'aria-label': `${run.finished} of ${run.total} cases` }),
        ' ', h('span', { class: `status ${run.status}` }, `${run.status} · ${run.finished}/${run.total}`)),
      h('td', {}, pct(sum.accuracy), h('small', { class: 'muted' }, interval(sum.accuracy_ci))),
      h('td', {}, pct(sum.coverage)), h('td', {}, secs(sum.latency_p50_s)), h('td', {}, cancel));
  };

  const loadSuites = async () => {
    let list;
    let catalogue;
    try {
      [list, catalogue] = await Promise.all([api('/api/learning/v1/suites'), api('/api/reasoning/v1/routes')]);
    } catch (err) {
      if (alive) fill(suites, h('h2', { id: 'suites-title' }, 'Suites'), errorBox(err.message));
      return;
    }
    if (!alive) return;
    fill(suites, h('h2', { id: 'suites-title' }, 'Suites'),
      list.length ? startForm(list, catalogue.models, loadRuns)
        : h('p', { class: 'muted' }, 'No suite yet: `sutazai eval install` adds the built-in ones, `sutazai eval import FILE` your own.'));
  };

  const loadComparison = async () => {
    if (!(wantA && wantB)) return;
    comparison.hidden = false;
    fill(comparison, h('h2', { id: 'compare-title' }, 'Comparison'), h('p', { class: 'muted' }, 'Comparing…'));
    try {
      const [found, left, right] = await Promise.all([
        api(`/api/learning/v1/runs/compare?a=${encodeURIComponent(wantA)}&b=${encodeURIComponent(wantB)}`),
        api(`/api/learning/v1/runs/${encodeURIComponent(wantA)}/results`),
        api(`/api/learning/v1/runs/${encodeURIComponent(wantB)}/results`)]);
      if (alive) fill(comparison, ...comparisonView(found, left, right));
    } catch (err) {
      if (alive) fill(comparison, h('h2', { id: 'compare-title' }, 'Comparison'), errorBox(err.message));
    }
  };

  const loadReview = async () => {
    let pending;
    try {
      pending = await api('/api/learning/v1/corrections?status=pending&limit=200');
    } catch (err) {
      if (alive) fill(review, h('h2', { id: 'review-title' }, 'Corrections to review'), errorBox(err.message));
      return;
    }
    if (!alive) return;
    fill(review, h('h2', { id: 'review-title' }, `Corrections to review (${pending.length})`),
      pending.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'corrections' },
        h('thead', {}, h('tr', {}, ['Question', 'Answer given', 'Corrected to', 'By', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, pending.map((c) => reviewRow(c, loadReview)))))
        : h('p', { class: 'muted' }, 'None pending. People correct answers from the Ask page; an approved correction is used for the same question, in any words.'));
  };

  const load = () => { loadSuites(); loadRuns(); loadComparison(); loadReview(); };
  refresh.addEventListener('click', load);
  load();
  return () => { alive = false; clearTimeout(timer); };
}

function reviewRow(c, reload) {
  const act = (approve) => async () => {
    try {
      await api(`/api/learning/v1/corrections/${c.id}/${approve ? 'approve' : 'reject'}`, { method: 'POST', body: {} });
      announce(`Correction ${approve ? 'approved' : 'rejected'}.`);
    } catch (err) {
      announce(err.message);
    }
    reload();
  };
  const wrong = (c.wrong_passages || []).map((p) => p.source).join(', ');
  return h('tr', { 'data-correction': c.id },
    h('th', { scope: 'row' }, c.question, h('br'), h('small', { class: 'muted' }, `collection ${c.collection}${wrong ? ` · marked wrong: ${wrong}` : ''}`)),
    h('td', {}, c.given_answer), h('td', {}, c.answer, c.note ? h('small', { class: 'muted' }, h('br'), c.note) : null),
    h('td', {}, c.subject),
    h('td', {}, h('button', { type: 'button', class: 'primary small', onclick: act(true) }, 'Approve'), ' ',
      h('button', { type: 'button', class: 'danger small', onclick: act(false) }, 'Reject')));
}

function configText(config) {
  return Object.entries(config || {}).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? Object.entries(v).map(([a, b]) => `${a}:${b}`).join(',') : v}`).join(' ');
}

function startForm(list, models, started) {
  const suite = h('select', { name: 'suite' }, list.map((s) => h('option', { value: s.name }, `${s.name} v${s.version} (${s.cases} cases)`)));
  const mode = h('select', { name: 'mode' }, h('option', { value: 'pipeline' }, 'Pipeline (routes in force)'),
    h('option', { value: 'bare' }, 'One model, bare'), h('option', { value: 'ensemble' }, 'Pipeline, vote across models'));
  const model = h('select', { name: 'model' }, models.map((m) => h('option', { value: m }, m)));
  const modelField = field('Model', model, 'A bare run asks this model alone, chain of thought.');
  modelField.hidden = true;
  const voters = h('select', { name: 'ensemble', multiple: true, size: Math.min(models.length, 4) },
    models.map((m) => h('option', { value: m }, m)));
  const votersField = field('Models', voters, 'Two to five; the samples are spread over them.');
  votersField.hidden = true;
  const limit = h('input', { type: 'number', name: 'limit', min: 1, placeholder: 'all' });
  const label = h('input', { type: 'text', name: 'label', maxlength: 200, placeholder: 'e.g. baseline' });
  const status = h('div', { class: 'form-status', role: 'status' });
  const start = h('button', { type: 'submit', class: 'primary' }, 'Start run');
  mode.addEventListener('change', () => {
    modelField.hidden = mode.value !== 'bare';
    votersField.hidden = mode.value !== 'ensemble';
  });
  const form = h('form', { class: 'start-run' },
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Suite', 'Version', 'Cases', 'Source', 'Description'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map((s) => h('tr', {}, h('th', { scope: 'row' }, s.name), h('td', {}, `v${s.version} of ${s.versions}`),
        h('td', {}, s.cases), h('td', {}, s.source), h('td', {}, s.description || '—')))))),
    h('h3', {}, 'Start a run'),
    h('div', { class: 'row' }, field('Suite', suite), field('Configuration', mode), modelField, votersField,
      field('Cases', limit, 'Only the first N (empty: all).'), field('Label', label)),
    start, status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    start.disabled = true;
    clear(status);
    const body = { suite: suite.value, mode: mode.value === 'bare' ? 'bare' : 'pipeline', label: label.value.trim() };
    if (mode.value === 'bare') body.model = model.value;
    if (mode.value === 'ensemble') body.ensemble = [...voters.selectedOptions].map((o) => o.value);
    if (limit.value) body.limit = Number(limit.value);
    try {
      const run = await api('/api/learning/v1/runs', { method: 'POST', body });
      status.append(h('p', { class: 'notice' }, `Run ${run.label} started (${run.total} cases).`));
      announce(`Run ${run.label} started`);
      started();
    } catch (err) {
      status.append(errorBox(err.message));
    } finally {
      start.disabled = false;
    }
  });
  return form;
}

function comparisonView(found, left, right) {
  const { a, b, comparison: c } = found;
  const [low, high] = c.difference_ci || [null, null];
  const verdict = c.cases === 0 ? 'The runs share no finished case.'
    : low > 0 ? `B is better: ${pct(c.difference)} more cases right, and the 95% interval excludes zero.`
      : high < 0 ? `A is better: B gets ${pct(-c.difference)} fewer cases right, and the 95% interval excludes zero.`
        : 'No difference shown: the 95% interval of the difference includes zero.';
  const answers = new Map(left.map((r) => [r.case_id, { a: r }]));
  for (const r of right) answers.set(r.case_id, { ...(answers.get(r.case_id) || {}), b: r });
  const changed = c.changed.map((id) => [id, answers.get(id) || {}]);
  return [
    h('h2', { id: 'compare-title' }, `Comparison: ${a.label} (A) vs ${b.label} (B)`),
    h('p', { class: 'verdict', role: 'status' }, verdict),
    chart(a, b, c),
    h('div', { class: 'table-wrap' }, h('table', { class: 'contingency' },
      h('caption', {}, `${c.cases} cases both runs finished · McNemar exact p = ${c.mcnemar_p.toPrecision(3)}`),
      h('thead', {}, h('tr', {}, h('td'), h('th', { scope: 'col' }, 'B right'), h('th', { scope: 'col' }, 'B wrong'))),
      h('tbody', {},
        h('tr', {}, h('th', { scope: 'row' }, 'A right'), h('td', {}, c.both_right), h('td', {}, c.only_a)),
        h('tr', {}, h('th', { scope: 'row' }, 'A wrong'), h('td', {}, c.only_b), h('td', {}, c.neither))))),
    h('h3', {}, `Cases that changed (${changed.length})`),
    changed.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Case', 'A', 'B'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, changed.map(([id, pair]) => h('tr', {}, h('th', { scope: 'row' }, id), answerCell(pair.a), answerCell(pair.b))))))
      : h('p', { class: 'muted' }, 'None: both runs scored every shared case the same.'),
  ];
}

function answerCell(result) {
  if (!result) return h('td', { class: 'muted' }, '—');
  const mark = result.correct ? 'right' : result.abstained ? 'abstained' : 'wrong';
  const text = result.error ? `error: ${result.error}` : result.answer.replace(/\s+/g, ' ').slice(0, 160);
  return h('td', {}, h('span', { class: `status ${result.correct ? 'ready' : 'failed'}` }, mark), ' ', text);
}

// The comparison drawn: each run's accuracy as a bar with its 95% interval, then the paired
// difference B − A as a point with its interval against a zero line.
const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function chart(a, b, c) {
  const width = 640;
  const left = 170;
  const plot = width - left - 30;
  const x = (v) => left + v * plot;
  const dx = (v) => left + (v + 1) / 2 * plot;  // difference axis −100% … +100%
  const [low, high] = c.difference_ci || [null, null];
  const label = `Accuracy of A (${a.label}) ${pct(a.summary.accuracy)}${interval(a.summary.accuracy_ci)}, of B (${b.label}) `
    + `${pct(b.summary.accuracy)}${interval(b.summary.accuracy_ci)}; difference B − A ${pct(c.difference)}${interval(c.difference_ci)}`;
  const svg = s('svg', { viewBox: `0 0 ${width} 250`, class: 'compare-chart', role: 'img', 'aria-label': label });
  svg.append(s('title', {}, label));
  svg.append(s('text', { x: 0, y: 16, class: 'chart-title' }, 'Accuracy (bars) with 95% interval (whiskers)'));
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s('line', { x1: x(t), x2: x(t), y1: 24, y2: 110, class: 'grid' }));
    svg.append(s('text', { x: x(t), y: 124, class: 'tick', 'text-anchor': 'middle' }, `${t * 100}%`));
  }
  [[a, 'A', 32, 'bar-a'], [b, 'B', 70, 'bar-b']].forEach(([run, name, y, cls]) => {
    const acc = run.summary.accuracy || 0;
    const [lo, hi] = run.summary.accuracy_ci || [null, null];
    svg.append(s('text', { x: left - 8, y: y + 19, 'text-anchor': 'end', class: 'bar-label' }, `${name}: ${run.label}`.slice(0, 26)));
    svg.append(s('rect', { x: left, y, width: Math.max(1, acc * plot), height: 28, class: cls, 'data-accuracy': acc }));
    if (lo !== null && hi !== null) {
      svg.append(s('line', { x1: x(lo), x2: x(hi), y1: y + 14, y2: y + 14, class: 'whisker' }));
      for (const v of [lo, hi]) svg.append(s('line', { x1: x(v), x2: x(v), y1: y + 6, y2: y + 22, class: 'whisker' }));
    }
    const inside = acc > 0.85;  // the value inside the bar's end when there is no room after it
    svg.append(s('text', { x: inside ? x(acc) - 6 : x(acc) + 6, y: y + 19, class: inside ? 'value inside' : 'value',
      'text-anchor': inside ? 'end' : 'start' }, pct(acc)));
  });
  svg.append(s('text', { x: 0, y: 152, class: 'chart-title' }, 'Paired difference B − A with 95% interval'));
  svg.append(s('line', { x1: dx(-1), x2: dx(1), y1: 196, y2: 196, class: 'axis' }));
  for (const t of [-1, -0.5, 0, 0.5, 1]) {
    svg.append(s('line', { x1: dx(t), x2: dx(t), y1: 190, y2: 202, class: t === 0 ? 'zero' : 'axis' }));
    svg.append(s('text', { x: dx(t), y: 218, class: 'tick', 'text-anchor': 'middle' }, `${t > 0 ? '+' : ''}${t * 100}%`));
  }
  svg.append(s('line', { x1: dx(0), x2: dx(0), y1: 160, y2: 206, class: 'zero' }));
  svg.append(s('text', { x: left - 8, y: 180, 'text-anchor': 'end', class: 'bar-label' }, 'B − A'));
  if (c.difference !== null && low !== null) {
    const cls = low > 0 ? 'diff better' : high < 0 ? 'diff worse' : 'diff same';
    svg.append(s('line', { x1: dx(low), x2: dx(high), y1: 176, y2: 176, class: `${cls} whisker` }));
    svg.append(s('circle', { cx: dx(c.difference), cy: 176, r: 6, class: cls, 'data-difference': c.difference }));
    svg.append(s('text', { x: dx(c.difference), y: 166, 'text-anchor': 'middle', class: 'value' },
      `${c.difference > 0 ? '+' : ''}${pct(c.difference)}`));
  }
  svg.append(s('text', { x: 0, y: 244, class: 'tick' },
    `A: ${a.summary.cases} cases, B: ${b.summary.cases} cases, ${c.cases} in both; p (McNemar) = ${c.mcnemar_p.toPrecision(3)}`));
  return h('figure', { class: 'chart' }, svg);
}
