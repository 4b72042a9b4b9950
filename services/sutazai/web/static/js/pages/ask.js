// Ask: a question, the plan and steps as they stream in, then the answer with citations,
// confidence, abstention, feedback and a link to the full trace.
import { api, stream } from '../api.js';
import { announce, append, clear, errorBox, field, fill, h, openDialog, passageDialog } from '../dom.js';
import { collectionSelect, confidenceBadge, pageHeader } from './common.js';

export function render(root) {
  const question = h('textarea', { name: 'question', rows: 3, required: true, maxlength: 100000,
    placeholder: 'e.g. How many more employees does Orvane Systems have than Kestrel Biotech?' });
  const collection = collectionSelect();
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Ask');
  const stop = h('button', { type: 'button', class: 'ghost', hidden: true }, 'Stop watching');
  const form = h('form', { class: 'card ask-form' },
    field('Question', question, 'Ctrl+Enter asks. Questions about numbers and dates are computed exactly.'),
    h('div', { class: 'row' }, field('Collection', collection), h('div', { class: 'actions' }, submit, stop)));
  const progress = h('section', { class: 'card steps-card', hidden: true, 'aria-labelledby': 'steps-title' },
    h('h2', { id: 'steps-title' }, 'Reasoning'), h('p', { class: 'muted plan-note' }),
    h('ol', { class: 'steps' }));
  const result = h('section', { class: 'card answer-card', hidden: true, 'aria-live': 'polite' });
  root.append(pageHeader('Ask'), form, result, progress);

  let controller = null;
  question.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  stop.addEventListener('click', () => controller?.abort());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!question.value.trim()) { question.focus(); return; }
    controller?.abort();
    controller = new AbortController();
    submit.disabled = true;
    stop.hidden = false;
    try {
      await run({ question: question.value, collection: collection.value || null }, controller.signal,
        progress, result);
    } finally {
      submit.disabled = false;
      stop.hidden = true;
    }
  });
  question.focus();
  return () => controller?.abort();
}

async function run(body, signal, progress, result) {
  const list = progress.querySelector('.steps');
  const note = progress.querySelector('.plan-note');
  clear(list);
  note.textContent = 'Planning…';
  progress.hidden = false;
  clear(result).hidden = true;
  announce('Asking…');
  try {
    for await (const { event, data } of stream('/api/reasoning/v1/ask/stream', body, signal)) {
      if (event === 'plan') showPlan(list, note, data);
      else if (event === 'step') showStep(list, data);
      else if (event === 'draft') showDraft(result, data);
      else if (event === 'answer') showAnswer(result, data);
      else if (event === 'error') showFailure(result, data);
    }
  } catch (err) {
    if (err.name === 'AbortError') { note.textContent = 'Stopped watching (the question still runs and its trace is kept).'; return; }
    showFailure(result, { detail: err.message, status: err.status });
  }
}

function showPlan(list, note, plan) {
  note.textContent = `Plan: ${plan.strategy} — ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}` +
    (plan.notes.length ? ` (${plan.notes.join('; ')})` : '');
  for (const step of plan.steps) list.append(stepItem(step.id, step.tool, step.purpose, step.depends_on));
}

function stepItem(id, tool, purpose, dependsOn) {
  return h('li', { class: 'step pending', 'data-step': id },
    h('div', { class: 'step-head' },
      h('span', { class: 'step-status', 'aria-label': 'status' }, 'waiting'),
      h('code', { class: 'tool' }, tool), h('span', { class: 'purpose' }, purpose || id),
      dependsOn?.length ? h('span', { class: 'muted deps' }, `after ${dependsOn.join(', ')}`) : null),
    h('div', { class: 'step-body' }));
}

function showStep(list, step) {
  let item = [...list.children].find((li) => li.dataset.step === step.id);
  if (!item) {
    item = stepItem(step.id, step.tool, step.purpose, step.depends_on);
    list.append(item);
  }
  item.className = `step ${step.status}`;
  item.querySelector('.step-status').textContent = step.status === 'ok' ? 'done' : step.status;
  const timing = `${Math.round(step.latency_ms)} ms` + (step.model ? ` · ${step.model}` : '') +
    (step.completion_tokens ? ` · ${step.prompt_tokens + step.completion_tokens} tokens` : '');
  const body = clear(item.querySelector('.step-body'));
  append(body, [h('span', { class: 'muted' }, timing), summary(step)]);
  body.append(h('details', {}, h('summary', {}, 'Input and output'),
    h('pre', {}, JSON.stringify({ input: step.input, output: step.output, error: step.error }, null, 2))));
}

function summary(step) {
  if (step.error) return h('p', { class: 'step-error' }, step.error);
  const out = step.output || {};
  const count = (n, word, plural = `${word}s`) => `${n} ${n === 1 ? word : plural}`;
  let text = null;
  if (Array.isArray(out.passages)) text = `${count(out.passages.length, 'passage')} found`;
  else if (Array.isArray(out.entities)) text = `${count(out.entities.length, 'entity', 'entities')}, ${count(out.facts.length, 'fact')}`;
  else if (Array.isArray(out.claims)) text = `${out.claims.filter((c) => c.supported).length} of ${count(out.claims.length, 'claim')} supported`;
  else if (out.choice) text = `→ ${out.choice} (${out.value})`;
  else if (out.result !== undefined) text = `= ${out.value ?? out.result}`;
  else if ('quote' in out) text = out.value ? `${out.value} — “${out.quote}”` : 'no value found';
  else if (out.expression) text = out.expression;
  else if (typeof out.answer === 'string') text = out.answer;
  else if (typeof out.text === 'string') text = out.text;
  return text ? h('p', { class: 'step-summary' }, text.slice(0, 300)) : null;
}

function answerText(text, citations) {
  const parts = text.split(/(\[\d+\]|\[unsupported\])/);
  return parts.filter(Boolean).map((part) => {
    const n = /^\[(\d+)\]$/.exec(part);
    if (n && citations[Number(n[1]) - 1]) {
      const c = citations[Number(n[1]) - 1];
      return h('button', { type: 'button', class: 'cite', 'aria-label': `Source ${n[1]}: ${c.source || 'passage'}`,
        onclick: () => openCitation(c, Number(n[1])) }, part);
    }
    if (part === '[unsupported]') return h('mark', { class: 'unsupported', title: 'no source backs this claim' }, part);
    return part;
  });
}

function openCitation(citation, n) {
  passageDialog({ title: `Source [${n}]`, source: citation.source, text: citation.text,
    meta: [`document ${citation.document_id}`, `passage ${citation.chunk_id}`] });
}

// The answer as the model writes it, marked as not yet checked; the checked answer replaces it.
function showDraft(result, draft) {
  let text = result.querySelector('.draft-text');
  if (!text) {
    clear(result).hidden = false;
    text = h('p', { class: 'answer-text draft-text' });
    result.append(h('div', { class: 'draft' },
      h('p', { class: 'muted draft-note' }, 'Writing… not yet checked against the sources'), text));
  }
  text.textContent += draft.delta;
}

// Where an answer comes from, said under it; an answer from the model alone is marked as such.
const GROUNDING = {
  model: 'From the model\u2019s general knowledge \u2014 not from your documents, which do not cover this.',
  computed: 'Computed from the numbers in the question (the trace shows the program or expression).',
  documents: 'From your documents (sources below).',
};

function showAnswer(result, answer) {
  clear(result).hidden = false;
  if (answer.abstained) {
    result.append(h('div', { class: 'abstained', role: 'status' },
      h('strong', {}, 'SutazAI did not answer. '), answer.reason || 'It was not confident enough.'));
  }
  result.append(h('div', { class: 'answer-head' },
    h('h2', {}, answer.abstained ? 'Best attempt (not an answer)' : 'Answer'), confidenceBadge(answer.confidence)));
  result.append(h('p', { class: 'answer-text' }, answerText(answer.answer || '', answer.citations)));
  const from = GROUNDING[answer.grounding];
  if (from) result.append(h('p', { class: `grounding ${answer.grounding}`, role: 'note' }, from));
  if (answer.citations.length) {
    result.append(h('h3', {}, 'Sources'), h('ol', { class: 'citations' }, answer.citations.map((c, i) =>
      h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => openCitation(c, i + 1) },
        c.source || c.document_id), h('span', { class: 'muted' }, ` — ${c.text.slice(0, 140)}…`)))));
  }
  const spent = answer.spent || {};
  result.append(h('p', { class: 'muted meta' },
    `${spent.steps ?? '?'} steps · ${spent.tokens ?? '?'} tokens · model ${answer.model} · `,
    h('a', { href: `#/trace/${answer.trace_id}` }, 'Full trace')));
  result.append(feedbackForm(answer.trace_id));
  announce(answer.abstained ? 'SutazAI did not answer.' : 'Answer ready.');
}

function showFailure(result, error) {
  clear(result).hidden = false;
  result.append(h('h2', {}, 'The question could not be answered'), errorBox(error.detail || 'unknown error'));
  if (error.trace_id) result.append(h('p', {}, h('a', { href: `#/trace/${error.trace_id}` }, 'See the trace')));
  announce('The question failed.');
}

function feedbackForm(traceId) {
  let rating = null;
  const up = h('button', { type: 'button', class: 'thumb', 'aria-pressed': 'false' }, '▲ Helpful');
  const down = h('button', { type: 'button', class: 'thumb', 'aria-pressed': 'false' }, '▼ Not helpful');
  const comment = h('textarea', { name: 'comment', rows: 2, maxlength: 4000, placeholder: 'What was right or wrong? (optional)' });
  const send = h('button', { type: 'submit', class: 'secondary' }, 'Send feedback');
  const status = h('div', { class: 'form-status', role: 'status' });
  const choose = (value) => {
    rating = value;
    up.setAttribute('aria-pressed', String(value === 'up'));
    down.setAttribute('aria-pressed', String(value === 'down'));
  };
  up.addEventListener('click', () => choose('up'));
  down.addEventListener('click', () => choose('down'));
  const fix = h('button', { type: 'button', class: 'ghost' }, 'Correct this answer…');
  fix.addEventListener('click', () => correctionDialog(traceId, status));
  const form = h('form', { class: 'feedback', 'aria-label': 'Feedback on this answer' },
    h('div', { class: 'row' }, h('span', {}, 'Was this useful?'), up, down),
    field('Comment', comment), h('div', { class: 'row' }, send, fix), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(status);
    if (!rating) { status.append(errorBox('Choose Helpful or Not helpful first.')); return; }
    send.disabled = true;
    try {
      await api('/api/learning/v1/feedback', { method: 'POST', body: { trace_id: traceId, rating, comment: comment.value || null } });
      status.append(h('p', { class: 'ok' }, 'Thanks — your feedback was saved.'));
    } catch (err) {
      status.append(errorBox(err.message));
    } finally {
      send.disabled = false;
    }
  });
  return form;
}

// A correction: the right answer, optionally the passage that shows it and passages that were
// wrong for the question (from the answer's own search steps). An admin of the collection reviews it;
// approved, the pipeline uses it when the same question is asked again, in any words.
async function correctionDialog(traceId, outerStatus) {
  const answer = h('textarea', { name: 'answer', rows: 2, maxlength: 4000 });
  const status = h('div', { class: 'form-status', role: 'status' });
  const list = h('div', { class: 'correction-passages' }, h('p', { class: 'muted' }, 'Loading the passages…'));
  const save = h('button', { type: 'submit', class: 'primary' }, 'Send correction');
  const form = h('form', { class: 'correction' },
    field('The right answer', answer, 'What the answer should have said.'),
    h('fieldset', {}, h('legend', {}, 'Passages this answer was shown (optional)'), list), save, status);
  const dialog = openDialog('Correct this answer', form, { wide: true });
  answer.focus();
  try {
    const trace = await api(`/api/reasoning/v1/traces/${traceId}`);
    const seen = new Map();
    for (const step of trace.steps) {
      for (const p of (step.output && step.output.passages) || []) if (!seen.has(p.chunk_id)) seen.set(p.chunk_id, p);
    }
    fill(list, seen.size ? h('table', { class: 'passages' },
      h('thead', {}, h('tr', {}, ['Shows the right answer', 'Wrong for this question', 'Passage'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, [...seen.values()].map((p) => h('tr', {},
        h('td', {}, h('input', { type: 'radio', name: 'shows', value: p.chunk_id, 'aria-label': `shows the answer: ${p.source}` })),
        h('td', {}, h('input', { type: 'checkbox', name: 'wrong', value: p.chunk_id, 'aria-label': `wrong: ${p.source}` })),
        h('td', {}, h('strong', {}, p.source), ' — ', p.text.slice(0, 200))))))
      : h('p', { class: 'muted' }, 'This answer used no passages.'));
  } catch (err) {
    fill(list, errorBox(`the passages could not be listed: ${err.message}`));
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(status);
    if (!answer.value.trim()) { status.append(errorBox('Write the right answer first.')); answer.focus(); return; }
    const shows = form.querySelector('input[name="shows"]:checked');
    const wrong = [...form.querySelectorAll('input[name="wrong"]:checked')].map((i) => i.value);
    save.disabled = true;
    try {
      const made = await api('/api/learning/v1/corrections', { method: 'POST', body: {
        trace_id: traceId, answer: answer.value, passage: shows ? shows.value : null, wrong_passages: wrong } });
      dialog.close();
      const text = made.status === 'approved' ? 'Correction saved and approved: it is used from the next question on.'
        : 'Correction saved: an admin of the collection reviews it.';
      fill(outerStatus, h('p', { class: 'ok' }, text));
      announce(text);
    } catch (err) {
      status.append(errorBox(err.message));
    } finally {
      save.disabled = false;
    }
  });
}
