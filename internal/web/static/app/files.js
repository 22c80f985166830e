// The files page: the list (searchable, loaded page by page as you scroll),
// rename, delete, share, and uploads by drop, paste or picker.
import { api, el, formatBytes, formatDate, showError, copyText, flash } from './common.js';
import { UploadManager } from './uploads.js';

const list = document.getElementById('file-list');
const empty = document.getElementById('empty');
const status = document.getElementById('list-status');
const loadMore = document.getElementById('load-more');
const search = document.getElementById('search');
let cursor = null;
let loading = false;
let query = '';
let generation = 0;

function fileIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'file-icon');
  for (const d of ['M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z', 'M14 3v5h5']) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

function row(f) {
  const thumb = f.has_thumbnail
    ? el('img', { className: 'thumb-small', src: `/api/v1/files/${f.id}/thumbnail`, alt: '', loading: 'lazy', width: '48', height: '48' })
    : fileIcon();
  const name = el('span', { className: 'name' }, f.filename);
  const meta = el('span', { className: 'meta' }, `${formatBytes(f.size_bytes)} · ${formatDate(f.created_at)}`);
  const actions = el('span', { className: 'row actions' },
    el('a', { className: 'button small secondary', href: `/api/v1/files/${f.id}/content`, download: f.filename, 'aria-label': `Download ${f.filename}` }, 'Download'),
    el('button', { type: 'button', className: 'button small secondary', 'aria-label': `Share ${f.filename}`, onclick: () => openShare(f) }, 'Share'),
    el('button', { type: 'button', className: 'button small secondary', 'aria-label': `Rename ${f.filename}`, onclick: () => openRename(f, item) }, 'Rename'),
    el('button', { type: 'button', className: 'button small secondary danger-text', 'aria-label': `Delete ${f.filename}`, onclick: () => openDelete(f, item) }, 'Delete'));
  const item = el('li', { className: 'file', dataset: { id: f.id, sha256: f.sha256 } },
    thumb, el('span', { className: 'info' }, name, meta), actions);
  return item;
}

async function loadPage(reset = false) {
  if (loading && !reset) return;
  const mine = reset ? ++generation : generation;
  loading = true;
  if (reset) cursor = null;
  status.textContent = 'Loading…';
  try {
    const params = new URLSearchParams({ limit: '50' });
    if (cursor) params.set('cursor', cursor);
    if (query) params.set('q', query);
    const page = await api('GET', `/api/v1/files?${params}`);
    if (mine !== generation) return;
    if (reset) list.replaceChildren();
    for (const f of page.items) list.append(row(f));
    cursor = page.next_cursor;
    loadMore.hidden = !cursor;
    empty.hidden = list.children.length > 0;
    empty.textContent = query ? 'No file name matches your search.' : 'No files yet. Drop some here.';
    status.textContent = '';
  } catch (err) {
    status.textContent = err.message;
  } finally {
    if (mine === generation) loading = false;
  }
}

loadMore.addEventListener('click', () => loadPage());
new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && cursor && !loading) loadPage();
}).observe(document.getElementById('sentinel'));

let searchTimer;
search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    query = search.value.trim();
    loadPage(true);
  }, 250);
});

// Uploads: the picker, a drop anywhere on the page, or a paste.
const uploads = new UploadManager(document.getElementById('uploads'), (file) => {
  if (query) return;
  list.querySelector(`[data-id="${file.id}"]`)?.remove();
  list.prepend(row(file));
  empty.hidden = true;
  awaitThumbnail(file, 0);
});

// Thumbnails are made in the background: look again a few times.
function awaitThumbnail(file, attempt) {
  if (attempt >= 4) return;
  setTimeout(async () => {
    try {
      const f = await api('GET', `/api/v1/files/${file.id}`);
      const current = list.querySelector(`[data-id="${file.id}"]`);
      if (!current) return;
      if (f.has_thumbnail) current.replaceWith(row(f));
      else awaitThumbnail(file, attempt + 1);
    } catch { /* the file went away */ }
  }, 1500 * 2 ** attempt);
}
const input = document.getElementById('file-input');
input.addEventListener('change', () => {
  uploads.add([...input.files]);
  input.value = '';
});
const overlay = document.getElementById('drop-overlay');
let dragDepth = 0;
const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
document.addEventListener('dragenter', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth++;
  overlay.hidden = false;
});
document.addEventListener('dragover', (e) => {
  if (hasFiles(e)) e.preventDefault();
});
document.addEventListener('dragleave', () => {
  if (--dragDepth <= 0) {
    dragDepth = 0;
    overlay.hidden = true;
  }
});
document.addEventListener('drop', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth = 0;
  overlay.hidden = true;
  uploads.add([...e.dataTransfer.files]);
});
document.addEventListener('paste', (e) => {
  const files = [...(e.clipboardData?.files || [])];
  if (files.length && !e.target.closest?.('input, textarea')) {
    e.preventDefault();
    uploads.add(files);
  }
});
uploads.showInterrupted();

// Dialogs. Each has a form whose Cancel button closes it.
for (const dialog of document.querySelectorAll('dialog')) {
  dialog.querySelector('button[value=cancel]')?.addEventListener('click', () => dialog.close());
}

const renameDialog = document.getElementById('rename-dialog');
function openRename(f, item) {
  const form = document.getElementById('rename-form');
  const field = document.getElementById('rename-input');
  const error = form.querySelector('.error');
  showError(error, '');
  field.value = f.filename;
  form.onsubmit = async (e) => {
    e.preventDefault();
    try {
      const updated = await api('PATCH', `/api/v1/files/${f.id}`, { filename: field.value });
      Object.assign(f, updated);
      item.replaceWith(row(f));
      renameDialog.close();
    } catch (err) {
      showError(error, err.message);
    }
  };
  renameDialog.showModal();
  field.select();
}

const deleteDialog = document.getElementById('delete-dialog');
function openDelete(f, item) {
  const form = document.getElementById('delete-form');
  const error = form.querySelector('.error');
  showError(error, '');
  document.getElementById('delete-name').textContent = f.filename;
  form.onsubmit = async (e) => {
    e.preventDefault();
    try {
      await api('DELETE', `/api/v1/files/${f.id}`);
      item.remove();
      empty.hidden = list.children.length > 0;
      deleteDialog.close();
    } catch (err) {
      showError(error, err.message);
    }
  };
  deleteDialog.showModal();
}

const shareDialog = document.getElementById('share-dialog');
const shareForm = document.getElementById('share-form');
const shareResult = document.getElementById('share-result');
const expiry = document.getElementById('share-expiry');
const expiryDate = document.getElementById('share-expiry-date');
expiry.addEventListener('change', () => {
  expiryDate.hidden = expiry.value !== 'custom';
  expiryDate.required = expiry.value === 'custom';
});
document.getElementById('share-done').addEventListener('click', () => shareDialog.close());
document.getElementById('share-copy').addEventListener('click', async (e) => {
  const field = document.getElementById('share-url');
  if (await copyText(field.value, field)) flash(e.target);
});

function openShare(f) {
  const error = shareForm.querySelector('.error');
  showError(error, '');
  shareForm.reset();
  expiryDate.hidden = true;
  shareForm.hidden = false;
  shareResult.hidden = true;
  document.getElementById('share-name').textContent = f.filename;
  shareForm.onsubmit = async (e) => {
    e.preventDefault();
    const body = {};
    const password = document.getElementById('share-password').value;
    if (password) body.password = password;
    if (expiry.value === 'custom') {
      if (!expiryDate.value) {
        showError(error, 'Choose the date the link expires.');
        return;
      }
      body.expires_at = new Date(expiryDate.value).toISOString();
    } else if (expiry.value) {
      body.expires_at = new Date(Date.now() + Number(expiry.value) * 1000).toISOString();
    }
    const limit = document.getElementById('share-limit').value;
    if (limit) body.max_downloads = Number(limit);
    try {
      const share = await api('POST', `/api/v1/files/${f.id}/shares`, body);
      document.getElementById('share-url').value = share.url;
      const parts = [share.has_password ? 'Needs the password' : 'Anyone with the link can download'];
      if (share.expires_at) parts.push(`expires ${formatDate(share.expires_at)}`);
      if (share.max_downloads) parts.push(`${share.max_downloads} download${share.max_downloads === 1 ? '' : 's'}`);
      document.getElementById('share-summary').textContent = parts.join(' · ');
      document.getElementById('share-qr').src = `/api/v1/shares/${share.id}/qr`;
      shareForm.hidden = true;
      shareResult.hidden = false;
      document.getElementById('share-copy').focus();
    } catch (err) {
      showError(error, err.message);
    }
  };
  shareDialog.showModal();
}

loadPage(true);
