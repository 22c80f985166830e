// The account page: storage used, email and password, API keys.
import { api, el, formatBytes, formatDate, showError, copyText, flash } from './common.js';

function say(form, message, ok = false) {
  showError(form.querySelector('.error'), ok ? '' : message);
  const done = form.querySelector('.ok');
  if (done) {
    done.textContent = ok ? message : '';
    done.hidden = !ok;
  }
}

async function loadMe() {
  const me = await api('GET', '/api/v1/me');
  document.getElementById('email').value = me.email;
  const used = me.storage_used_bytes;
  const quota = me.storage_quota_bytes;
  const bar = document.getElementById('storage-bar');
  const fill = document.getElementById('storage-fill');
  const pct = quota ? Math.min(100, Math.round((used / quota) * 100)) : 0;
  fill.style.width = `${quota ? pct : 0}%`;
  fill.classList.toggle('full', pct >= 90);
  bar.setAttribute('aria-valuenow', String(pct));
  const text = quota ? `${formatBytes(used)} of ${formatBytes(quota)} used (${pct}%)` : `${formatBytes(used)} used. No limit.`;
  bar.setAttribute('aria-valuetext', text);
  document.getElementById('storage-text').textContent = text;
}

const emailForm = document.getElementById('email-form');
emailForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    await api('PATCH', '/api/v1/me', { email: emailForm.email.value.trim(), current_password: document.getElementById('email-current').value });
    document.getElementById('email-current').value = '';
    say(emailForm, 'Saved.', true);
  } catch (err) {
    say(emailForm, err.status === 403 ? 'The current password is not right.' : err.message);
  }
});

const passwordForm = document.getElementById('password-form');
passwordForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const next = document.getElementById('new-password').value;
  if (next !== document.getElementById('confirm-password').value) {
    say(passwordForm, 'The two new passwords differ.');
    return;
  }
  try {
    await api('PATCH', '/api/v1/me', { password: next, current_password: document.getElementById('password-current').value });
    passwordForm.reset();
    say(passwordForm, 'Changed. Your other sessions have ended.', true);
  } catch (err) {
    say(passwordForm, err.status === 403 ? 'The current password is not right.' : err.message);
  }
});

const keyList = document.getElementById('key-list');
function keyRow(k) {
  const revoke = el('button', { type: 'button', className: 'button small secondary danger-text', 'aria-label': `Revoke key ${k.name || k.prefix}` }, 'Revoke');
  const item = el('li', { className: 'key' },
    el('span', { className: 'info' },
      el('span', { className: 'name' }, k.name || 'Unnamed key'),
      el('span', { className: 'meta' }, `${k.prefix}… · made ${formatDate(k.created_at)} · ${k.last_used_at ? 'last used ' + formatDate(k.last_used_at) : 'never used'}`)),
    revoke);
  revoke.addEventListener('click', async () => {
    if (!confirm(`Revoke the key "${k.name || k.prefix}"? Scripts using it stop working at once.`)) return;
    try {
      await api('DELETE', `/api/v1/api-keys/${k.id}`);
      item.remove();
    } catch (err) {
      showError(document.getElementById('key-error'), err.message);
    }
  });
  return item;
}

async function loadKeys() {
  const { items } = await api('GET', '/api/v1/api-keys');
  keyList.replaceChildren(...items.map(keyRow));
}

document.getElementById('key-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const error = document.getElementById('key-error');
  showError(error, '');
  try {
    const name = document.getElementById('key-name').value.trim();
    const k = await api('POST', '/api/v1/api-keys', name ? { name } : {});
    document.getElementById('key-name').value = '';
    document.getElementById('new-key-value').value = k.key;
    document.getElementById('new-key').hidden = false;
    keyList.prepend(keyRow(k));
  } catch (err) {
    showError(error, err.message);
  }
});
document.getElementById('copy-key').addEventListener('click', async (e) => {
  const field = document.getElementById('new-key-value');
  if (await copyText(field.value, field)) flash(e.target);
});

loadMe().catch((err) => { document.getElementById('storage-text').textContent = err.message; });
loadKeys().catch((err) => showError(document.getElementById('key-error'), err.message));
