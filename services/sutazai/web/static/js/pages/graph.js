// Graph explorer: find an entity, see its neighbourhood, expand nodes, filter by relation and
// by "as of" date, and open the passage a fact was read from. The facts table below the
// picture offers every action to the keyboard and to screen readers.
import cytoscape from '../../vendor/cytoscape.esm.min.js';
import { api } from '../api.js';
import { announce, clear, errorBox, field, formatTime, h, passageDialog, fill } from '../dom.js';
import { collectionSelect, pageHeader } from './common.js';

const BASE = '/api/knowledge/v1';
const STYLE = [
  { selector: 'node', style: { label: 'data(name)', 'background-color': '#5b8bd0', color: '#14213d',
    'font-size': 11, 'text-valign': 'bottom', 'text-margin-y': 4, width: 22, height: 22,
    'text-wrap': 'ellipsis', 'text-max-width': 120 } },
  { selector: 'node[?root]', style: { 'background-color': '#1d4e89', width: 30, height: 30, 'font-weight': 'bold' } },
  { selector: 'node[?expanded]', style: { 'border-width': 3, 'border-color': '#9fd3ff' } },
  { selector: 'node:selected', style: { 'background-color': '#e07a1f' } },
  { selector: 'edge', style: { label: 'data(relation)', width: 2, 'line-color': '#9aa9bd', 'target-arrow-color': '#9aa9bd',
    'target-arrow-shape': 'triangle', 'curve-style': 'bezier', 'font-size': 9, color: '#45536b',
    'text-background-color': '#fff', 'text-background-opacity': 0.85, 'text-background-padding': 2 } },
  { selector: 'edge:selected', style: { 'line-color': '#e07a1f', 'target-arrow-color': '#e07a1f', width: 3 } },
];

export function render(root) {
  const collection = collectionSelect();
  const query = h('input', { type: 'search', name: 'entity', required: true, maxlength: 200, placeholder: 'e.g. Brightwater Analytics' });
  const asOf = h('input', { type: 'date', name: 'as_of' });
  const found = h('ul', { class: 'entity-results', 'aria-label': 'Matching entities' });
  const relations = h('fieldset', { class: 'relations', hidden: true }, h('legend', {}, 'Relations'));
  const canvas = h('div', { class: 'graph-canvas', role: 'img', 'aria-label': 'Entity graph (the facts table below lists the same facts)', 'data-nodes': '0' });
  const details = h('aside', { class: 'graph-details', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Search for an entity to begin.'));
  const facts = h('tbody');
  const count = h('p', { class: 'muted graph-count' });
  const status = h('div', { class: 'form-status' });
  const form = h('form', { class: 'card graph-search', role: 'search' },
    h('div', { class: 'row' }, field('Collection', collection), field('Entity', query), field('As of', asOf, 'Facts valid on this date (empty: today).'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Search'))),
    found, relations, status);
  root.append(pageHeader('Graph explorer'), form,
    h('section', { class: 'card graph-card', 'aria-label': 'Neighbourhood' }, count, h('div', { class: 'graph-layout' }, canvas, details)),
    h('section', { class: 'card', 'aria-labelledby': 'facts-title' }, h('h2', { id: 'facts-title' }, 'Facts'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'facts' },
        h('thead', {}, h('tr', {}, ['From', 'Relation', 'To', 'Valid', ''].map((t) => h('th', { scope: 'col' }, t)))), facts))));

  const cy = cytoscape({ container: canvas, style: STYLE, minZoom: 0.2, maxZoom: 1.3 });
  canvas.cy = cy;
  const state = { rootId: null, expanded: [], entities: new Map(), facts: new Map(), hidden: new Set() };

  const asOfParam = () => (asOf.value ? `&as_of=${encodeURIComponent(`${asOf.value}T23:59:59Z`)}` : '');
  const fetchAround = async (id) => {
    const out = await api(`${BASE}/entities/${id}/neighbourhood?collection=${encodeURIComponent(collection.value)}&hops=1${asOfParam()}`);
    for (const e of out.entities) state.entities.set(e.id, e);
    for (const f of out.facts) state.facts.set(f.id, f);
  };
  const redraw = () => draw(cy, state, { relations, facts, count, canvas, details, expand, showFact });
  const reload = async () => {
    state.entities.clear();
    state.facts.clear();
    try {
      for (const id of state.expanded) await fetchAround(id);
      clear(status);
    } catch (err) {
      fill(status, errorBox(err.message));
    }
    redraw();
  };
  const expand = async (id) => {
    if (!state.expanded.includes(id)) state.expanded.push(id);
    await reload();
    const name = state.entities.get(id)?.name || 'entity';
    announce(`${name} expanded: ${cy.nodes().length} entities shown`);
    cy.$id(id).select();
    showEntity(details, state, id, expand);
  };
  const start = async (entity) => {
    state.rootId = entity.id;
    state.expanded = [];
    state.hidden.clear();
    state.entities.set(entity.id, entity);
    await expand(entity.id);
  };
  const showFact = (id, dialog = true) => showFactDetails(details, state, id, dialog);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(found);
    clear(status);
    try {
      const list = await api(`${BASE}/entities?collection=${encodeURIComponent(collection.value)}&q=${encodeURIComponent(query.value)}&limit=20`);
      if (!list.length) { found.append(h('li', { class: 'muted' }, `No entity matches “${query.value}” in ${collection.value}.`)); return; }
      for (const entity of list) {
        found.append(h('li', {}, h('button', { type: 'button', class: 'chip', onclick: () => start(entity) },
          entity.name, h('small', {}, ` ${entity.type}`))));
      }
      if (list.length === 1 || list[0].name.toLowerCase() === query.value.trim().toLowerCase()) await start(list[0]);
    } catch (err) {
      status.append(errorBox(err.message));
    }
  });
  asOf.addEventListener('change', () => { if (state.expanded.length) reload(); });
  relations.addEventListener('change', (event) => {
    const box = event.target;
    if (box.checked) state.hidden.delete(box.value); else state.hidden.add(box.value);
    redraw();
  });
  cy.on('tap', 'node', (event) => showEntity(details, state, event.target.id(), expand));
  cy.on('dbltap', 'node', (event) => expand(event.target.id()));
  cy.on('tap', 'edge', (event) => showFact(event.target.id(), false));
  query.focus();
  return () => cy.destroy();
}

function draw(cy, state, ui) {
  const shown = [...state.facts.values()].filter((f) => !state.hidden.has(f.relation)
    && state.entities.has(f.source_id) && state.entities.has(f.target_id));
  const visible = new Set([state.rootId, ...state.expanded]);
  for (const f of shown) { visible.add(f.source_id); visible.add(f.target_id); }
  cy.elements().remove();
  cy.add([...visible].filter((id) => state.entities.has(id)).map((id) => ({ group: 'nodes', data: {
    id, name: state.entities.get(id).name, root: id === state.rootId, expanded: state.expanded.includes(id) } })));
  cy.add(shown.map((f) => ({ group: 'edges', data: { id: f.id, source: f.source_id, target: f.target_id, relation: f.relation } })));
  cy.layout({ name: 'cose', animate: false, padding: 30, nodeRepulsion: () => 9000, randomize: false }).run();
  ui.canvas.dataset.nodes = String(cy.nodes().length);
  ui.count.textContent = `${cy.nodes().length} entities · ${cy.edges().length} facts` +
    (state.hidden.size ? ` (hidden relations: ${[...state.hidden].join(', ')})` : '');
  drawRelations(ui.relations, state);
  drawFacts(ui.facts, state, shown, ui.expand, ui.showFact);
}

function drawRelations(fieldset, state) {
  const names = [...new Set([...state.facts.values()].map((f) => f.relation))].sort();
  fieldset.hidden = names.length === 0;
  fieldset.replaceChildren(h('legend', {}, 'Show relations'), ...names.map((name) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: name, checked: !state.hidden.has(name) }), ` ${name}`)));
}

function drawFacts(body, state, shown, expand, showFact) {
  clear(body);
  if (!shown.length) {
    body.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No facts to show.')));
    return;
  }
  for (const fact of shown) {
    const from = state.entities.get(fact.source_id);
    const to = state.entities.get(fact.target_id);
    const other = state.expanded.includes(to.id) ? from : to;
    body.append(h('tr', { 'data-fact': fact.id },
      h('td', {}, from.name), h('td', {}, h('code', {}, fact.relation)), h('td', {}, to.name), h('td', {}, validity(fact)),
      h('td', { class: 'row-actions' },
        h('button', { type: 'button', class: 'small', onclick: () => showFact(fact.id), 'aria-label': `Source of ${from.name} ${fact.relation} ${to.name}` }, 'Source'),
        state.expanded.includes(other.id) ? null
          : h('button', { type: 'button', class: 'small secondary', onclick: () => expand(other.id), 'aria-label': `Expand ${other.name}` }, `Expand ${other.name}`))));
  }
}

function validity(fact) {
  const from = fact.valid_from ? new Date(fact.valid_from).toLocaleDateString() : '…';
  return fact.valid_to ? `${from} – ${new Date(fact.valid_to).toLocaleDateString()}` : `since ${from}`;
}

function showEntity(panel, state, id, expand) {
  const entity = state.entities.get(id);
  if (!entity) return;
  const degree = [...state.facts.values()].filter((f) => f.source_id === id || f.target_id === id).length;
  fill(panel, h('h2', {}, entity.name), h('p', {}, h('span', { class: 'badge none' }, entity.type)),
    entity.aliases?.length ? h('p', { class: 'muted' }, `Also: ${entity.aliases.join(', ')}`) : null,
    h('p', { class: 'muted' }, `${degree} fact${degree === 1 ? '' : 's'} shown`),
    state.expanded.includes(id) ? h('p', { class: 'muted' }, 'Expanded.')
      : h('button', { type: 'button', class: 'secondary', onclick: () => expand(id) }, `Expand ${entity.name}`));
}

function showFactDetails(panel, state, id, dialog) {
  const fact = state.facts.get(id);
  if (!fact) return;
  const from = state.entities.get(fact.source_id)?.name;
  const to = state.entities.get(fact.target_id)?.name;
  const citation = fact.citation;
  const open = () => passageDialog({ title: `${from} ${fact.relation} ${to}`, source: citation?.source, text: citation?.text,
    meta: [citation?.page ? `page ${citation.page}` : null, `read by ${fact.model}`, formatTime(fact.extracted_at)].filter(Boolean) });
  fill(panel, h('h2', {}, 'Fact'), h('p', {}, h('strong', {}, from), ' ', h('code', {}, fact.relation), ' ', h('strong', {}, to)),
    h('p', { class: 'muted' }, validity(fact)),
    citation ? [h('blockquote', { class: 'passage' }, citation.text), h('p', { class: 'muted' }, citation.source)]
      : h('p', { class: 'muted' }, 'The source passage is no longer stored.'),
    citation ? h('button', { type: 'button', class: 'secondary', onclick: open }, 'Open source passage') : null);
  if (dialog) open();
}
