// Unit tests of the chunk scheduler: node --test (no dependencies).
import test from 'node:test';
import assert from 'node:assert/strict';
import { ChunkScheduler, ChunkError, AbortedError, RateMeter, backoffMs } from './scheduler.js';

const noSleep = () => Promise.resolve();
const len = () => 10;

function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

test('sends only the missing chunks, each once', async () => {
  const sent = [];
  const s = new ChunkScheduler({
    totalChunks: 6, chunkLength: len, received: [1, 4], concurrency: 2, sleep: noSleep,
    sendChunk: async (i) => { sent.push(i); },
  });
  assert.equal(await s.start(), 'done');
  assert.deepEqual(sent.sort(), [0, 2, 3, 5]);
  assert.equal(s.bytesSent, 60);
});

test('an upload with nothing missing is done at once', async () => {
  const s = new ChunkScheduler({ totalChunks: 2, chunkLength: len, received: [0, 1], sendChunk: () => assert.fail('sent') });
  assert.equal(await s.start(), 'done');
  const empty = new ChunkScheduler({ totalChunks: 0, chunkLength: len, sendChunk: () => assert.fail('sent') });
  assert.equal(await empty.start(), 'done');
});

test('keeps at most `concurrency` chunks in flight', async () => {
  let inFlight = 0;
  let most = 0;
  const s = new ChunkScheduler({
    totalChunks: 12, chunkLength: len, concurrency: 3, sleep: noSleep,
    sendChunk: async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
    },
  });
  await s.start();
  assert.equal(most, 3);
});

test('retries a retryable failure with backoff, then succeeds', async () => {
  const tries = new Map();
  const waits = [];
  const s = new ChunkScheduler({
    totalChunks: 3, chunkLength: len, concurrency: 1,
    backoff: (attempt) => attempt * 100,
    sleep: async (ms) => { waits.push(ms); },
    sendChunk: async (i) => {
      const n = (tries.get(i) ?? 0) + 1;
      tries.set(i, n);
      if (i === 1 && n < 3) throw new ChunkError('connection dropped', { retryable: true });
    },
  });
  assert.equal(await s.start(), 'done');
  assert.equal(tries.get(1), 3);
  assert.deepEqual(waits, [100, 200]);
});

test('honours Retry-After when it is longer than the backoff', async () => {
  const waits = [];
  let failed = false;
  const s = new ChunkScheduler({
    totalChunks: 1, chunkLength: len, backoff: () => 10, sleep: async (ms) => { waits.push(ms); },
    sendChunk: async () => {
      if (!failed) { failed = true; throw new ChunkError('busy', { retryable: true, retryAfterMs: 5000 }); }
    },
  });
  await s.start();
  assert.deepEqual(waits, [5000]);
});

test('fails at once on an error that retrying cannot fix', async () => {
  const s = new ChunkScheduler({
    totalChunks: 4, chunkLength: len, concurrency: 1, sleep: noSleep,
    sendChunk: async (i) => { if (i === 2) throw new ChunkError('over quota', { retryable: false }); },
  });
  await assert.rejects(s.start(), /over quota/);
  assert.equal(s.state, 'failed');
  assert.deepEqual([...s.done].sort(), [0, 1]);
});

test('gives up after maxAttempts', async () => {
  let tries = 0;
  const s = new ChunkScheduler({
    totalChunks: 1, chunkLength: len, maxAttempts: 4, sleep: noSleep,
    sendChunk: async () => { tries++; throw new ChunkError('server error', { retryable: true }); },
  });
  await assert.rejects(s.start(), /server error/);
  assert.equal(tries, 4);
});

test('pause aborts chunks in flight; resume sends them again and finishes', async () => {
  const gates = new Map();
  const completed = [];
  const s = new ChunkScheduler({
    totalChunks: 4, chunkLength: len, concurrency: 2, sleep: noSleep,
    sendChunk: (i, { signal, onProgress }) => new Promise((resolve, reject) => {
      onProgress(5);
      signal.addEventListener('abort', () => reject(new AbortedError()));
      gates.set(i, () => { completed.push(i); resolve(); });
    }),
  });
  const run = s.start();
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual([...gates.keys()], [0, 1]);
  assert.equal(s.bytesSent, 10); // half of each chunk in flight
  gates.get(0)();
  await new Promise((r) => setTimeout(r, 5));
  s.pause();
  assert.equal(await run, 'paused');
  assert.deepEqual(s.pending(), [1, 2, 3]);
  assert.equal(s.bytesSent, 10); // chunk 0 only

  gates.clear();
  const openAll = () => { const open = [...gates.values()]; gates.clear(); open.forEach((f) => f()); };
  const again = s.start();
  await new Promise((r) => setTimeout(r, 5));
  openAll();
  await new Promise((r) => setTimeout(r, 5));
  openAll();
  assert.equal(await again, 'done');
  assert.deepEqual(completed.sort(), [0, 1, 2, 3]);
});

test('cancel stops everything and never resolves as done', async () => {
  const d = deferred();
  const s = new ChunkScheduler({
    totalChunks: 3, chunkLength: len, sleep: noSleep,
    sendChunk: (i, { signal }) => new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new AbortedError()));
      d.resolve();
    }),
  });
  const run = s.start();
  await d.promise;
  s.cancel();
  assert.equal(await run, 'cancelled');
  assert.equal(s.state, 'cancelled');
});

test('backoff grows and is capped', () => {
  assert.equal(backoffMs(1, () => 1), 1000);
  assert.equal(backoffMs(3, () => 0), 2000);
  assert.equal(backoffMs(20, () => 1), 30000);
});

test('rate meter: speed and time left', () => {
  let t = 0;
  const m = new RateMeter(5000, () => t);
  assert.equal(m.rate(), 0);
  assert.equal(m.eta(100), Infinity);
  m.add(0);
  t = 1000;
  m.add(1_000_000);
  t = 2000;
  m.add(2_000_000);
  assert.equal(m.rate(), 1_000_000);
  assert.equal(m.eta(3_000_000), 3);
  t = 10_000;
  m.add(2_000_000); // stalled: the old samples fall out of the window
  assert.ok(m.rate() < 1_000_000);
});
