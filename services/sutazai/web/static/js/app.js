// The SutazAI web UI: sign-in, then pages chosen by the URL's #fragment.
import { api, whenSignedOut } from './api.js';
import { announce, clear, errorBox, field, fill, h } from './dom.js';
import * as ask from './pages/ask.js';
import * as documents from './pages/documents.js';
import * as system from './pages/system.js';
import * as trace from './pages/trace.js';

// The graph page brings Cytoscape.js (130 kB compressed): loaded only when first opened.
const graph = { render: (root, ctx) => lazyRender(() => import('./pages/graph.js'), root, ctx) };
const PAGES = { ask, documents, graph, system, trace };

function lazyRender(load, root, ctx) {
  let inner = null;
  let left = false;
  load().then((module) => { if (!left) inner = module.render(root, ctx); })
    .catch((err) => fill(root, errorBox(`this page could not be loaded: ${err.message}`)));
  return () => { left = true; if (typeof inner === 'function') inner(); };
}
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let session = null;
let cleanup = null;

function leavePage() {
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
}

function showSignIn(notice) {
  leavePage();
  session = null;
  nav.hidden = true;
  clear(who);
  const key = h('input', { type: 'password', name: 'api_key', autocomplete: 'off', required: true,
    spellcheck: 'false', placeholder: 'szk_…' });
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to SutazAI'),
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    field('API key', key, 'Your key stays in this browser tab only as a secure cookie; it is never saved in clear.'),
    button, status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    clear(status);
    try {
      session = await api('/web/v1/session', { method: 'POST', body: { api_key: key.value } });
      key.value = '';
      start();
    } catch (err) {
      status.append(errorBox(err.message));
      key.focus();
    } finally {
      button.disabled = false;
    }
  });
  fill(main, form);
  key.focus();
}

function showWho() {
  clear(who);
  const out = h('button', { type: 'button', class: 'ghost small' }, 'Sign out');
  out.addEventListener('click', async () => {
    await api('/web/v1/session', { method: 'DELETE' });
    location.hash = '#/ask';
    showSignIn('You are signed out.');
  });
  const scope = session.collections.length ? ` · ${session.collections.join(', ')}` : '';
  who.append(h('span', { class: 'muted' }, `${session.subject} (${session.role}${scope})`), out);
}

function route() {
  if (!session) return;
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const page = PAGES[name] ? name : 'ask';
  leavePage();
  for (const link of nav.querySelectorAll('a')) {
    if (link.dataset.page === page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  clear(main);
  cleanup = PAGES[page].render(main, { session, arg: rest.map(decodeURIComponent).join('/') });
  const title = page === 'graph' ? 'Graph explorer' : main.querySelector('h1')?.textContent;
  document.title = `${title || 'SutazAI'} · SutazAI`;
  announce(`${document.title} page`);
}

function start() {
  nav.hidden = false;
  showWho();
  route();
}

async function boot() {
  whenSignedOut((detail) => { if (session) showSignIn(`Your session has ended (${detail}). Sign in again.`); });
  window.addEventListener('hashchange', route);
  try {
    const current = await api('/web/v1/session');
    if (current.signed_in) {
      session = current;
      start();
      return;
    }
  } catch (err) {
    fill(main, errorBox(err.message));
    return;
  }
  showSignIn();
}

boot();
