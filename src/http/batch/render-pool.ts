import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { CatalogProduct } from '../../store/index.ts';
import type { FromRenderThread, RenderThreadInit, ToRenderThread } from './render-thread.ts';

/** One line rendered by a thread: the bytes of its output line (result or error line). */
export interface PooledLine {
  /** The output line, or with gzip its deflate fragment. */
  bytes: Buffer;
  /** With gzip: the CRC-32 and length of the uncompressed line. */
  gzip?: { crc: number; size: number };
  failed: boolean;
  /** Set for a 5xx: what the request's log should say about it. */
  serverError?: { status: number; message: string; stack?: string };
  /** Hands `bytes` back to its thread for a later line: call once they are written. */
  release: () => void;
}

interface Thread {
  worker: Worker;
  inflight: Map<number, { resolve: (line: PooledLine) => void; reject: (err: Error) => void }>;
  /** Settles when the thread can render (or could not start). */
  started: Promise<void>;
}

const ENTRY = new URL('./render-thread-entry.mjs', import.meta.url);

/**
 * Render threads for POST /v1/render/batch. A batch is one request, so without them one
 * process renders it on one core; with them the request's thread reads lines, hands each to the
 * least busy thread and writes the results in order, and the rendering runs on every core.
 *
 * Threads start on first use (or `start()`), each with its own store connection, template set
 * and catalog copy (render-thread.ts); products this instance writes are forwarded to them. A
 * thread that dies fails the lines it held, and the next line starts a new one. A thread that
 * cannot start (store unreachable, say) makes the pool unavailable: batches then render on the
 * request's thread, as with BATCH_THREADS=0.
 */
export class BatchRenderPool {
  private threads: (Thread | undefined)[];
  private nextId = 0;
  private startFailed = false;
  private closing = false;

  constructor(
    private readonly options: { size: number; init: RenderThreadInit; logger: Logger },
  ) {
    this.threads = Array.from({ length: options.size }, () => undefined);
  }

  /** Threads, started or not. */
  get size(): number {
    return this.threads.length;
  }

  /** A thread could not start (store unreachable, say): batches render on the request thread. */
  get failedToStart(): boolean {
    return this.startFailed;
  }

  /** False once a thread failed to start, or after close(). */
  get available(): boolean {
    return !this.startFailed && !this.closing && this.threads.length > 0;
  }

  /**
   * Starts every thread now rather than at the first batch, and resolves when they can render
   * (or could not start). The service waits for it before listening: a thread loading its
   * modules, templates and catalog takes CPU that requests would otherwise get.
   */
  async start(): Promise<void> {
    for (let i = 0; i < this.threads.length; i++) this.threads[i] ??= this.spawn(i);
    await Promise.all(this.threads.map((t) => t?.started));
  }

  /** With gzip, the line comes back as a deflate fragment for the response's gzip member. */
  render(text: string, number: number, gzip: boolean): Promise<PooledLine> {
    const thread = this.leastBusy();
    const id = this.nextId++;
    return new Promise<PooledLine>((resolve, reject) => {
      thread.inflight.set(id, { resolve, reject });
      thread.worker.postMessage({ type: 'line', id, text, number, gzip } satisfies ToRenderThread);
    });
  }

  /** Products this instance wrote (catalog-cache.ts `put`), for the threads' catalog copies. */
  putProducts(products: readonly CatalogProduct[]): void {
    for (const t of this.threads) t?.worker.postMessage({ type: 'catalog', products } satisfies ToRenderThread);
  }

  /** Lets each thread close its store; threads still running after `graceMs` are terminated. */
  async close(graceMs = 2_000): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.threads.map(async (t) => {
        if (!t) return;
        const exited = new Promise<void>((resolve) => t.worker.once('exit', () => resolve()));
        t.worker.postMessage({ type: 'close' } satisfies ToRenderThread);
        const timer = setTimeout(() => void t.worker.terminate(), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.threads = this.threads.map(() => undefined);
  }

  private leastBusy(): Thread {
    let best: Thread | undefined;
    for (let i = 0; i < this.threads.length; i++) {
      const t = (this.threads[i] ??= this.spawn(i));
      if (!best || t.inflight.size < best.inflight.size) best = t;
    }
    return best!;
  }

  private spawn(slot: number): Thread {
    // No inherited execArgv: the entry registers tsx itself, whatever started this process.
    const worker = new Worker(ENTRY, { workerData: this.options.init, execArgv: [] });
    // Idle threads must not keep a finished process (a CLI run, a test file) alive.
    worker.unref();
    let settle!: () => void;
    const thread: Thread = { worker, inflight: new Map(), started: new Promise<void>((resolve) => (settle = resolve)) };
    const fail = (err: Error) => {
      if (this.threads[slot] === thread) this.threads[slot] = undefined;
      for (const { reject } of thread.inflight.values()) reject(err);
      thread.inflight.clear();
    };
    worker.on('message', (message: FromRenderThread) => {
      if (message.type === 'ready') settle();
      else if (message.type === 'line') {
        const waiting = thread.inflight.get(message.id);
        thread.inflight.delete(message.id);
        const buffer = message.bytes;
        const release = () => {
          if (this.threads[slot] === thread) worker.postMessage({ type: 'recycle', buffer } satisfies ToRenderThread, [buffer]);
        };
        waiting?.resolve({ bytes: Buffer.from(buffer, 0, message.length), gzip: message.gzip, failed: message.failed, serverError: message.serverError, release });
      } else if (message.type === 'start-failed') {
        this.startFailed = true;
        settle();
        this.options.logger.error({ error: message.message }, 'a batch render thread could not start; batches render on the request thread');
        fail(new Error(`batch render thread could not start: ${message.message}`));
      } else if (message.type === 'warn') {
        this.options.logger.warn({ error: message.error }, message.message);
      }
    });
    worker.on('error', (err) => {
      this.options.logger.error({ err }, 'a batch render thread failed; its lines are reported as failed');
      fail(err);
    });
    worker.on('exit', (code) => {
      settle();
      if (!this.closing && code !== 0) this.options.logger.error({ code }, 'a batch render thread exited');
      fail(new Error(`batch render thread exited with code ${code}`));
    });
    return thread;
  }
}
