// Uploads from the browser: every file goes through the resumable upload API,
// a few chunks at a time, with a progress bar, speed and time left, pause,
// resume and cancel. Uploads in progress are remembered (localStorage), so
// after a reload or a lost connection, picking or dropping the same file
// again sends only the chunks the server does not have.
import { ChunkScheduler, ChunkError, AbortedError, RateMeter } from './scheduler.js';
import { api, ApiError, describeProblem, retryAfterMs, formatBytes, formatDuration, el } from './common.js';

const STORE_KEY = 'satchel.uploads.v1';
const STREAMS = 3; // chunks in flight per file
const ACTIVE_FILES = 2; // files uploading at once

/** The remembered uploads: fingerprint -> {id, name, size, lastModified, startedAt}. */
export const remembered = {
  all() {
    try {
      return JSON.parse(localStorage.getItem(STORE_KEY)) || {};
    } catch {
      return {};
    }
  },
  get(fp) {
    return this.all()[fp];
  },
  set(fp, v) {
    const all = this.all();
    all[fp] = v;
    localStorage.setItem(STORE_KEY, JSON.stringify(all));
  },
  remove(fp) {
    const all = this.all();
    delete all[fp];
    localStorage.setItem(STORE_KEY, JSON.stringify(all));
  },
};

/** Identifies a file across reloads: the same name, size and modification time. */
export function fingerprint(file) {
  return `${file.name}\u0000${file.size}\u0000${file.lastModified}`;
}

async function digestHeader(blob) {
  if (!globalThis.crypto?.subtle) return null; // only over https or on localhost
  const sum = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  let bin = '';
  for (const b of sum) bin += String.fromCharCode(b);
  return `sha-256=:${btoa(bin)}:`;
}

/** PUTs one chunk with XHR, which, unlike fetch, reports upload progress. */
function putChunk(uploadId, index, blob, { signal, onProgress }) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new AbortedError());
      return;
    }
    digestHeader(blob).then((digest) => {
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', `/api/v1/uploads/${uploadId}/chunks/${index}`);
      if (digest) xhr.setRequestHeader('Content-Digest', digest);
      xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => {
        if (xhr.status === 200) {
          resolve();
          return;
        }
        let problem = null;
        try {
          problem = JSON.parse(xhr.responseText);
        } catch { /* not JSON */ }
        const retryable = xhr.status >= 500 || xhr.status === 408 || xhr.status === 429;
        reject(new ChunkError(describeProblem(xhr.status, problem), {
          retryable, retryAfterMs: retryAfterMs(xhr.getResponseHeader('Retry-After')), fatal: xhr.status === 401 || xhr.status === 404,
        }));
      };
      xhr.onerror = () => reject(new ChunkError(navigator.onLine ? 'The connection dropped.' : 'You are offline.', { retryable: true }));
      xhr.onabort = () => reject(new AbortedError());
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(blob);
    }, reject);
  });
}

/** One file's upload and its row in the list. */
class UploadItem {
  constructor(manager, file) {
    this.manager = manager;
    this.file = file;
    this.fp = fingerprint(file);
    this.meter = new RateMeter();
    this.scheduler = null;
    this.upload = null;
    this.status = 'waiting';
    this.render();
  }

  render() {
    const name = el('span', { className: 'name' }, this.file.name);
    this.bar = el('progress', { max: '100', value: '0', 'aria-label': `Upload of ${this.file.name}` });
    this.text = el('span', { className: 'meta' }, 'Waiting…');
    this.pauseButton = el('button', { type: 'button', className: 'button small secondary', onclick: () => this.togglePause() }, 'Pause');
    this.cancelButton = el('button', { type: 'button', className: 'button small secondary', onclick: () => this.cancel() }, 'Cancel');
    this.node = el('div', { className: 'upload', role: 'group', 'aria-label': this.file.name },
      el('div', { className: 'upload-head' }, name, el('span', { className: 'row' }, this.pauseButton, this.cancelButton)),
      this.bar, this.text);
  }

  setText(text, isError = false) {
    this.text.textContent = text;
    this.text.classList.toggle('error', isError);
  }

  progress() {
    if (!this.scheduler) return;
    const sent = this.scheduler.bytesSent;
    const total = this.scheduler.totalBytes || 1;
    this.meter.add(sent);
    const pct = Math.floor((sent / total) * 100);
    this.bar.value = pct;
    if (this.status === 'running') {
      const rate = this.meter.rate();
      const parts = [`${pct}%`, `${formatBytes(sent)} of ${formatBytes(this.file.size)}`];
      if (rate > 0) parts.push(`${formatBytes(rate)}/s`, formatDuration(this.meter.eta(total - sent)));
      this.setText(parts.join(' · '));
    }
  }

  /** Finds the upload the server may already have for this file, or starts one. */
  async prepare() {
    const saved = remembered.get(this.fp);
    if (saved) {
      try {
        this.upload = await api('GET', `/api/v1/uploads/${saved.id}`);
        if (this.upload.status === 'failed') this.upload = null;
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 404) throw err;
        this.upload = null;
      }
      if (!this.upload) remembered.remove(this.fp);
    }
    if (!this.upload) {
      this.upload = await api('POST', '/api/v1/uploads', {
        file_name: this.file.name, total_size: this.file.size, mime_type: this.file.type || undefined,
      });
      remembered.set(this.fp, { id: this.upload.id, name: this.file.name, size: this.file.size, lastModified: this.file.lastModified, startedAt: Date.now() });
    }
    const { id, chunk_size: cs, total_chunks: n } = this.upload;
    this.scheduler = new ChunkScheduler({
      totalChunks: n,
      chunkLength: (i) => Math.min(cs, this.file.size - i * cs),
      received: this.upload.received,
      concurrency: STREAMS,
      sendChunk: (i, opts) => putChunk(id, i, this.file.slice(i * cs, Math.min((i + 1) * cs, this.file.size)), opts),
      onProgress: () => this.progress(),
    });
  }

  async run() {
    this.status = 'running';
    this.pauseButton.textContent = 'Pause';
    this.setText('Starting…');
    try {
      if (!this.scheduler) await this.prepare();
      // The person may have paused or cancelled while the upload started.
      if (this.status === 'cancelled') {
        await this.discard();
        return;
      }
      if (this.status !== 'running') return;
      if (this.upload.status !== 'completed') {
        if (this.upload.received?.length) this.setText(`Resuming: ${this.upload.received.length} of ${this.upload.total_chunks} parts already sent`);
        this.meter.reset();
        const result = await this.scheduler.start();
        if (result !== 'done' || this.status !== 'running') { // paused or cancelled
          if (this.status === 'cancelled') await this.discard();
          return;
        }
        this.setText('Finishing…');
      }
      const file = this.upload.status === 'completed' && this.upload.file_id
        ? await api('GET', `/api/v1/files/${this.upload.file_id}`)
        : await api('POST', `/api/v1/uploads/${this.upload.id}/complete`);
      remembered.remove(this.fp);
      if (this.status === 'cancelled') {
        // Cancelled at the very end: the file was made; take it back.
        await api('DELETE', `/api/v1/files/${file.id}`).catch(() => {});
        return;
      }
      this.status = 'done';
      this.bar.value = 100;
      this.setText(`Done · ${formatBytes(this.file.size)}`);
      this.pauseButton.remove();
      this.cancelButton.textContent = 'Dismiss';
      this.manager.onUploaded(file);
    } catch (err) {
      if (this.status === 'cancelled') {
        await this.discard();
        return;
      }
      this.status = 'failed';
      this.setText(err.message || 'The upload failed.', true);
      this.pauseButton.textContent = 'Retry';
    } finally {
      this.manager.next();
    }
  }

  /** Deletes what the server holds of a cancelled upload. */
  async discard() {
    remembered.remove(this.fp);
    if (this.upload?.id && this.upload.status !== 'completed') {
      await api('DELETE', `/api/v1/uploads/${this.upload.id}`).catch(() => {});
    }
  }

  togglePause() {
    if (this.status === 'running') {
      this.status = 'paused'; // a run still preparing sees it and stops
      this.scheduler?.pause();
      this.pauseButton.textContent = 'Resume';
      this.setText(`Paused at ${this.bar.value}%`);
    } else if (this.status === 'paused' || this.status === 'failed' || this.status === 'offline') {
      this.status = 'waiting';
      this.pauseButton.textContent = 'Pause';
      this.setText('Waiting…');
      this.manager.next();
    }
  }

  async cancel() {
    const was = this.status;
    this.status = 'cancelled';
    this.scheduler?.cancel();
    this.node.remove();
    this.manager.remove(this);
    // A running upload cleans up when its run sees the cancel; one that
    // is not running is cleaned up here.
    if (was !== 'done' && was !== 'running') await this.discard();
  }

  goOffline() {
    if (this.status !== 'running') return;
    this.status = 'offline';
    this.scheduler?.pause();
    this.setText('You are offline. The upload goes on when the connection is back.', true);
  }
}

/** Runs the uploads of a page, a couple of files at a time. */
export class UploadManager {
  constructor(container, onUploaded) {
    this.container = container;
    this.onUploaded = onUploaded;
    this.items = [];
    addEventListener('offline', () => this.items.forEach((i) => i.goOffline()));
    addEventListener('online', () => {
      for (const i of this.items) if (i.status === 'offline') i.status = 'waiting';
      this.next();
    });
    addEventListener('beforeunload', (e) => {
      if (this.items.some((i) => i.status === 'running')) e.preventDefault();
    });
  }

  add(files) {
    for (const file of files) {
      if (this.items.some((i) => i.fp === fingerprint(file) && i.status !== 'done')) continue;
      const item = new UploadItem(this, file);
      this.items.push(item);
      this.container.prepend(item.node);
      this.forgetInterrupted(item.fp);
    }
    this.container.hidden = this.items.length === 0 && !this.container.querySelector('.interrupted');
    this.next();
  }

  next() {
    for (const item of this.items) {
      if (this.items.filter((i) => i.status === 'running').length >= ACTIVE_FILES) return;
      if (item.status === 'waiting') item.run(); // marks itself running at once
    }
  }

  remove(item) {
    this.items = this.items.filter((i) => i !== item);
    this.container.hidden = this.items.length === 0 && !this.container.querySelector('.interrupted');
  }

  /** Lists uploads that a reload or a closed tab interrupted. */
  async showInterrupted() {
    for (const [fp, saved] of Object.entries(remembered.all())) {
      let upload;
      try {
        upload = await api('GET', `/api/v1/uploads/${saved.id}`);
      } catch {
        remembered.remove(fp);
        continue;
      }
      if (upload.status !== 'in_progress') {
        remembered.remove(fp);
        continue;
      }
      const pct = upload.total_chunks ? Math.floor((upload.received.length / upload.total_chunks) * 100) : 0;
      const discard = el('button', { type: 'button', className: 'button small secondary' }, 'Discard');
      const node = el('div', { className: 'upload interrupted', dataset: { fp } },
        el('div', { className: 'upload-head' }, el('span', { className: 'name' }, saved.name), el('span', { className: 'row' }, discard)),
        el('progress', { max: '100', value: String(pct), 'aria-label': `Interrupted upload of ${saved.name}` }),
        el('span', { className: 'meta' }, `Interrupted at ${pct}%. Choose or drop the same file again to finish it.`));
      discard.addEventListener('click', async () => {
        node.remove();
        remembered.remove(fp);
        try {
          await api('DELETE', `/api/v1/uploads/${saved.id}`);
        } catch { /* gone already */ }
        this.container.hidden = this.items.length === 0 && !this.container.querySelector('.interrupted');
      });
      this.container.append(node);
      this.container.hidden = false;
    }
  }

  forgetInterrupted(fp) {
    for (const n of this.container.querySelectorAll('.interrupted')) {
      if (n.dataset.fp === fp) n.remove();
    }
  }
}
