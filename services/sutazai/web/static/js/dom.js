// Small DOM helpers. Text always goes in through textContent/append, never innerHTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'value') el.value = value;
    else if (key === 'checked') el.checked = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function announce(text) {
  const region = document.getElementById('announce');
  if (region) region.textContent = text;
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

export function field(labelText, control, hint) {
  if (!control.id) control.id = nextId('f');
  const hintEl = hint ? h('small', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, labelText), control, hintEl);
}

export function errorBox(message) {
  return h('p', { class: 'error', role: 'alert' }, message);
}

// A modal dialog; Escape and the close button close it and focus returns to the opener.
export function openDialog(title, body, { actions = [], wide = false } = {}) {
  const opener = document.activeElement;
  const titleId = nextId('dlg');
  const close = h('button', { type: 'button', class: 'ghost', 'aria-label': 'Close' }, 'Close');
  const dialog = h('dialog', { class: wide ? 'wide' : '', 'aria-labelledby': titleId },
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, title), close),
    h('div', { class: 'dialog-body' }, body),
    actions.length ? h('div', { class: 'dialog-actions' }, actions) : null);
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

export function confirmDialog(title, message, confirmLabel) {
  return new Promise((resolve) => {
    let confirmed = false;
    const cancel = h('button', { type: 'button', class: 'ghost' }, 'Cancel');
    const ok = h('button', { type: 'button', class: 'danger' }, confirmLabel);
    const dialog = openDialog(title, h('p', {}, message), { actions: [cancel, ok] });
    cancel.addEventListener('click', () => dialog.close());
    ok.addEventListener('click', () => { confirmed = true; dialog.close(); });
    dialog.addEventListener('close', () => resolve(confirmed));
    cancel.focus();
  });
}

export function passageDialog({ title, source, text, meta = [] }) {
  const body = [
    source ? h('p', { class: 'passage-source' }, 'From ', h('strong', {}, source)) : null,
    meta.length ? h('p', { class: 'muted' }, meta.join(' · ')) : null,
    h('blockquote', { class: 'passage' }, text || '(the passage is no longer available)'),
  ];
  return openDialog(title, body, { wide: true });
}

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

// Replace an element's children (null, false and nested arrays are skipped).
export function fill(el, ...children) {
  return append(clear(el), children);
}
