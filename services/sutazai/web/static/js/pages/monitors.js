// Monitors (admins): every rule's reading over the recent window against its threshold, the
// alerts (firing first), and pinning the reference period that confidence drift is measured
// against. The page follows the readings while it is open.
import { api } from '../api.js';
import { announce, errorBox, fill, formatTime, h } from '../dom.js';
import { pageHeader } from './common.js';

const fmt = (rule, v) => (v === null || v === undefined ? '–'
  : rule.startsWith('latency') ? `${v.toFixed(1)} s` : rule.endsWith('_rate') ? `${(v * 100).toFixed(1)}%` : v.toFixed(3));

export function render(root) {
  const refresh = h('button', { type: 'button', class: 'ghost small' }, 'Refresh');
  const pin = h('button', { type: 'button', class: 'small' }, 'Pin the newest answers as the reference');
  const notice = h('div', { class: 'form-status', role: 'status' });
  const readings = h('section', { class: 'card', 'aria-labelledby': 'readings-title' },
    h('h2', { id: 'readings-title' }, 'Readings'), h('p', { class: 'muted' }, 'Loading…'));
  const alerts = h('section', { class: 'card', 'aria-labelledby': 'alerts-title' },
    h('h2', { id: 'alerts-title' }, 'Alerts'), h('p', { class: 'muted' }, 'Loading…'));
  root.append(pageHeader('Monitors', pin, refresh), notice, readings, alerts);
  let alive = true;
  let timer = null;

  const load = async () => {
    clearTimeout(timer);
    let overview;
    let list;
    try {
      [overview, list] = await Promise.all([api('/api/metacognition/v1/monitors'), api('/api/metacognition/v1/alerts?limit=100')]);
    } catch (err) {
      if (alive) fill(readings, h('h2', { id: 'readings-title' }, 'Readings'), errorBox(err.message));
      return;
    }
    if (!alive) return;
    const t = overview.thresholds;
    const ref = overview.reference;
    fill(readings, h('h2', { id: 'readings-title' }, 'Readings'),
      h('p', { class: 'muted' }, `Over the newest ${t.window} answers; drift against ${t.reference} answers `
        + (ref ? `from observation ${ref.first_seq} (pinned by ${ref.pinned_by}, ${formatTime(ref.pinned_at)}).` : 'from the first ones observed.')
        + ` A rule needs ${t.min_observations} observations before it can fire.`),
      h('div', { class: 'table-wrap' }, h('table', { class: 'monitor-readings' },
        h('thead', {}, h('tr', {}, ['Rule', 'Now', 'Threshold', '', 'Observations', 'State'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, overview.readings.map((r) => h('tr', { 'data-rule': r.rule, class: r.firing ? 'firing' : '' },
          h('th', { scope: 'row' }, r.rule, h('br'), h('small', { class: 'muted' }, r.description)),
          h('td', {}, fmt(r.rule, r.value)), h('td', {}, fmt(r.rule, r.threshold)), h('td', {}, gauge(r)),
          h('td', {}, String(r.count)),
          h('td', {}, h('span', { class: `status ${r.firing ? 'failed' : r.firing === false ? 'ready' : ''}` },
            r.firing ? 'firing' : r.firing === false ? 'ok' : 'not enough data'))))))));
    fill(alerts, h('h2', { id: 'alerts-title' }, 'Alerts'),
      list.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'alerts' },
        h('thead', {}, h('tr', {}, ['Rule', 'State', 'Value', 'Threshold', 'Fired', 'Resolved', 'Detail'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, list.map((a) => h('tr', { 'data-alert': a.id, class: a.status },
          h('th', { scope: 'row' }, a.rule),
          h('td', {}, h('span', { class: `status ${a.status === 'firing' ? 'failed' : 'ready'}` }, a.status)),
          h('td', {}, fmt(a.rule, a.value)), h('td', {}, fmt(a.rule, a.threshold)),
          h('td', {}, formatTime(a.fired_at)), h('td', {}, formatTime(a.resolved_at)),
          h('td', {}, h('small', {}, Object.entries(a.detail).map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toPrecision(3) : v}`).join(' · '))))))))
        : h('p', { class: 'muted' }, 'No alert has fired.'));
    timer = setTimeout(load, 5000);
  };

  pin.addEventListener('click', async () => {
    pin.disabled = true;
    try {
      const pinned = await api('/api/metacognition/v1/monitors/reference', { method: 'POST' });
      const text = `Drift is now measured against the answers from observation ${pinned.first_seq} on.`;
      fill(notice, text);
      announce(text);
    } catch (err) {
      fill(notice, errorBox(err.message));
    }
    pin.disabled = false;
    load();
  });
  refresh.addEventListener('click', load);
  load();
  return () => { alive = false; clearTimeout(timer); };
}

// The reading as a bar against its threshold (the threshold at 2/3 of the width).
function gauge(r) {
  if (r.value === null) return '';
  const share = Math.min(1, r.value / (r.threshold * 1.5 || 1));
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 120 12');
  svg.setAttribute('class', 'gauge');
  svg.setAttribute('aria-hidden', 'true');
  const bar = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  Object.entries({ x: 0, y: 2, width: Math.max(1, share * 120), height: 8, class: r.firing ? 'over' : 'under' })
    .forEach(([k, v]) => bar.setAttribute(k, String(v)));
  const mark = document.createElementNS('http://www.w3.org/2000/svg', 'line');
  Object.entries({ x1: 80, x2: 80, y1: 0, y2: 12, class: 'mark' }).forEach(([k, v]) => mark.setAttribute(k, String(v)));
  svg.append(bar, mark);
  return svg;
}
