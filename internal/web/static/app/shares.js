// The shares page: every link the user made, with its state and downloads.
import { api, el, formatDate, copyText, flash } from './common.js';

const list = document.getElementById('share-list');
const empty = document.getElementById('empty');
const status = document.getElementById('list-status');
const loadMore = document.getElementById('load-more');
let cursor = null;

const stateText = { active: 'Active', expired: 'Expired', exhausted: 'Used up' };

function row(s) {
  const facts = [s.max_downloads ? `${s.download_count} of ${s.max_downloads} downloads` : `${s.download_count} download${s.download_count === 1 ? '' : 's'}`];
  if (s.has_password) facts.push('password');
  if (s.expires_at) facts.push(`${s.state === 'expired' ? 'expired' : 'expires'} ${formatDate(s.expires_at)}`);
  facts.push(`made ${formatDate(s.created_at)}`);
  const copy = el('button', { type: 'button', className: 'button small secondary', 'aria-label': `Copy the link to ${s.file_name}` }, 'Copy link');
  copy.addEventListener('click', async () => {
    if (await copyText(s.url)) flash(copy);
  });
  const revoke = el('button', { type: 'button', className: 'button small secondary danger-text', 'aria-label': `Revoke the link to ${s.file_name}` }, 'Revoke');
  const item = el('li', { className: 'file', dataset: { id: s.id } },
    el('span', { className: 'info' },
      el('span', { className: 'name' }, s.file_name || 'File'),
      el('span', { className: 'meta' }, el('span', { className: `badge ${s.state}` }, stateText[s.state] || s.state), ' ', facts.join(' · ')),
      el('a', { className: 'meta link-url', href: s.url }, s.url)),
    el('span', { className: 'row actions' }, copy, revoke));
  revoke.addEventListener('click', async () => {
    if (!confirm(`Revoke the link to "${s.file_name}"? It stops working at once.`)) return;
    try {
      await api('DELETE', `/api/v1/shares/${s.id}`);
      item.remove();
      empty.hidden = list.children.length > 0;
    } catch (err) {
      status.textContent = err.message;
    }
  });
  return item;
}

async function load() {
  status.textContent = 'Loading…';
  try {
    const params = new URLSearchParams({ limit: '50' });
    if (cursor) params.set('cursor', cursor);
    const page = await api('GET', `/api/v1/shares?${params}`);
    for (const s of page.items) list.append(row(s));
    cursor = page.next_cursor;
    loadMore.hidden = !cursor;
    empty.hidden = list.children.length > 0;
    status.textContent = '';
  } catch (err) {
    status.textContent = err.message;
  }
}

loadMore.addEventListener('click', load);
load();
