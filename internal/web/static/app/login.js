// Sign in and registration.
import { api, showError } from './common.js';

// Where to go after signing in: a page of this site, never another.
function next() {
  const n = new URLSearchParams(location.search).get('next') || '/';
  try {
    const u = new URL(n, location.origin);
    if (u.origin === location.origin && n.startsWith('/') && !/[\\\u0000-\u001f]/.test(n)) return u.pathname + u.search;
  } catch { /* not a URL */ }
  return '/';
}

async function signIn(login, password) {
  await api('POST', '/api/v1/sessions', { login, password });
  location.assign(next());
}

const loginForm = document.getElementById('login-form');
loginForm?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const error = document.getElementById('form-error');
  showError(error, '');
  const button = loginForm.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    await signIn(loginForm.login.value.trim(), loginForm.password.value);
  } catch (err) {
    showError(error, err.status === 401 ? 'That username or password is not right.' : err.message);
    button.disabled = false;
  }
});

const registerForm = document.getElementById('register-form');
registerForm?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const error = document.getElementById('form-error');
  showError(error, '');
  if (!registerForm.reportValidity()) return;
  const button = registerForm.querySelector('button[type=submit]');
  button.disabled = true;
  const username = registerForm.username.value.trim();
  const password = registerForm.password.value;
  try {
    await api('POST', '/api/v1/users', { username, email: registerForm.email.value.trim(), password });
    await signIn(username, password);
  } catch (err) {
    showError(error, err.message);
    button.disabled = false;
  }
});
