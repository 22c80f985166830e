// The chunk scheduler of resumable uploads: it sends the chunks that are
// missing over a few parallel streams, retries failures with backoff, and
// can pause, resume and cancel. It knows nothing of the DOM or of HTTP: it is
// given a sendChunk function, so it runs (and is tested) anywhere.

/** An error from sendChunk says whether trying again may help. */
export class ChunkError extends Error {
  constructor(message, { retryable = false, retryAfterMs = 0, fatal = false } = {}) {
    super(message);
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
    this.fatal = fatal;
  }
}

/** The error a send rejects with when pause or cancel aborted it. */
export class AbortedError extends Error {
  constructor() {
    super('aborted');
  }
}

/** Backoff before attempt n+1: exponential from 0.5 s, capped at 30 s, with jitter. */
export function backoffMs(attempt, random = Math.random) {
  const base = Math.min(30000, 500 * 2 ** attempt);
  return Math.round(base / 2 + random() * base / 2);
}

const defaultSleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
});

export class ChunkScheduler {
  /**
   * @param {object} o
   * @param {number} o.totalChunks
   * @param {(index: number) => number} o.chunkLength bytes of chunk index
   * @param {number[]} [o.received] indexes the server already has
   * @param {number} [o.concurrency] parallel streams
   * @param {number} [o.maxAttempts] tries per chunk before the upload fails
   * @param {(index: number, opts: {signal: AbortSignal, onProgress: (sent: number) => void}) => Promise<void>} o.sendChunk
   * @param {(attempt: number) => number} [o.backoff]
   * @param {(ms: number, signal?: AbortSignal) => Promise<void>} [o.sleep]
   * @param {() => void} [o.onProgress] called whenever bytesSent changes
   */
  constructor({ totalChunks, chunkLength, received = [], concurrency = 3, maxAttempts = 8, sendChunk,
    backoff = backoffMs, sleep = defaultSleep, onProgress = () => {} }) {
    this.totalChunks = totalChunks;
    this.chunkLength = chunkLength;
    this.concurrency = Math.max(1, concurrency);
    this.maxAttempts = maxAttempts;
    this.sendChunk = sendChunk;
    this.backoff = backoff;
    this.sleep = sleep;
    this.onProgress = onProgress;
    this.done = new Set(received.filter((i) => i >= 0 && i < totalChunks));
    this.attempts = new Map();
    this.inflight = new Map(); // index -> {controller, sent}
    this.state = 'idle';
    this.error = null;
    this.controller = null;
  }

  /** Indexes still to send, in order. */
  pending() {
    const out = [];
    for (let i = 0; i < this.totalChunks; i++) {
      if (!this.done.has(i) && !this.inflight.has(i)) out.push(i);
    }
    return out;
  }

  /** Bytes the server has, plus what is on its way in requests in flight. */
  get bytesSent() {
    let n = 0;
    for (const i of this.done) n += this.chunkLength(i);
    for (const f of this.inflight.values()) n += f.sent;
    return n;
  }

  get totalBytes() {
    let n = 0;
    for (let i = 0; i < this.totalChunks; i++) n += this.chunkLength(i);
    return n;
  }

  /**
   * Runs until every chunk is sent ("done"), or pause ("paused") or cancel
   * ("cancelled") stops it; rejects when a chunk fails for good.
   */
  async start() {
    if (this.state === 'running') throw new Error('already running');
    if (this.done.size === this.totalChunks) {
      this.state = 'done';
      return 'done';
    }
    this.state = 'running';
    this.error = null;
    this.controller = new AbortController();
    const workers = [];
    for (let w = 0; w < this.concurrency; w++) workers.push(this.worker(this.controller.signal));
    await Promise.all(workers);
    if (this.error) {
      this.state = 'failed';
      throw this.error;
    }
    if (this.state === 'running') this.state = this.done.size === this.totalChunks ? 'done' : 'paused';
    return this.state;
  }

  async worker(signal) {
    while (!signal.aborted) {
      const next = this.pending()[0];
      if (next === undefined) return;
      const flight = { controller: new AbortController(), sent: 0 };
      this.inflight.set(next, flight);
      const abort = () => flight.controller.abort();
      signal.addEventListener('abort', abort, { once: true });
      try {
        await this.sendChunk(next, {
          signal: flight.controller.signal,
          onProgress: (sent) => { flight.sent = Math.min(sent, this.chunkLength(next)); this.onProgress(); },
        });
        this.done.add(next);
      } catch (err) {
        if (signal.aborted || err instanceof AbortedError) {
          // paused or cancelled: the chunk goes back to pending
        } else {
          const attempt = (this.attempts.get(next) ?? 0) + 1;
          this.attempts.set(next, attempt);
          if (err?.fatal || !err?.retryable || attempt >= this.maxAttempts) {
            this.error = err;
            this.controller.abort();
          } else {
            // Hold the chunk while waiting, so another worker does not
            // take it at once.
            this.inflight.set(next, { controller: flight.controller, sent: 0 });
            await this.sleep(Math.max(err.retryAfterMs || 0, this.backoff(attempt)), signal);
          }
        }
      } finally {
        signal.removeEventListener('abort', abort);
        this.inflight.delete(next);
        this.onProgress();
      }
    }
  }

  /** Stops sending; requests in flight are aborted and sent again on resume. */
  pause() {
    if (this.state !== 'running') return;
    this.state = 'paused';
    this.controller.abort();
  }

  /** Stops for good. */
  cancel() {
    const wasRunning = this.state === 'running';
    this.state = 'cancelled';
    if (wasRunning) this.controller.abort();
  }
}

/**
 * RateMeter estimates speed from byte counts over time (a moving average of
 * the last few seconds) and the time left.
 */
export class RateMeter {
  constructor(windowMs = 5000, now = () => Date.now()) {
    this.windowMs = windowMs;
    this.now = now;
    this.samples = [];
  }

  /** Records that `bytes` have been sent so far. */
  add(bytes) {
    const t = this.now();
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
  }

  /** Bytes per second, or 0 while unknown. */
  rate() {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    const dt = (b.t - a.t) / 1000;
    return dt > 0 ? Math.max(0, (b.bytes - a.bytes) / dt) : 0;
  }

  /** Seconds left to send `remaining` bytes, or Infinity while unknown. */
  eta(remaining) {
    const r = this.rate();
    return r > 0 ? remaining / r : Infinity;
  }

  reset() {
    this.samples = [];
  }
}
