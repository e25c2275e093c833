import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { CatalogProduct } from '../../store/index.ts';
import type { CatalogUpdate, FromRenderThread, LineResult, LineTask, RenderThreadData, RenderThreadInit } from './render-thread.ts';

/** One line rendered by a thread: the bytes of its output line (result or error line). */
export interface PooledLine {
  /** The output line, or with gzip its deflate fragment. */
  bytes: Buffer;
  /** With gzip: the CRC-32 and length of the uncompressed line. */
  gzip?: { crc: number; size: number };
  failed: boolean;
  /** Set for a 5xx: what the request's log should say about it. */
  serverError?: { status: number; message: string; stack?: string };
  /** Hands `bytes` back to the threads for a later line: call once they are written. */
  release: () => void;
}

const ENTRY = fileURLToPath(new URL('./render-thread-entry.mjs', import.meta.url));

/**
 * Lines a thread is handed before it answers the first: the batch route keeps 16 per thread
 * in flight, and a thread waiting for its next line while the request's thread is busy writing
 * would sit idle.
 */
const LINES_PER_THREAD = 16;

/** Written result buffers kept for later lines (see render-thread.ts `ownBytes`). */
const MAX_SPARE = 64;

/**
 * Render threads for POST /v1/render/batch, a piscina pool. A batch is one request, so without
 * them one process renders it on one core; with them the request's thread reads lines, hands
 * each to the least busy thread and writes the results in order, and the rendering runs on
 * every core.
 *
 * Threads start on first use (or `start()`), each with its own store connection, template set
 * and catalog copy (render-thread.ts). Products this instance writes reach the copies on a
 * BroadcastChannel; each line carries the catalog version it was sent after, and a thread
 * renders it once it has that version. A thread that dies fails the lines it held and piscina
 * starts a new one. A thread that cannot start (store unreachable, say) makes the pool
 * unavailable: batches then render on the request's thread, as with BATCH_THREADS=0.
 */
export class BatchRenderPool {
  private pool: Piscina<LineTask, LineResult> | undefined;
  private started: Promise<void> | undefined;
  private startFailed = false;
  private closing = false;
  /** Lines handed to threads and not answered yet. */
  private readonly inflight = new Set<Promise<LineResult>>();
  private spare: ArrayBuffer[] = [];
  private readonly channelName = `inboxcart-catalog-${randomUUID()}`;
  private readonly catalog = new BroadcastChannel(this.channelName);
  /** Catalog updates sent so far; shared so a thread started later knows which it has already. */
  private readonly catalogVersion = new Int32Array(new SharedArrayBuffer(4));
  private readonly threadMessages = new Set<(message: FromRenderThread) => void>();

  constructor(private readonly options: { size: number; init: RenderThreadInit; logger: Logger }) {
    this.catalog.unref();
  }

  /** Threads, started or not. */
  get size(): number {
    return this.options.size;
  }

  /** A thread could not start (store unreachable, say): batches render on the request thread. */
  get failedToStart(): boolean {
    return this.startFailed;
  }

  /** False once a thread failed to start, or after close(). */
  get available(): boolean {
    return !this.startFailed && !this.closing && this.options.size > 0;
  }

  /**
   * Starts every thread now rather than at the first batch, and resolves when they can render
   * (or could not start). The service waits for it before listening: a thread loading its
   * modules, templates and catalog takes CPU that requests would otherwise get.
   */
  async start(): Promise<void> {
    this.threads();
    // piscina unrefs idle threads, so a caller awaiting only this (src/main.ts at start-up)
    // would see its event loop empty out: the channel holds it open until the threads answer.
    this.catalog.ref();
    try {
      await this.started;
    } finally {
      this.catalog.unref();
    }
  }

  /** With gzip, the line comes back as a deflate fragment for the response's gzip member. */
  async render(text: string, number: number, gzip: boolean): Promise<PooledLine> {
    const pool = this.threads();
    const spare = this.spare.pop();
    const task: LineTask = { text, number, gzip, catalogVersion: Atomics.load(this.catalogVersion, 0), spare };
    const run = pool.run(task, { transferList: spare ? [spare] : [] });
    this.inflight.add(run);
    let result: LineResult;
    try {
      result = await run;
    } finally {
      this.inflight.delete(run);
    }
    if (result.type === 'start-failed') {
      this.noteStartFailed(result.message);
      throw new Error(`batch render thread could not start: ${result.message}`);
    }
    const buffer = result.bytes;
    return {
      bytes: Buffer.from(buffer, 0, result.length),
      gzip: result.gzip,
      failed: result.failed,
      serverError: result.serverError,
      release: () => {
        if (this.spare.length < MAX_SPARE) this.spare.push(buffer);
      },
    };
  }

  /** Products this instance wrote (catalog-cache.ts `put`), for the threads' catalog copies. */
  putProducts(products: readonly CatalogProduct[]): void {
    if (!this.pool) return; // threads that start later load the catalog from the store
    const version = Atomics.add(this.catalogVersion, 0, 1) + 1;
    this.catalog.postMessage({ type: 'catalog', version, products } satisfies CatalogUpdate);
  }

  /** Lets the lines in flight finish and each thread close its store; after `graceMs` threads are stopped. */
  async close(graceMs = 2_000): Promise<void> {
    this.closing = true;
    const pool = this.pool;
    if (!pool) return this.catalog.close();
    const deadline = Date.now() + graceMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([expired, Promise.allSettled([...this.inflight])]);
    let closed = 0;
    const allClosed = this.nextMessages((m) => m.type === 'closed' && ++closed >= pool.threads.length);
    this.catalog.postMessage({ type: 'close' } satisfies CatalogUpdate);
    if (Date.now() < deadline) await Promise.race([expired, allClosed]);
    clearTimeout(timer);
    await pool.destroy();
    this.catalog.close();
    this.pool = undefined;
  }

  private threads(): Piscina<LineTask, LineResult> {
    if (this.pool) return this.pool;
    const workerData: RenderThreadData = { ...this.options.init, catalogChannel: this.channelName, catalogVersion: this.catalogVersion };
    const pool = new Piscina<LineTask, LineResult>({
      filename: ENTRY,
      workerData,
      minThreads: this.options.size,
      maxThreads: this.options.size,
      concurrentTasksPerWorker: LINES_PER_THREAD,
      idleTimeout: Infinity,
      // Render threads wait on their store between lines: a thread blocked in Atomics.wait could not.
      atomics: 'disabled',
      // No inherited execArgv: the entry registers tsx itself, whatever started this process.
      execArgv: [],
    });
    pool.on('message', (message: FromRenderThread) => {
      if (message.type === 'warn') this.options.logger.warn({ error: message.error }, message.message);
      else if (message.type === 'start-failed') this.noteStartFailed(message.message);
      for (const listener of this.threadMessages) listener(message);
    });
    // Emitted for a thread that failed holding no lines (those that did fail their lines instead).
    pool.on('error', (err: Error) => this.options.logger.error({ err }, 'a batch render thread failed'));
    let answered = 0;
    this.started = this.nextMessages((m) => (m.type === 'ready' || m.type === 'start-failed') && ++answered >= this.options.size);
    this.pool = pool;
    return pool;
  }

  private noteStartFailed(message: string): void {
    if (this.startFailed) return;
    this.startFailed = true;
    this.options.logger.error({ error: message }, 'a batch render thread could not start; batches render on the request thread');
  }

  /** Resolves once `done` returns true for a message from a thread. */
  private nextMessages(done: (message: FromRenderThread) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const listener = (message: FromRenderThread) => {
        if (!done(message)) return;
        this.threadMessages.delete(listener);
        resolve();
      };
      this.threadMessages.add(listener);
    });
  }
}
