// The console's entry point: a hash router over the views. Every view is a function
// (main, route) -> a dispose function (stops its polling). Without credentials, and whenever
// the API answers 401, the sign-in page is shown with the service's message.
import { getAuth, setAuth, setFlash, setUnauthorizedHandler } from './api.js';
import { h } from './dom.js';
import { renderSignIn } from './views/signin.js';
import { renderTasks } from './views/tasks.js';
import { renderTask } from './views/task.js';
import { renderTaskForm } from './views/taskform.js';
import { renderSegments } from './views/segments.js';

const main = document.getElementById('main');
let dispose = () => {};

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/tasks';
  const [path, query] = raw.split('?');
  return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(query || '') };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function signOut(message) {
  setAuth(null);
  setFlash(message || '');
  navigate('#/signin');
}

function header(auth) {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  nav.hidden = !auth;
  who.hidden = !auth;
  if (!auth) {
    who.replaceChildren();
    return;
  }
  const name = auth.kind === 'token' ? `token ${auth.token.split(':')[0].slice(0, 8)}…` : auth.username;
  who.replaceChildren(
    h('span', { class: 'who-name' }, name),
    h('span', { class: 'who-chain' }, `chain ${auth.chain}`),
    h('button', { type: 'button', class: 'link', id: 'signout', onclick: () => signOut('You signed out.') }, 'Sign out'),
  );
}

function markNav(name) {
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function route() {
  dispose();
  dispose = () => {};
  const { parts, query } = parseHash();
  const auth = getAuth();
  header(auth);
  const focusMain = () => main.focus({ preventScroll: true });
  if (!auth || parts[0] === 'signin') {
    if (auth && parts[0] === 'signin') setAuth(null);
    header(null);
    markNav('');
    dispose = renderSignIn(main, { done: () => navigate('#/tasks') });
    return;
  }
  const ctx = { auth, navigate, query };
  try {
    if (parts[0] === 'tasks' && parts[1] && parts[2] === 'edit') {
      markNav('');
      dispose = renderTaskForm(main, { ...ctx, id: parts[1] });
    } else if (parts[0] === 'tasks' && parts[1]) {
      markNav('tasks');
      dispose = renderTask(main, { ...ctx, id: parts[1] });
    } else if (parts[0] === 'new') {
      markNav('new');
      dispose = renderTaskForm(main, ctx);
    } else if (parts[0] === 'segments') {
      markNav('segments');
      dispose = renderSegments(main, ctx);
    } else {
      markNav('tasks');
      dispose = renderTasks(main, ctx);
    }
  } catch (e) {
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, `The console failed: ${e.message}`));
  }
  focusMain();
}

setUnauthorizedHandler((err) => signOut(err.description));
window.addEventListener('hashchange', route);
route();
