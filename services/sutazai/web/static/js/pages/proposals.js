// Proposals (admins): bounded changes to the settings (abstention threshold, model routes,
// retrieval depth and fusion weights) with
// their evidence; a platform admin approves (applied at once as a new settings version) or
// rejects, each with a reason that goes to the audit log. Below, every settings version, and
// restoring any earlier one.
import { api } from '../api.js';
import { announce, confirmDialog, errorBox, fill, formatTime, h } from '../dom.js';
import { pageHeader } from './common.js';

const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const ci = (c) => (c ? ` [${pct(c[0])}, ${pct(c[1])}]` : '');

const retrievalText = (r) => (r ? `depth ${r.depth}, keyword ${r.weights.keyword} / vector ${r.weights.vector}` : 'defaults');

function changeText(change) {
  if ('abstain_below' in change) return `abstain below ${Number(change.abstain_below).toFixed(2)}`;
  if ('retrieval' in change) return `retrieval ${retrievalText(change.retrieval)}`;
  return Object.entries(change.routes || {}).map(([k, v]) => `${k} → ${v}`).join(', ');
}

function evidenceText(p) {
  const e = p.evidence || {};
  if ('utility_difference' in e) {  // retrieval tuned on evaluation questions
    const sign = (x) => `${x > 0 ? '+' : ''}${x.toFixed(3)}`;
    return `held-out (${e.held_out_cases} questions of ${e.suites.join(', ')}): answer found in the passages ${pct(e.proposed.recall)} `
      + `(${retrievalText(e.proposed)}) vs ${pct(e.current.recall)} in force (${retrievalText(e.current)}). `
      + `Utility ${sign(e.utility_difference)} [${sign(e.utility_difference_ci[0])}, ${sign(e.utility_difference_ci[1])}].`;
  }
  if (e.proposed && e.current) {
    return `held-out (${e.cases} cases): at ${e.proposed.threshold.toFixed(2)} ${pct(e.proposed.coverage)} answered, risk ${pct(e.proposed.risk)}; `
      + `in force ${e.current.threshold.toFixed(2)}: ${pct(e.current.coverage)} answered, risk ${pct(e.current.risk)}. `
      + `Risk ${pct(e.risk_difference)}${ci(e.risk_difference_ci)}, coverage ${pct(e.coverage_difference)}${ci(e.coverage_difference_ci)}.`;
  }
  if (Array.isArray(e.runs)) {  // routing evidence from the learning service's evaluation runs
    return `${e.suite}: ` + e.runs.map((x) => `${x.kind} on ${x.model} ${pct(x.summary && x.summary.accuracy)}`
      + (x.comparison ? ` (${x.comparison.difference > 0 ? '+' : ''}${pct(x.comparison.difference)}${ci(x.comparison.difference_ci)})` : '')).join('; ');
  }
  return Object.keys(e).length ? JSON.stringify(e).slice(0, 300) : 'no evidence given';
}

export function render(root) {
  const refresh = h('button', { type: 'button', class: 'ghost small' }, 'Refresh');
  const risk = h('input', { type: 'number', name: 'target_risk', min: '0.01', max: '0.5', step: '0.01', value: '0.10',
    'aria-label': 'Target risk for a threshold proposal' });
  const proposeButton = h('button', { type: 'button', class: 'primary small' }, 'Propose a threshold');
  const suites = h('input', { type: 'text', name: 'suites', value: 'companies', size: '18',
    'aria-label': 'Suites to tune retrieval on (comma-separated)' });
  const retrievalButton = h('button', { type: 'button', class: 'small' }, 'Propose retrieval');
  const notice = h('div', { class: 'form-status', role: 'status' });
  const list = h('section', { class: 'card', 'aria-labelledby': 'proposals-title' },
    h('h2', { id: 'proposals-title' }, 'Changes proposed'), h('p', { class: 'muted' }, 'Loading…'));
  const versions = h('section', { class: 'card', 'aria-labelledby': 'versions-title' },
    h('h2', { id: 'versions-title' }, 'Settings versions'), h('p', { class: 'muted' }, 'Loading…'));
  root.append(pageHeader('Proposals', h('label', {}, 'Target risk ', risk), proposeButton,
    h('label', {}, 'Suites ', suites), retrievalButton, refresh), notice, list, versions);
  let alive = true;

  const say = (text) => { fill(notice, text); announce(text); };

  const load = async () => {
    let proposals;
    let kept;
    try {
      [proposals, kept] = await Promise.all([api('/api/metacognition/v1/proposals?limit=100'),
        api('/api/metacognition/v1/settings/versions?limit=100')]);
    } catch (err) {
      if (alive) fill(list, h('h2', { id: 'proposals-title' }, 'Changes proposed'), errorBox(err.message));
      return;
    }
    if (!alive) return;
    fill(list, h('h2', { id: 'proposals-title' }, 'Changes proposed'), proposals.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'proposals' },
        h('thead', {}, h('tr', {}, ['Change', 'Evidence', 'From', 'State', 'Decision'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, proposals.map((p) => row(p)))))
      : h('p', { class: 'muted' }, 'No proposal yet. Propose a threshold above (after fitting a calibrator), or let the learning service propose routes.'));
    fill(versions, h('h2', { id: 'versions-title' }, 'Settings versions'), kept.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'versions' },
        h('thead', {}, h('tr', {}, ['Version', 'Abstain below', 'Routes', 'Retrieval', 'By', 'Why', 'When', ''].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, kept.map((v, i) => versionRow(v, i === 0)))))
      : h('p', { class: 'muted' }, 'No settings version yet: the defaults are in force.'));
  };

  const row = (p) => {
    let decision = h('span', { class: 'muted' }, p.decided_by ? `${p.decided_by}: ${p.decision_note || ''}` : '');
    if (p.status === 'pending' || p.status === 'approved') {
      const note = h('input', { type: 'text', name: 'note', 'aria-label': `Why (proposal ${p.id.slice(0, 8)})`, maxlength: '2000' });
      const approve = h('button', { type: 'button', class: 'primary small' }, p.status === 'pending' ? 'Approve' : 'Finish applying');
      const reject = p.status === 'pending' ? h('button', { type: 'button', class: 'danger small' }, 'Reject') : null;
      const act = async (verb) => {
        if (verb !== 'apply' && !note.value.trim()) {
          fill(notice, errorBox('Say why (it goes to the audit log).'));
          note.focus();
          return;
        }
        try {
          const done = await api(`/api/metacognition/v1/proposals/${p.id}/${verb}`,
            verb === 'apply' ? { method: 'POST' } : { method: 'POST', body: { note: note.value.trim() } });
          say(done.status === 'applied' ? `Applied as settings version ${done.applied_version}.`
            : done.status === 'failed' ? `Approved but not applied: ${done.decision_note}` : `Proposal ${done.status}.`);
        } catch (err) {
          fill(notice, errorBox(err.message));
        }
        load();
      };
      approve.addEventListener('click', () => act(p.status === 'pending' ? 'approve' : 'apply'));
      if (reject) reject.addEventListener('click', () => act('reject'));
      decision = h('div', { class: 'decision' }, p.status === 'pending' ? note : null, approve, reject);
    }
    return h('tr', { 'data-proposal': p.id, class: p.status },
      h('th', { scope: 'row' }, changeText(p.change), h('br'), h('small', { class: 'muted' }, `${p.kind} · ${formatTime(p.created_at)}`)),
      h('td', { class: 'evidence' }, evidenceText(p), p.rationale ? h('div', { class: 'muted' }, p.rationale) : null),
      h('td', {}, p.source),
      h('td', {}, h('span', { class: `status ${p.status === 'applied' ? 'ready' : p.status === 'failed' || p.status === 'rejected' ? 'failed' : ''}` }, p.status),
        p.applied_version ? h('small', { class: 'muted' }, ` v${p.applied_version}`) : null),
      h('td', {}, decision));
  };

  const versionRow = (v, current) => {
    let action = current ? h('span', { class: 'status ready' }, 'in force') : null;
    if (!current) {
      const restoreButton = h('button', { type: 'button', class: 'small' }, `Restore ${v.version}`);
      restoreButton.addEventListener('click', async () => {
        if (!(await confirmDialog(`Restore settings version ${v.version}?`,
          `Abstain below ${Number(v.settings.abstain_below).toFixed(2)}, its routes and its retrieval settings come back in force as a new version.`, 'Restore'))) return;
        try {
          const made = await api(`/api/metacognition/v1/settings/versions/${v.version}/restore`,
            { method: 'POST', body: { note: `restored from the web UI to version ${v.version}` } });
          say(`Version ${v.version} restored as version ${made.version}.`);
        } catch (err) {
          fill(notice, errorBox(err.message));
        }
        load();
      });
      action = restoreButton;
    }
    return h('tr', { 'data-version': v.version },
      h('th', { scope: 'row' }, String(v.version), v.restored_from ? h('small', { class: 'muted' }, ` (restored ${v.restored_from})`) : null),
      h('td', {}, Number(v.settings.abstain_below).toFixed(2)),
      h('td', {}, Object.entries(v.settings.routes || {}).map(([k, m]) => `${k}=${m}`).join(', ')),
      h('td', {}, retrievalText(v.settings.retrieval)),
      h('td', {}, v.actor), h('td', {}, v.reason), h('td', {}, formatTime(v.created_at)), h('td', {}, action));
  };

  proposeButton.addEventListener('click', async () => {
    proposeButton.disabled = true;
    try {
      const made = await api('/api/metacognition/v1/proposals/threshold', { method: 'POST', body: { target_risk: Number(risk.value) } });
      say(`Proposed: ${changeText(made.change)}.`);
    } catch (err) {
      fill(notice, errorBox(err.message));
    }
    proposeButton.disabled = false;
    load();
  });
  retrievalButton.addEventListener('click', async () => {
    const names = suites.value.split(',').map((x) => x.trim()).filter(Boolean);
    if (!names.length) {
      fill(notice, errorBox('Name at least one suite whose questions are asked of a collection (e.g. companies).'));
      suites.focus();
      return;
    }
    retrievalButton.disabled = true;
    say('Tuning retrieval on the suites’ questions…');
    try {
      const made = await api('/api/metacognition/v1/proposals/retrieval', { method: 'POST', body: { suites: names } });
      say(`Proposed: ${changeText(made.change)}.`);
    } catch (err) {
      fill(notice, errorBox(err.message));
    }
    retrievalButton.disabled = false;
    load();
  });
  refresh.addEventListener('click', load);
  load();
  return () => { alive = false; };
}
