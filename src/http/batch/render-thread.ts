/**
 * A batch render thread (render-pool.ts): the service's render path with its own store
 * connection, template set, catalog copy and cohort cache, so lines of one batch render on
 * every core. It answers each line with the bytes of its output line, transferred, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../../config.ts';
import { openStore, type OpenStoreOptions, type CatalogProduct } from '../../store/index.ts';
import { loadTemplateSet, type RegistryOptions } from '../../templates/template-registry.ts';
import { storeRender, type RenderFn } from '../../render-service/render-service.ts';
import { deflateFragment } from '../compression/gzip-member.ts';
import { errorLine, renderBatchLine } from './batch-line.ts';

export interface RenderThreadInit {
  config: Config;
  templates: RegistryOptions;
  store: OpenStoreOptions;
  /**
   * How far the app's clock is from the system clock (tests pin the date). A clock function
   * cannot be sent to a thread, so the thread's clock runs at this distance from its own.
   */
  clockOffsetMs?: number;
}

export type ToRenderThread =
  /** gzip: answer with a deflate fragment (gzip-member.ts) for the response's gzip stream. */
  | { type: 'line'; id: number; text: string; number: number; gzip: boolean }
  /** Products this instance wrote: a render right after the write must see them. */
  | { type: 'catalog'; products: readonly CatalogProduct[] }
  /** A result buffer the request's thread has written: filled again for a later line. */
  | { type: 'recycle'; buffer: ArrayBuffer }
  | { type: 'close' };

export type FromRenderThread =
  | { type: 'ready' }
  | { type: 'start-failed'; message: string }
  | { type: 'warn'; message: string; error: string }
  | {
      type: 'line';
      id: number;
      /** The output line, or with gzip its deflate fragment: the first `length` bytes. */
      bytes: ArrayBuffer;
      length: number;
      /** With gzip: the CRC-32 and length of the uncompressed line. */
      gzip?: { crc: number; size: number };
      failed: boolean;
      serverError?: { status: number; message: string; stack?: string };
    };

const port = parentPort!;
const init = workerData as RenderThreadInit;
const post = (message: FromRenderThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function start() {
  const offset = init.clockOffsetMs ?? 0;
  const store = await openStore({ ...init.store, ...(offset ? { now: () => new Date(Date.now() + offset) } : {}) });
  const templates = await loadTemplateSet(init.templates);
  const { catalog, render } = await storeRender({
    config: init.config,
    templates,
    store,
    warn: (message, error) => post({ type: 'warn', message: `batch render thread: ${message}`, error: String(error) }),
  });
  return { store, catalog, render };
}

/**
 * Buffers the request's thread has written and handed back. A result line is ~105 kB: a fresh
 * buffer per line, allocated here and freed over there, cost more CPU in allocator and garbage
 * collector threads than the rendering gained from a second core (measured: 1.5 s of such
 * threads per 20,000 lines, against 0.2 s without render threads).
 */
const recycled: ArrayBuffer[] = [];
const MAX_RECYCLED = 64;

/** The output line in a buffer of its own (pooled small buffers cannot be transferred). */
function ownBytes(chunks: readonly Buffer[]): { buffer: ArrayBuffer; length: number } {
  let length = 0;
  for (const c of chunks) length += c.length;
  let buffer: ArrayBuffer | undefined;
  for (let i = recycled.length - 1; i >= 0; i--) {
    if (recycled[i]!.byteLength >= length) {
      buffer = recycled[i]!;
      recycled.splice(i, 1);
      break;
    }
  }
  // Room to grow: the next line of the same template is a little longer or shorter.
  buffer ??= new ArrayBuffer(Math.ceil(length * 1.25) + 1024);
  const out = Buffer.from(buffer, 0, length);
  let at = 0;
  for (const c of chunks) at += c.copy(out, at);
  return { buffer, length };
}

async function renderLine(render: RenderFn, message: Extract<ToRenderThread, { type: 'line' }>): Promise<void> {
  const { id, text, number } = message;
  const outcome = await renderBatchLine(text, number, render);
  const failed = !outcome.ok;
  let serverError: Extract<FromRenderThread, { type: 'line' }>['serverError'];
  if (!outcome.ok && outcome.error.status >= 500) {
    const cause = outcome.cause instanceof Error ? outcome.cause : new Error(String(outcome.cause));
    serverError = { status: outcome.error.status, message: cause.message, stack: cause.stack };
  }
  const pieces = outcome.ok ? outcome.encoded.pieces : [errorLine(number, outcome.error)];
  if (!message.gzip) {
    const { buffer, length } = ownBytes(pieces);
    post({ type: 'line', id, bytes: buffer, length, failed, serverError }, [buffer]);
    return;
  }
  const fragment = outcome.ok ? deflateFragment(pieces, outcome.encoded.shared, outcome.encoded.contexts) : deflateFragment(pieces, [false]);
  const { buffer, length } = ownBytes(fragment.chunks);
  post({ type: 'line', id, bytes: buffer, length, gzip: { crc: fragment.crc, size: fragment.size }, failed, serverError }, [buffer]);
}

// Lines may arrive while the thread is still starting: they wait for it, in order.
const started = start();
started.then(
  () => post({ type: 'ready' }),
  (err: unknown) => {
    post({ type: 'start-failed', message: err instanceof Error ? err.message : String(err) });
    port.close();
  },
);

port.on('message', (message: ToRenderThread) => {
  if (message.type === 'recycle') {
    if (recycled.length < MAX_RECYCLED) recycled.push(message.buffer);
    return;
  }
  void started.then(async (s) => {
    if (message.type === 'line') await renderLine(s.render, message);
    else if (message.type === 'catalog') s.catalog.put(message.products);
    else {
      await s.catalog.idle();
      await s.store.close();
      port.close();
    }
  }, () => undefined);
});
