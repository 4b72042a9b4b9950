// The SutazAI web UI: sign-in, then pages chosen by the URL's #fragment.
import { api, whenSignedOut } from './api.js';
import { announce, clear, errorBox, field, fill, h, openDialog } from './dom.js';
import * as ask from './pages/ask.js';
import * as documents from './pages/documents.js';
import * as evaluations from './pages/evaluations.js';
import * as calibration from './pages/calibration.js';
import * as connectors from './pages/connectors.js';
import * as monitors from './pages/monitors.js';
import * as proposals from './pages/proposals.js';
import * as system from './pages/system.js';
import * as trace from './pages/trace.js';

// The graph page brings Cytoscape.js (130 kB compressed): loaded only when first opened.
const graph = { render: (root, ctx) => lazyRender(() => import('./pages/graph.js'), root, ctx) };
const PAGES = { ask, documents, connectors, graph, system, trace, evaluations, calibration, monitors, proposals };

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
  let byKey = false;
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'username', spellcheck: 'false',
    autocapitalize: 'none' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password' });
  const key = h('input', { type: 'password', name: 'api_key', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'szk_…' });
  const userFields = h('div', {}, field('User name', username), field('Password', password));
  const keyFields = h('div', { hidden: true },
    field('API key', key, 'Your key stays in this browser tab only as a secure cookie; it is never saved in clear.'));
  const toggle = h('button', { type: 'button', class: 'ghost small' }, 'Sign in with an API key instead');
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const sso = h('div', { class: 'sso' });
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to SutazAI'),
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    userFields, keyFields, button, toggle, sso, status);
  toggle.addEventListener('click', () => {
    byKey = !byKey;
    userFields.hidden = byKey;
    keyFields.hidden = !byKey;
    toggle.textContent = byKey ? 'Sign in with a user name instead' : 'Sign in with an API key instead';
    (byKey ? key : username).focus();
  });
  api('/web/v1/sso').then((providers) => {
    for (const p of providers.filter((x) => x.redirect)) {
      sso.append(h('a', { class: 'button', href: p.start_url }, `Sign in with ${p.label}`));
    }
  }).catch(() => {});
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = byKey ? { api_key: key.value.trim() } : { username: username.value.trim(), password: password.value };
    if (byKey ? !body.api_key : !(body.username && body.password)) {
      fill(status, errorBox(byKey ? 'Enter your API key.' : 'Enter your user name and password.'));
      return;
    }
    button.disabled = true;
    clear(status);
    try {
      session = await api('/web/v1/session', { method: 'POST', body });
      key.value = '';
      password.value = '';
      start();
    } catch (err) {
      status.append(errorBox(err.message));
      (byKey ? key : password).focus();
    } finally {
      button.disabled = false;
    }
  });
  fill(main, form);
  username.focus();
}

function changePassword() {
  const current = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const fresh = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 12 });
  const status = h('div', { class: 'form-status' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Change password');
  const form = h('form', {}, field('Current password', current),
    field('New password', fresh, 'At least 12 characters, not containing your user name. Your other sessions end.'),
    save, status);
  const dialog = openDialog('Change password', form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    clear(status);
    try {
      session = await api('/web/v1/password', { method: 'PUT',
        body: { current_password: current.value, new_password: fresh.value } });
      dialog.close();
      announce('Password changed; your other sessions have ended.');
    } catch (err) {
      status.append(errorBox(err.message));
    } finally {
      save.disabled = false;
    }
  });
  current.focus();
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
  who.append(h('span', { class: 'muted' }, `${session.subject} (${session.role}${scope})`));
  if (session.user) {
    const pw = h('button', { type: 'button', class: 'ghost small' }, 'Password');
    pw.addEventListener('click', changePassword);
    who.append(pw);
  }
  who.append(out);
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
  for (const admin of ['evaluations', 'calibration', 'monitors', 'proposals']) nav.querySelector(`[data-page="${admin}"]`).hidden = session.role !== 'admin';
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
  // a single sign-on that failed comes back here with the reason in the query string
  const ssoError = new URLSearchParams(location.search).get('sso_error');
  if (ssoError) history.replaceState(null, '', location.pathname + location.hash);
  showSignIn(ssoError ? `Single sign-on failed: ${ssoError}` : undefined);
}

boot();
