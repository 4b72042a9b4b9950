// Calibration (platform admins): how far the confidence can be trusted. The calibrator in use,
// measured out of fold (each label by a calibrator that never saw it), and the probabilities given live against their labels: the
// reliability diagram (stated probability against the share right, with 95% intervals), the
// risk–coverage curve (what abstaining buys) with the threshold for a target risk, and a table
// per suite. "Fit a calibrator" reads the labels from evaluation runs and feedback.
import { api } from '../api.js';
import { announce, errorBox, fill, formatTime, h } from '../dom.js';
import { pageHeader } from './common.js';

const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const interval = (ci) => (ci && ci[0] !== null && ci[1] !== null ? ` [${pct(ci[0])}, ${pct(ci[1])}]` : '');
const COLOURS = ['set-0', 'set-1', 'set-2', 'set-3', 'set-4', 'set-5'];

export function render(root) {
  const refresh = h('button', { type: 'button', class: 'ghost small' }, 'Refresh');
  const fit = h('button', { type: 'button', class: 'primary small' }, 'Fit a calibrator');
  const exportLabels = h('button', { type: 'button', class: 'ghost small' }, 'Export labels (CSV)');
  const risk = h('input', { type: 'number', name: 'target_risk', min: '0.01', max: '0.5', step: '0.01', value: '0.10',
    'aria-label': 'Target risk (share of wrong answers among those given)' });
  const controls = h('form', { class: 'inline-form', 'aria-label': 'Target risk' },
    h('label', {}, 'Target risk ', risk));
  const status = h('section', { class: 'card', 'aria-labelledby': 'in-use-title' },
    h('h2', { id: 'in-use-title' }, 'In use'), h('p', { class: 'muted' }, 'Loading…'));
  const charts = h('section', { class: 'card', id: 'calibration-charts', 'aria-labelledby': 'charts-title' },
    h('h2', { id: 'charts-title' }, 'Reliability and risk–coverage'));
  const sets = h('section', { class: 'card', 'aria-labelledby': 'sets-title' }, h('h2', { id: 'sets-title' }, 'By set'));
  const notice = h('div', { class: 'form-status', role: 'status' });
  root.append(pageHeader('Calibration', controls, fit, exportLabels, refresh), notice, status, charts, sets);
  let alive = true;

  const load = async () => {
    let report;
    try {
      report = await api(`/api/metacognition/v1/calibration?target_risk=${encodeURIComponent(risk.value || '0.1')}`);
    } catch (err) {
      if (alive) fill(status, h('h2', { id: 'in-use-title' }, 'In use'), errorBox(err.message));
      return;
    }
    if (!alive) return;
    const active = report.active;
    const held = active.held_out;
    fill(status, h('h2', { id: 'in-use-title' }, 'In use'),
      h('p', {}, active.version
        ? `Calibrator ${active.version} (${active.method}), fitted ${formatTime(active.created_at)} on ${active.metrics.fitted_on} labels. `
          + `Out of fold on ${active.metrics.held_out} (each by a calibrator that never saw it): ECE ${held.ece.toFixed(3)}, Brier ${held.brier.toFixed(3)} `
          + `(the prior: ECE ${active.metrics.prior_held_out_metrics.ece.toFixed(3)}, Brier ${active.metrics.prior_held_out_metrics.brier.toFixed(3)}).`
          + (active.metrics.ece_if_perfectly_calibrated
            ? ` By chance alone a perfectly calibrated model would measure ECE ${active.metrics.ece_if_perfectly_calibrated.mean.toFixed(3)} on this many cases; `
              + `measuring ECE ≤ ${active.metrics.ece_target.toFixed(2)} reliably takes about ${active.metrics.labels_to_verify_target ?? 'over 25,600'} labels.`
            : '')
        : 'The documented prior (agreement of samples × share of supported claims): no calibrator has been fitted yet.'),
      h('p', {}, `Answers abstain below a probability of ${report.abstain_below.toFixed(2)}.`,
        held && held.threshold ? ` For at most ${pct(report.target_risk)} wrong, answer from ${held.threshold.threshold.toFixed(2)}: `
          + `${pct(held.threshold.coverage)} answered, risk ${pct(held.threshold.risk)}${interval(held.threshold.risk_ci)} on held-out labels.` : ''),
      report.stale ? h('p', { class: 'muted' }, report.stale) : '');
    const named = [];
    if (held) named.push([`held out (calibrator ${active.version})`, held]);
    if (report.live) named.push(['live, all labelled answers', report.live]);
    for (const [name, r] of Object.entries(report.groups)) named.push([name, r]);
    if (!named.length) {
      fill(charts, h('h2', { id: 'charts-title' }, 'Reliability and risk–coverage'),
        h('p', { class: 'muted' }, 'No labelled answers yet: run an evaluation suite (Evaluations page or `sutazai eval run`), or rate answers.'));
      fill(sets, h('h2', { id: 'sets-title' }, 'By set'));
      return;
    }
    const drawn = named.slice(0, 2);  // the calibrator's held-out set and the live one; the table has the rest
    fill(charts, h('h2', { id: 'charts-title' }, 'Reliability and risk–coverage'),
      h('div', { class: 'chart-pair' }, reliabilityChart(drawn), riskChart(drawn, report.target_risk)));
    fill(sets, h('h2', { id: 'sets-title' }, 'By set'),
      setTable(named, report.target_risk, (active.metrics && active.metrics.held_out_by_group) || {}));
  };

  fit.addEventListener('click', async () => {
    fit.disabled = true;
    fill(notice, 'Reading the labels and fitting…');
    try {
      const made = await api('/api/metacognition/v1/calibrators', { method: 'POST', body: {} });
      const text = `Calibrator ${made.version} (${made.method}) fitted on ${made.metrics.fitted_on} labels; it is used from the next answer on.`;
      fill(notice, text);
      announce(text);
    } catch (err) {
      fill(notice, errorBox(err.message));
      fit.disabled = false;
      return;
    }
    fit.disabled = false;
    load();
  });
  exportLabels.addEventListener('click', async () => {
    exportLabels.disabled = true;
    try {
      const got = await api('/api/metacognition/v1/labels?limit=100000');
      const link = h('a', { href: URL.createObjectURL(new Blob([labelsCsv(got.labels)], { type: 'text/csv' })),
        download: 'sutazai-labels.csv' });
      document.body.append(link);
      link.click();
      link.remove();
      const text = `Exported ${got.labels.length} labelled answers (features, the probability given, right or not).`;
      fill(notice, text);
      announce(text);
    } catch (err) {
      fill(notice, errorBox(err.message));
    }
    exportLabels.disabled = false;
  });
  refresh.addEventListener('click', load);
  controls.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  risk.addEventListener('change', load);
  load();
  return () => { alive = false; };
}

// One row per labelled answer, its features as columns (lists as JSON), quoted as RFC 4180 asks;
// text a spreadsheet would run as a formula (features come from the assessment's caller) is led
// by a quote, so it is shown as text.
export function labelsCsv(rows) {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.features)))].sort();
  const cell = (v) => {
    let text = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    if (typeof v === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const head = ['trace_id', 'source', 'suite', 'run_id', 'probability', 'calibrator', 'correct', 'assessed_at', ...names];
  const lines = rows.map((r) => [r.trace_id, r.source, r.suite, r.run_id, r.probability, r.calibrator, r.correct,
    r.assessed_at, ...names.map((n) => r.features[n])].map(cell).join(','));
  return [head.join(','), ...lines].join('\r\n') + '\r\n';
}

// Per set, as given (ECE of the probabilities the answers had) and, for each suite, the calibrator
// in use out of fold on that suite's labels next to what chance gives a perfect model on that many.
function setTable(named, target, heldByGroup) {
  const heldCell = (name) => {
    const g = heldByGroup[name];
    return g ? h('td', { 'data-held-ece': g.ece, title: `a perfectly calibrated model would measure ${g.ece_if_perfectly_calibrated.mean.toFixed(3)} on ${g.cases} cases by chance (95%: ≤ ${g.ece_if_perfectly_calibrated.p95.toFixed(3)})` },
      `${g.ece.toFixed(3)} (chance ${g.ece_if_perfectly_calibrated.mean.toFixed(3)})`) : h('td', {}, '–');
  };
  return h('div', { class: 'table-wrap' }, h('table', { class: 'calibration-sets' },
    h('thead', {}, h('tr', {}, ['Set', 'Cases', 'Accuracy [95%]', 'ECE', 'ECE of the calibrator, held out', 'Brier', `Threshold for ≤ ${pct(target)} wrong`]
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, named.map(([name, r]) => h('tr', { 'data-set': name },
      h('th', { scope: 'row' }, name), h('td', {}, String(r.cases)), h('td', {}, `${pct(r.accuracy)}${interval(r.accuracy_ci)}`),
      h('td', { 'data-ece': r.ece }, r.ece.toFixed(3)), heldCell(name), h('td', {}, r.brier.toFixed(3)),
      h('td', {}, r.threshold ? `${r.threshold.threshold.toFixed(2)} (${pct(r.threshold.coverage)} answered, risk ${pct(r.threshold.risk)})`
        : 'none reaches it'))))));
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// Stated probability (x) against the share right (y), one point per bin with its interval; the
// diagonal is perfect calibration; under it, how many answers fell in each bin.
function reliabilityChart(named) {
  const [w, top, plot, left] = [360, 20, 220, 44];
  const x = (v) => left + v * (w - left - 22);
  const y = (v) => top + (1 - v) * plot;
  const label = named.map(([n, r]) => `${n}: ECE ${r.ece.toFixed(3)}, Brier ${r.brier.toFixed(3)}, ${r.cases} answers`).join('; ');
  const svg = s('svg', { viewBox: `0 0 ${w} 340`, class: 'compare-chart reliability', role: 'img', 'aria-label': `Reliability diagram. ${label}` });
  svg.append(s('title', {}, `Reliability diagram. ${label}`));
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s('line', { x1: x(t), x2: x(t), y1: top, y2: top + plot, class: 'grid' }));
    svg.append(s('line', { x1: left, x2: x(1), y1: y(t), y2: y(t), class: 'grid' }));
    svg.append(s('text', { x: x(t), y: top + plot + 14, class: 'tick', 'text-anchor': 'middle' }, `${t * 100}%`));
    svg.append(s('text', { x: left - 6, y: y(t) + 4, class: 'tick', 'text-anchor': 'end' }, `${t * 100}%`));
  }
  svg.append(s('line', { x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: 'diagonal' }));
  const most = Math.max(1, ...named.flatMap(([, r]) => r.reliability.map((b) => b.count)));
  named.forEach(([, r], i) => {
    const cls = COLOURS[i % COLOURS.length];
    for (const b of r.reliability) {
      const [lo, hi] = b.accuracy_ci;
      svg.append(s('line', { x1: x(b.confidence), x2: x(b.confidence), y1: y(lo), y2: y(hi), class: `whisker ${cls}` }));
      svg.append(s('circle', { cx: x(b.confidence), cy: y(b.accuracy), r: 4, class: `point ${cls}`, 'data-count': b.count }));
      const barW = (w - left - 22) / 10 / (named.length + 1);
      const height = 50 * b.count / most;
      svg.append(s('rect', { x: x(b.lower) + barW * (i + 0.5), y: 330 - height, width: barW, height, class: `count ${cls}` }));
    }
  });
  svg.append(s('text', { x: left, y: 12, class: 'chart-title' }, 'Share right vs. stated probability'));
  svg.append(s('line', { x1: left, x2: x(1), y1: 330, y2: 330, class: 'axis' }));
  svg.append(s('text', { x: left, y: top + plot + 34, class: 'tick' }, `answers per bin (most: ${most})`));
  return h('figure', { class: 'chart' }, svg, legend(named));
}

// Coverage (x) against risk (y) as the threshold lowers; the dashed line is the target risk and
// the ringed point the threshold that reaches it with the most answers.
function riskChart(named, target) {
  const [w, top, plot, left] = [360, 20, 220, 44];
  const x = (v) => left + v * (w - left - 22);
  const y = (v) => top + (1 - v) * plot;
  const chosen = named.map(([n, r]) => (r.threshold ? `${n}: answer from ${r.threshold.threshold.toFixed(2)}, ${pct(r.threshold.coverage)} answered` : `${n}: no threshold reaches the target`));
  const label = `Risk–coverage curve; target risk ${pct(target)}. ${chosen.join('; ')}`;
  const svg = s('svg', { viewBox: `0 0 ${w} 280`, class: 'compare-chart risk-coverage', role: 'img', 'aria-label': label });
  svg.append(s('title', {}, label));
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s('line', { x1: x(t), x2: x(t), y1: top, y2: top + plot, class: 'grid' }));
    svg.append(s('line', { x1: left, x2: x(1), y1: y(t), y2: y(t), class: 'grid' }));
    svg.append(s('text', { x: x(t), y: top + plot + 14, class: 'tick', 'text-anchor': 'middle' }, `${t * 100}%`));
    svg.append(s('text', { x: left - 6, y: y(t) + 4, class: 'tick', 'text-anchor': 'end' }, `${t * 100}%`));
  }
  svg.append(s('line', { x1: left, x2: x(1), y1: y(target), y2: y(target), class: 'target' }));
  named.forEach(([, r], i) => {
    const cls = COLOURS[i % COLOURS.length];
    const points = r.risk_coverage.map((p) => `${x(p.coverage)},${y(p.risk)}`).join(' ');
    svg.append(s('polyline', { points, class: `curve ${cls}` }));
    if (r.threshold) {
      svg.append(s('circle', { cx: x(r.threshold.coverage), cy: y(r.threshold.risk), r: 6, class: `chosen ${cls}`,
        'data-threshold': r.threshold.threshold }));
    }
  });
  svg.append(s('text', { x: left, y: 12, class: 'chart-title' }, 'Risk (share wrong) vs. coverage'));
  svg.append(s('text', { x: x(1), y: top + plot + 30, class: 'tick', 'text-anchor': 'end' }, 'coverage →'));
  return h('figure', { class: 'chart' }, svg, legend(named));
}

function legend(named) {
  return h('figcaption', { class: 'legend' }, named.map(([n, r], i) => h('span', { class: `key ${COLOURS[i % COLOURS.length]}` },
    `${n} (${r.cases})`)));
}
