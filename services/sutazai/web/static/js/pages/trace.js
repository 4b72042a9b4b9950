// A stored trace: the question, the plan, every step with its input, output and cost.
import { api } from '../api.js';
import { clear, errorBox, formatTime, h, fill } from '../dom.js';
import { confidenceBadge, pageHeader } from './common.js';

export function render(root, { arg }) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading the trace…'));
  root.append(pageHeader('Trace', h('a', { href: '#/ask', class: 'small' }, 'Back to Ask')), body);
  api(`/api/reasoning/v1/traces/${encodeURIComponent(arg)}`).then((t) => show(body, t))
    .catch((err) => fill(body, errorBox(err.message)));
}

function show(body, t) {
  fill(body, 
    h('section', { class: 'card' },
      h('h2', {}, t.question),
      h('p', {}, h('span', { class: `status ${t.status}` }, t.status), ' ', confidenceBadge(t.confidence)),
      h('p', { class: 'muted' }, `collection ${t.collection || 'default'} · by ${t.subject} · ${formatTime(t.started_at)}` +
        (t.replay_of ? ` · replay of ${t.replay_of}` : '')),
      t.answer ? h('p', { class: 'answer-text' }, t.answer) : null,
      t.reason ? h('p', { class: 'muted' }, `Reason: ${t.reason}`) : null,
      t.error ? errorBox(t.error) : null,
      h('p', {}, h('a', { href: `/api/reasoning/v1/traces/${t.id}`, target: '_blank', rel: 'noopener' }, 'Raw JSON'))),
    h('section', { class: 'card' }, h('h2', {}, `Steps (${t.steps.length})`),
      h('div', { class: 'table-wrap' }, h('table', { class: 'trace-steps' },
        h('thead', {}, h('tr', {}, ['#', 'Step', 'Tool', 'Status', 'Time', 'Tokens', 'Details'].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, t.steps.map((s) => h('tr', { class: s.status },
          h('td', {}, String(s.seq)), h('td', {}, s.purpose || s.step_id), h('td', {}, h('code', {}, s.tool)),
          h('td', {}, h('span', { class: `status ${s.status === 'ok' ? 'ready' : 'failed'}` }, s.status)),
          h('td', {}, `${Math.round(s.latency_ms)} ms`), h('td', {}, String(s.prompt_tokens + s.completion_tokens)),
          h('td', {}, h('details', {}, h('summary', {}, 'show'),
            h('pre', {}, JSON.stringify({ input: s.input, output: s.output, error: s.error }, null, 2)))))))))));
}
