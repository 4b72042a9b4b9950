// Pieces several pages share.
import { collections } from '../api.js';
import { h } from '../dom.js';

// A <select> of the collections this session may use, filled asynchronously.
export function collectionSelect(selected) {
  const select = h('select', { name: 'collection' }, h('option', { value: '' }, 'Loading…'));
  collections().then((list) => {
    select.replaceChildren(...list.map((c) => h('option', { value: c.name },
      `${c.name} (${c.documents} document${c.documents === 1 ? '' : 's'})`)));
    const wanted = selected || sessionStorage.getItem('sutazai.collection');
    if (wanted && list.some((c) => c.name === wanted)) select.value = wanted;
    select.dispatchEvent(new Event('change'));
  }).catch((err) => {
    select.replaceChildren(h('option', { value: '' }, `could not list collections: ${err.message}`));
  });
  select.addEventListener('change', () => {
    if (select.value) sessionStorage.setItem('sutazai.collection', select.value);
  });
  return select;
}

export function confidenceBadge(confidence) {
  if (confidence === null || confidence === undefined) {
    return h('span', { class: 'badge none', title: 'no confidence was computed' }, 'Confidence n/a');
  }
  const pct = Math.round(confidence * 100);
  const level = confidence >= 0.8 ? 'high' : confidence >= 0.5 ? 'medium' : 'low';
  return h('span', { class: `badge ${level}`, title: 'calibrated probability that the answer is right (see the Calibration page)' },
    `Confidence ${pct}% · ${level}`);
}

export function pageHeader(title, ...extra) {
  return h('div', { class: 'page-head' }, h('h1', {}, title), ...extra);
}
