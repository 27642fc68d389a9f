// Sign-in: a service token (checked with one GET /tasks of the chain) or an admin user
// (POST /auth/login, then the session headers of reference §4). Any refusal is shown with the
// service's own message.
import { api, setAuth, takeFlash, ApiError } from '../api.js';
import { h, field, show } from '../dom.js';

const LAST_CHAIN = 'taskwheel.console.chain';

export function renderSignIn(main, { done }) {
  const flash = takeFlash();
  const msg = h('div', { class: 'notice', id: 'signin-message', role: 'alert', hidden: !flash }, flash || '');
  const setMsg = (text, isError) => {
    msg.textContent = text;
    msg.hidden = !text;
    msg.classList.toggle('error', Boolean(isError));
  };
  if (flash) msg.classList.add('error');

  const modeToken = h('input', { type: 'radio', name: 'mode', value: 'token', id: 'mode-token', checked: true });
  const modeUser = h('input', { type: 'radio', name: 'mode', value: 'user', id: 'mode-user' });
  const token = h('input', { type: 'password', id: 'signin-token', name: 'token', autocomplete: 'off', spellcheck: 'false' });
  const username = h('input', { type: 'text', id: 'signin-username', name: 'username', autocomplete: 'username' });
  const password = h('input', { type: 'password', id: 'signin-password', name: 'password', autocomplete: 'current-password' });
  // The last chain used here (a number, not a secret) is offered again.
  const chain = h('input', { type: 'number', id: 'signin-chain', name: 'chain', min: '1', step: '1', required: true, inputmode: 'numeric', value: localStorage.getItem(LAST_CHAIN) || '' });
  const tokenBox = h('div', {}, field('Service token', token, 'TOKEN_ID:SECRET, as printed by `taskwheel token create`.'));
  const userBox = h('div', { hidden: true }, field('User name', username), field('Password', password));
  const submit = h('button', { type: 'submit', class: 'primary', id: 'signin-submit' }, 'Sign in');

  const sync = () => {
    tokenBox.hidden = !modeToken.checked;
    userBox.hidden = modeToken.checked;
  };
  modeToken.addEventListener('change', sync);
  modeUser.addEventListener('change', sync);

  const form = h('form', { class: 'card signin', id: 'signin-form', novalidate: true },
    h('h1', {}, 'Sign in'),
    msg,
    h('fieldset', { class: 'radios' },
      h('legend', {}, 'Sign in with'),
      h('label', { for: 'mode-token' }, modeToken, ' a service token'),
      h('label', { for: 'mode-user' }, modeUser, ' an admin user')),
    tokenBox,
    userBox,
    field('Chain', chain, 'The chain (tenant) whose tasks you work on; you can switch later.'),
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const c = Number(chain.value);
    if (!Number.isInteger(c) || c <= 0) {
      setMsg('Chain: give the chain number (a positive integer).', true);
      chain.focus();
      return;
    }
    submit.disabled = true;
    setMsg('Signing in…', false);
    try {
      let auth;
      if (modeToken.checked) {
        const t = token.value.trim();
        if (!t) throw new ApiError(0, 'validation_failed', 'Service token: paste the token (TOKEN_ID:SECRET).');
        auth = { kind: 'token', token: t, chain: c };
      } else {
        const res = await api.post('/auth/login', { username: username.value, password: password.value }, { auth: null, quiet401: true });
        auth = { kind: 'session', username: username.value, user_id: res.body.user_id, session_key: res.body.session_key, expires: res.body.expires, chain: c };
      }
      // Check the credentials and the chain before entering: the service's answer is the message.
      await api.get(`/tasks?chain=${c}&limit=1`, { auth, quiet401: true });
      setAuth(auth);
      localStorage.setItem(LAST_CHAIN, String(c));
      done();
    } catch (e) {
      setMsg(e instanceof ApiError ? e.description : String(e), true);
      submit.disabled = false;
      (modeToken.checked ? token : username).focus();
    }
  });

  show(main, 'Sign in', form);
  token.focus();
  return () => {};
}
