// Documents: upload by drag and drop or file picker with progress per file (upload, then
// indexing, after which the file answers searches, then the knowledge graph reading it), the
// list with both stages, errors, and delete with confirmation.
import { api, upload } from '../api.js';
import { announce, clear, confirmDialog, errorBox, field, formatTime, h, fill } from '../dom.js';
import { collectionSelect, pageHeader } from './common.js';

const BASE = '/api/knowledge/v1';
const ACCEPT = '.txt,.md,.markdown,.html,.htm,.json,.pdf,.png,.jpg,.jpeg,.tif,.tiff,text/plain,text/markdown,text/html,application/json,application/pdf,image/png,image/jpeg,image/tiff';

export function render(root) {
  const collection = collectionSelect();
  const newName = h('input', { type: 'text', name: 'new_collection', maxlength: 63, pattern: '[a-z0-9][a-z0-9_\\-]*',
    placeholder: 'or a new collection name' });
  const picker = h('input', { type: 'file', multiple: true, accept: ACCEPT, class: 'visually-hidden', id: 'file-picker' });
  const drop = h('div', { class: 'dropzone', tabindex: 0, role: 'button', 'aria-describedby': 'drop-hint' },
    h('strong', {}, 'Drop files here'), h('span', {}, ' or '), h('span', { class: 'link' }, 'choose files'),
    h('small', { id: 'drop-hint', class: 'hint' }, 'Text, Markdown, HTML, JSON or PDF. Enter or Space opens the file chooser.'));
  const uploads = h('ul', { class: 'uploads', 'aria-label': 'Uploads' });
  const tableBody = h('tbody');
  const listStatus = h('div', { class: 'form-status' });
  const refresh = h('button', { type: 'button', class: 'ghost small' }, 'Refresh');
  root.append(pageHeader('Documents'),
    h('section', { class: 'card', 'aria-labelledby': 'upload-title' }, h('h2', { id: 'upload-title' }, 'Add documents'),
      h('div', { class: 'row' }, field('Collection', collection), field('New collection', newName)),
      picker, drop, uploads),
    h('section', { class: 'card', 'aria-labelledby': 'list-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'list-title' }, 'In this collection'), refresh),
      listStatus,
      h('div', { class: 'table-wrap' }, h('table', { class: 'documents' },
        h('caption', { class: 'visually-hidden' }, 'Documents, newest first'),
        h('thead', {}, h('tr', {}, ['Source', 'Search', 'Graph', 'Passages', 'Version', 'Updated', ''].map((t) => h('th', { scope: 'col' }, t)))),
        tableBody))));

  const target = () => newName.value.trim() || collection.value || 'default';
  let timer = null;
  let alive = true;
  let latest = 0;
  let shown = '';
  const load = async () => {
    clearTimeout(timer);
    if (!alive || !collection.value) return;
    const asked = ++latest;
    const name = collection.value;
    try {
      const docs = await api(`${BASE}/documents?collection=${encodeURIComponent(name)}&limit=500`);
      if (asked !== latest || !alive) return; // a newer load (another collection) has begun
      const signature = JSON.stringify([name, docs]);
      if (signature !== shown) { // unchanged rows stay put, and so does the keyboard focus
        shown = signature;
        showDocuments(tableBody, docs, name, load);
      }
      clear(listStatus);
      const busy = (d) => d.status === 'queued' || d.status === 'processing' || d.graph.state === 'pending' || d.graph.state === 'extracting';
      if (docs.some(busy)) timer = setTimeout(load, 2000);
    } catch (err) {
      fill(listStatus, errorBox(err.message));
    }
  };
  const send = (files) => {
    if (newName.value && !newName.checkValidity()) {
      fill(listStatus, errorBox('A collection name uses lower-case letters, digits, - and _ and starts with a letter or digit.'));
      newName.focus();
      return;
    }
    for (const file of files) uploadOne(file, target(), uploads, async (name) => {
      if (collection.value !== name) {
        if (![...collection.options].some((o) => o.value === name)) collection.append(h('option', { value: name }, name));
        collection.value = name;
        sessionStorage.setItem('sutazai.collection', name);
      }
      if (newName.value.trim() === name) newName.value = '';
      await load();
    });
  };
  collection.addEventListener('change', load);
  refresh.addEventListener('click', load);
  picker.addEventListener('change', () => { send([...picker.files]); picker.value = ''; });
  drop.addEventListener('click', () => picker.click());
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); picker.click(); } });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); send([...e.dataTransfer.files]); });
  return () => { alive = false; clearTimeout(timer); };
}

function uploadOne(file, collection, list, done) {
  const bar = h('progress', { max: 100, value: 0, 'aria-label': `progress of ${file.name}` });
  const status = h('span', { class: 'upload-status' }, 'uploading…');
  const graphBar = h('progress', { max: 100, value: 0, hidden: true, 'aria-label': `knowledge graph progress of ${file.name}` });
  const graphStatus = h('span', { class: 'graph-status small muted' });
  const item = h('li', { class: 'upload' }, h('span', { class: 'upload-name' }, file.name), bar, status,
    h('span', { class: 'graph-stage' }, graphBar, graphStatus));
  list.prepend(item);
  const say = (text, cls) => { status.textContent = text; if (cls) item.classList.add(cls); };
  upload(`${BASE}/documents`, file, { collection }, (share) => {
    bar.value = Math.round(share * 50);
    say(`uploading ${Math.round(share * 100)}%`);
  }).then(async (submitted) => {
    if (submitted.duplicate) {
      bar.value = 100;
      say('already there, unchanged', 'done');
      item.classList.add('graph-done');
    } else {
      say('indexing…');
      if (await followJob(submitted.job, bar, say)) {
        announce(`${file.name}: searchable`);
        await done(collection);
        await followGraph(submitted.document.id, graphBar, graphStatus, item);
      }
    }
    announce(`${file.name}: ${status.textContent}${graphStatus.textContent ? `, ${graphStatus.textContent}` : ''}`);
    await done(collection);
  }).catch((err) => {
    say(`failed: ${err.message}`, 'failed');
    announce(`${file.name} failed: ${err.message}`);
  });
}

async function followJob(job, bar, say) {
  for (;;) {
    bar.value = 50 + Math.round((job.percent || 0) / 2);
    if (job.state === 'done') { bar.value = 100; say('searchable', 'done'); return true; }
    if (job.state === 'failed') { say(`failed: ${job.error || 'ingestion failed'}`, 'failed'); return false; }
    say(`indexing${job.stage ? `: ${job.stage}` : ''} ${Math.round(job.percent || 0)}%`);
    await new Promise((resolve) => { setTimeout(resolve, 1000); });
    job = await api(`${BASE}/jobs/${job.id}`);
  }
}

// The second stage: the model reads the searchable document for the knowledge graph.
async function followGraph(id, bar, status, item) {
  for (;;) {
    const doc = await api(`${BASE}/documents/${id}`);
    const { state, chunks_read: read, chunks, error } = doc.graph;
    if (state === 'off') { status.textContent = ''; item.classList.add('graph-done'); return; }
    bar.hidden = false;
    bar.value = chunks ? Math.round((100 * read) / chunks) : 0;
    if (state === 'done') { bar.value = 100; status.textContent = 'graph read'; item.classList.add('graph-done'); return; }
    if (state === 'failed') { status.textContent = `graph failed: ${error || 'extraction failed'}`; item.classList.add('graph-done', 'graph-failed'); return; }
    status.textContent = `graph: read ${read} of ${chunks} passages`;
    await new Promise((resolve) => { setTimeout(resolve, 1000); });
  }
}

function graphCell(doc) {
  const { state, chunks_read: read, chunks, error } = doc.graph;
  if (state === 'pending' || state === 'extracting') {
    return [h('progress', { max: chunks || 1, value: read, 'aria-label': `graph progress of ${doc.source}` }),
      h('small', { class: 'muted' }, ` ${read} of ${chunks}`)];
  }
  if (state === 'failed') return [h('span', { class: 'status failed' }, 'failed'), error ? h('p', { class: 'error small' }, error) : null];
  return h('span', { class: `status graph-${state}` }, state === 'done' ? 'read' : state);
}

function showDocuments(body, docs, collection, reload) {
  clear(body);
  if (!docs.length) {
    body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, `No documents in ${collection} yet.`)));
    return;
  }
  for (const doc of docs) {
    const remove = h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete ${doc.source}` }, 'Delete');
    remove.addEventListener('click', async () => {
      const yes = await confirmDialog('Delete document?',
        `Delete “${doc.source}” from ${collection}? It leaves search and the knowledge graph; this cannot be undone.`, 'Delete');
      if (!yes) return;
      remove.disabled = true;
      try {
        await api(`${BASE}/documents/${doc.id}`, { method: 'DELETE' });
        announce(`${doc.source} deleted`);
        await reload();
      } catch (err) {
        remove.disabled = false;
        remove.after(errorBox(err.message));
      }
    });
    body.append(h('tr', { 'data-document': doc.id },
      h('th', { scope: 'row' }, doc.title && doc.title !== doc.source ? [doc.source, h('br'), h('small', { class: 'muted' }, doc.title)] : doc.source),
      h('td', {}, h('span', { class: `status ${doc.status}` }, doc.status === 'ready' ? 'searchable' : doc.status), doc.error ? h('p', { class: 'error small' }, doc.error) : null),
      h('td', { class: 'graph-cell' }, graphCell(doc)),
      h('td', {}, String(doc.chunk_count)), h('td', {}, String(doc.version)),
      h('td', {}, formatTime(doc.updated_at)), h('td', {}, remove)));
  }
}
