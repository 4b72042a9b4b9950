// System: health of every service and the backends behind it, the models, the versions.
import { api } from '../api.js';
import { clear, errorBox, h, fill } from '../dom.js';
import { pageHeader } from './common.js';

const SERVICES = [
  ['identity', '/api/identity'], ['reasoning', '/api/reasoning'], ['knowledge', '/api/knowledge'],
  ['learning', '/api/learning'], ['metacognition', '/api/metacognition'], ['web', '/web'],
];

export function render(root) {
  const grid = h('div', { class: 'service-grid' });
  const models = h('section', { class: 'card', 'aria-labelledby': 'models-title' }, h('h2', { id: 'models-title' }, 'Models'));
  const refresh = h('button', { type: 'button', class: 'ghost small' }, 'Refresh');
  const summary = h('p', { class: 'system-summary', role: 'status' }, 'Checking…');
  root.append(pageHeader('System', refresh), summary, grid, models);
  let alive = true;
  const load = async () => {
    summary.textContent = 'Checking…';
    const results = await Promise.all(SERVICES.map(([name, prefix]) => probe(name, prefix)));
    if (!alive) return;
    grid.replaceChildren(...results.map(serviceCard));
    const down = results.filter((r) => r.status !== 'ready');
    summary.className = `system-summary ${down.length ? 'bad' : 'good'}`;
    summary.textContent = down.length ? `${down.length} of ${results.length} services need attention: ${down.map((d) => d.name).join(', ')}`
      : `All ${results.length} services ready · version ${results[0].version || '?'}`;
    await showModels(models);
  };
  refresh.addEventListener('click', load);
  load();
  return () => { alive = false; };
}

async function probe(name, prefix) {
  const result = { name, prefix, status: 'down', checks: {}, version: null, error: null };
  try {
    const [health, ready] = await Promise.all([fetch(`${prefix}/healthz`), fetch(`${prefix}/readyz`)]);
    if (health.ok) result.version = (await health.json()).version;
    const body = await ready.json();
    result.status = body.status === 'ready' ? 'ready' : 'not ready';
    result.checks = body.checks || {};
  } catch (err) {
    result.error = `unreachable (${err.message})`;
  }
  return result;
}

function serviceCard(s) {
  const checks = Object.entries(s.checks);
  return h('section', { class: `card service ${s.status === 'ready' ? 'good' : 'bad'}`, 'aria-label': `${s.name} service` },
    h('div', { class: 'section-head' }, h('h2', {}, s.name), h('span', { class: `status ${s.status === 'ready' ? 'ready' : 'failed'}` }, s.status)),
    h('p', { class: 'muted' }, `${s.prefix} · version ${s.version || '?'}`),
    s.error ? errorBox(s.error) : null,
    checks.length ? h('ul', { class: 'checks' }, checks.map(([dep, c]) => h('li', {},
      h('span', { class: `dot ${c.status === 'up' ? 'up' : 'down'}`, 'aria-hidden': 'true' }),
      h('span', {}, dep), h('span', { class: 'muted' }, c.status === 'up' ? ` up · ${Math.round(c.latency_ms)} ms` : ` down · ${c.error}`))))
      : h('p', { class: 'muted' }, 'no backend checks'));
}

async function showModels(section) {
  const box = h('div');
  try {
    const [listed, routes] = await Promise.all([api('/v1/models'), api('/api/reasoning/v1/routes')]);
    box.append(h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Model', 'Kind', 'Serves'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, listed.data.map((m) => h('tr', {}, h('th', { scope: 'row' }, m.id), h('td', {}, m.id === 'sutazai' ? 'pipeline' : 'local model'),
        h('td', {}, Object.entries(routes.routes).filter(([, model]) => model === m.id).map(([kind]) => kind).join(', ') || '—')))))));
  } catch (err) {
    box.append(errorBox(err.message));
  }
  fill(section, h('h2', { id: 'models-title' }, 'Models'), box);
}
