/**
 * A batch render thread (render-pool.ts, run by piscina): the service's render path with its
 * own store connection, template set, catalog copy and cohort cache, so lines of one batch
 * render on every core. It answers each line with the bytes of its output line, transferred,
 * not copied.
 */
import { BroadcastChannel, parentPort, workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { Config } from '../../config.ts';
import { openStore, type OpenStoreOptions, type CatalogProduct } from '../../store/index.ts';
import { loadTemplateSet, type RegistryOptions } from '../../templates/template-registry.ts';
import { storeRender } from '../render-service.ts';
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

/** What the pool adds to `RenderThreadInit` for its threads. */
export interface RenderThreadData extends RenderThreadInit {
  /** BroadcastChannel name for `CatalogUpdate`s. */
  catalogChannel: string;
  /** The count of catalog updates the pool has sent (Int32Array over a SharedArrayBuffer). */
  catalogVersion: Int32Array;
}

/** One line to render. */
export interface LineTask {
  text: string;
  number: number;
  /** Answer with a deflate fragment (gzip-member.ts) for the response's gzip stream. */
  gzip: boolean;
  /** The catalog updates sent before this line: the thread renders it once it has them all. */
  catalogVersion: number;
  /** A result buffer the request's thread has written, to fill again. */
  spare?: ArrayBuffer;
}

export type LineResult =
  | { type: 'start-failed'; message: string }
  | {
      type: 'line';
      /** The output line, or with gzip its deflate fragment: the first `length` bytes. */
      bytes: ArrayBuffer;
      length: number;
      /** With gzip: the CRC-32 and length of the uncompressed line. */
      gzip?: { crc: number; size: number };
      failed: boolean;
      serverError?: { status: number; message: string; stack?: string };
    };

/** On the catalog channel, from the pool to every thread. */
export type CatalogUpdate =
  /** Products this instance wrote: a render right after the write must see them. */
  | { type: 'catalog'; version: number; products: readonly CatalogProduct[] }
  /** The pool is closing: close the store. */
  | { type: 'close' };

/** To the pool (piscina passes a thread's own messages on as the pool's 'message' event). */
export type FromRenderThread =
  | { type: 'ready' }
  | { type: 'start-failed'; message: string }
  | { type: 'warn'; message: string; error: string }
  | { type: 'closed' };

const data = workerData as RenderThreadData;
const post = (message: FromRenderThread) => parentPort!.postMessage(message);

// Subscribed before the catalog is loaded and the version read, so no update falls in between:
// those up to `version` are in the store already, later ones arrive here.
const updates = new BroadcastChannel(data.catalogChannel);
updates.unref();
let version = Atomics.load(data.catalogVersion, 0);
const early: CatalogUpdate[] = [];
const versionWaiters: (() => void)[] = [];

async function start() {
  const offset = data.clockOffsetMs ?? 0;
  const store = await openStore({ ...data.store, ...(offset ? { now: () => new Date(Date.now() + offset) } : {}) });
  const templates = await loadTemplateSet(data.templates);
  const { catalog, render } = await storeRender({
    config: data.config,
    templates,
    store,
    warn: (message, error) => post({ type: 'warn', message: `batch render thread: ${message}`, error: String(error) }),
  });
  return { store, catalog, render };
}

const started = start();
started.then(
  () => post({ type: 'ready' }),
  (err: unknown) => post({ type: 'start-failed', message: messageOf(err) }),
);

updates.onmessage = (event) => {
  const update = (event as { data: CatalogUpdate }).data;
  early.push(update);
  void started.then(apply, () => {
    if (update.type === 'close') post({ type: 'closed' });
  });
};

async function apply(s: Awaited<typeof started>): Promise<void> {
  while (early.length) {
    const update = early.shift()!;
    if (update.type === 'catalog') {
      s.catalog.put(update.products);
      version = Math.max(version, update.version);
      for (const wake of versionWaiters.splice(0)) wake();
    } else {
      await s.catalog.idle();
      await s.store.close();
      post({ type: 'closed' });
    }
  }
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

/** piscina's task handler: one line in, its output line out (its buffer transferred). */
export default async function renderLine(task: LineTask): Promise<LineResult> {
  if (task.spare && recycled.length < MAX_RECYCLED) recycled.push(task.spare);
  let s: Awaited<typeof started>;
  try {
    s = await started;
  } catch (err) {
    return { type: 'start-failed', message: messageOf(err) };
  }
  while (version < task.catalogVersion) await new Promise<void>((resolve) => versionWaiters.push(resolve));
  const { text, number } = task;
  const outcome = await renderBatchLine(text, number, s.render);
  const failed = !outcome.ok;
  let serverError: Extract<LineResult, { type: 'line' }>['serverError'];
  if (!outcome.ok && outcome.error.status >= 500) {
    const cause = outcome.cause instanceof Error ? outcome.cause : new Error(String(outcome.cause));
    serverError = { status: outcome.error.status, message: cause.message, stack: cause.stack };
  }
  const pieces = outcome.ok ? outcome.encoded.pieces : [errorLine(number, outcome.error)];
  if (!task.gzip) {
    const { buffer, length } = ownBytes(pieces);
    return transferred(buffer, { type: 'line', bytes: buffer, length, failed, serverError });
  }
  const fragment = outcome.ok ? deflateFragment(pieces, outcome.encoded.shared, outcome.encoded.contexts) : deflateFragment(pieces, [false]);
  const { buffer, length } = ownBytes(fragment.chunks);
  return transferred(buffer, { type: 'line', bytes: buffer, length, gzip: { crc: fragment.crc, size: fragment.size }, failed, serverError });
}

/** The result with its buffer moved to the pool's thread rather than copied (piscina's Transferable). */
function transferred(buffer: ArrayBuffer, result: LineResult): LineResult {
  return move({ [transferableSymbol]: buffer, [valueSymbol]: result } as never) as unknown as LineResult;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
