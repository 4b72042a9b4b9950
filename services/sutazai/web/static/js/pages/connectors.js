// Connectors: the folders, Git repositories, mailboxes and intranet sites synced into collections,
// with each one's last sync (counts and errors), "Sync now" and removal for the collection's admins,
// and a form to connect a new source. The page follows running syncs while it is open.
import { api } from '../api.js';
import { announce, confirmDialog, errorBox, field, fill, formatTime, h } from '../dom.js';
import { collectionSelect, pageHeader } from './common.js';

const BASE = '/api/knowledge/v1/connectors';
const KINDS = {
  folder: { label: 'Folder or share', fields: [['path', 'Folder', 'As the knowledge service sees it; inside the folders the operator allowed (SUTAZAI_CONNECTOR_ROOTS).']] },
  git: { label: 'Git repository', fields: [['url', 'Repository', 'A folder or an http(s) URL on an allowed host.'], ['branch', 'Branch', 'Default: main.']], secret: 'Token (for http(s), optional)' },
  imap: { label: 'IMAP mailbox', fields: [['host', 'Mail server', 'An allowed host.'], ['port', 'Port', '993 (TLS) or 143 (STARTTLS).'], ['username', 'User', ''], ['mailbox', 'Folder', 'Default: INBOX.']], secret: 'Password' },
  web: { label: 'Intranet site', fields: [['url', 'Start page', 'http(s) on an allowed host; crawled within its host as robots.txt allows.'], ['max_pages', 'Page limit', 'Default: 200.']] },
};
const SCHEDULES = [['', 'Only when asked'], ['3600', 'Every hour'], ['21600', 'Every 6 hours'], ['86400', 'Every day']];

const counts = (run) => ['added', 'changed', 'deleted', 'unchanged', 'failed']
  .filter((k) => run[k]).map((k) => `${run[k]} ${k}`).join(', ') || 'nothing to do';

function runSummary(run) {
  if (!run) return h('span', { class: 'muted' }, 'never synced');
  const cls = run.state === 'done' ? (run.failed ? 'processing' : 'ready') : run.state === 'running' ? 'processing' : 'failed';
  return h('span', {}, h('span', { class: `status ${cls}` }, run.state), ' ', h('small', {}, counts(run)),
    run.error ? h('small', { class: 'error-text' }, ` · ${run.error}`) : null);
}

export function render(root, ctx) {
  const refresh = h('button', { type: 'button', class: 'ghost small' }, 'Refresh');
  const listStatus = h('div', { class: 'form-status', role: 'status' });
  const body = h('tbody');
  const details = h('section', { class: 'card', hidden: true, 'aria-labelledby': 'runs-title' });
  root.append(pageHeader('Connectors', refresh), listStatus,
    h('section', { class: 'card', 'aria-labelledby': 'connectors-title' },
      h('h2', { id: 'connectors-title' }, 'Connected sources'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'connectors' },
        h('thead', {}, h('tr', {}, ['Name', 'Kind', 'Collection', 'Items', 'Last sync', 'Next sync', ''].map((c) => h('th', { scope: 'col' }, c)))),
        body))),
    details, newForm(ctx, () => load()));
  let alive = true;
  let timer = null;
  let open = null;

  const load = async () => {
    clearTimeout(timer);
    let list;
    try {
      list = await api(BASE);
    } catch (err) {
      if (alive) fill(listStatus, errorBox(err.message));
      return;
    }
    if (!alive) return;
    fill(listStatus);
    fill(body, list.length ? list.map((c) => row(c)) : h('tr', {}, h('td', { colspan: 7, class: 'muted' },
      'No source is connected yet: connect a folder, a repository, a mailbox or a site below.')));
    if (open) showRuns(open);
    const due = (c) => c.next_sync_at && new Date(c.next_sync_at) <= new Date(); // a worker takes it up soon
    if (list.some((c) => c.syncing || due(c) || (c.last_run && c.last_run.state === 'running'))) timer = setTimeout(load, 2000);
  };

  const row = (c) => {
    const sync = h('button', { type: 'button', class: 'small' }, 'Sync now');
    const show = h('button', { type: 'button', class: 'ghost small' }, 'Runs');
    const remove = h('button', { type: 'button', class: 'ghost small danger' }, 'Remove');
    sync.addEventListener('click', async () => {
      sync.disabled = true;
      try {
        await api(`${BASE}/${encodeURIComponent(c.name)}/sync`, { method: 'POST' });
        announce(`Sync of ${c.name} requested.`);
      } catch (err) {
        fill(listStatus, errorBox(err.message));
      }
      load();
    });
    show.addEventListener('click', () => { open = c.name; showRuns(c.name); });
    remove.addEventListener('click', async () => {
      if (!await confirmDialog('Remove connector', `Remove ${c.name}? The documents it synced stay in ${c.collection}.`, 'Remove')) return;
      try {
        await api(`${BASE}/${encodeURIComponent(c.name)}`, { method: 'DELETE' });
        announce(`Connector ${c.name} removed.`);
        if (open === c.name) { open = null; details.hidden = true; }
      } catch (err) {
        fill(listStatus, errorBox(err.message));
      }
      load();
    });
    return h('tr', { 'data-connector': c.name },
      h('th', { scope: 'row' }, c.name), h('td', {}, KINDS[c.kind]?.label || c.kind), h('td', {}, c.collection),
      h('td', {}, String(c.items)), h('td', {}, runSummary(c.last_run)),
      h('td', {}, c.syncing ? 'syncing now' : c.next_sync_at ? formatTime(c.next_sync_at) : 'when asked'),
      h('td', { class: 'actions' }, sync, show, remove));
  };

  const showRuns = async (name) => {
    let c;
    try {
      c = await api(`${BASE}/${encodeURIComponent(name)}?runs=10`);
    } catch (err) {
      fill(details, errorBox(err.message));
      details.hidden = false;
      return;
    }
    if (!alive) return;
    const where = Object.entries(c.config).filter(([, v]) => v !== null && v !== '' && !(Array.isArray(v) && !v.length))
      .map(([k, v]) => `${k} ${v}`).join(' · ');
    fill(details, h('h2', { id: 'runs-title' }, `Runs of ${c.name}`),
      h('p', { class: 'muted' }, `${KINDS[c.kind]?.label || c.kind}: ${where}${c.has_secret ? ' · credential sealed' : ''}`),
      c.runs.length ? c.runs.map((r) => h('div', { class: 'run', 'data-run': r.id },
        h('p', {}, h('strong', {}, formatTime(r.started_at)), ` · ${r.trigger}${r.requested_by ? ` by ${r.requested_by}` : ''} · `,
          runSummary(r), ` · ${r.seen} items seen`),
        r.errors.length ? h('ul', { class: 'run-errors' }, r.errors.map((e) => h('li', {}, h('code', {}, e.item), ': ', e.reason))) : null))
        : h('p', { class: 'muted' }, 'No run yet.'));
    details.hidden = false;
  };

  refresh.addEventListener('click', load);
  load();
  return () => { alive = false; clearTimeout(timer); };
}

// The form that connects a new source; its fields follow the kind chosen.
function newForm(ctx, done) {
  const name = h('input', { type: 'text', required: true, maxlength: 63, pattern: '[a-z0-9][a-z0-9_\\-]*', spellcheck: 'false' });
  const kind = h('select', {}, Object.entries(KINDS).map(([k, v]) => h('option', { value: k }, v.label)));
  const collection = collectionSelect();
  const schedule = h('select', {}, SCHEDULES.map(([v, label]) => h('option', { value: v }, label)));
  const specific = h('div', { class: 'row' });
  const secret = h('input', { type: 'password', autocomplete: 'off' });
  const secretField = field('Secret', secret, 'Sealed when stored; never shown again.');
  const status = h('div', { class: 'form-status', role: 'status' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Connect');
  const inputs = {};
  const showFields = () => {
    const spec = KINDS[kind.value];
    Object.keys(inputs).forEach((k) => delete inputs[k]);
    fill(specific, spec.fields.map(([key, label, hint]) => {
      inputs[key] = h('input', { type: key === 'port' || key === 'max_pages' ? 'number' : 'text', name: key, spellcheck: 'false' });
      return field(label, inputs[key], hint);
    }));
    secretField.hidden = !spec.secret;
    secretField.querySelector('label').textContent = spec.secret || 'Secret';
  };
  kind.addEventListener('change', showFields);
  showFields();
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-connector-title' },
    h('h2', { id: 'new-connector-title' }, 'Connect a source'),
    h('p', { class: 'muted' }, 'Only an admin of the collection may connect a source to it. The first sync starts at once.'),
    h('div', { class: 'row' }, field('Name', name, 'Lower-case letters, digits, - and _.'), field('Kind', kind),
      field('Collection', collection), field('Schedule', schedule)),
    specific, secretField, save, status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const config = {};
    for (const [key, input] of Object.entries(inputs)) {
      const value = input.value.trim();
      if (value) config[key] = input.type === 'number' ? Number(value) : value;
    }
    if (kind.value === 'imap' && !config.port) config.port = 993;
    const body = { name: name.value.trim(), kind: kind.value, collection: collection.value || 'default', config,
      every_seconds: schedule.value ? Number(schedule.value) : null, secret: secret.value || null };
    save.disabled = true;
    fill(status);
    try {
      const created = await api(BASE, { method: 'POST', body });
      secret.value = '';
      fill(status, `Connected ${created.name}; its first sync has started.`);
      announce(`Connector ${created.name} created.`);
      done();
    } catch (err) {
      fill(status, errorBox(err.message));
    } finally {
      save.disabled = false;
    }
  });
  return ctx.session.role === 'admin' || ctx.session.role === 'service' ? form : h('p', { class: 'muted' },
    'Admins of a collection connect sources to it.');
}
