/**
 * A batch render thread (render-pool.ts): the service's render path with its own store
 * connection, template set, catalog copy and cohort cache, so lines of one batch render on
 * every core. It answers each line with the bytes of its output line, transferred, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadContentSidCache } from '../../channels/whatsapp/content-sid-cache.ts';
import type { Config } from '../../config.ts';
import { openStore, type OpenStoreOptions, type Product as StoreProduct } from '../../store/index.ts';
import { loadTemplateSet, type RegistryOptions } from '../../templates/template-registry.ts';
import { CatalogCache } from '../catalog-cache.ts';
import { createRenderFn, type RenderFn } from '../render-service.ts';
import { deflateFragment } from '../compression/gzip-member.ts';
import { errorLine, renderBatchLine } from './batch-line.ts';

export interface RenderThreadInit {
  config: Config;
  templates: RegistryOptions;
  store: OpenStoreOptions;
}

export type ToRenderThread =
  /** gzip: answer with a deflate fragment (gzip-member.ts) for the response's gzip stream. */
  | { type: 'line'; id: number; text: string; number: number; gzip: boolean }
  /** Products this instance wrote: a render right after the write must see them. */
  | { type: 'catalog'; products: StoreProduct[] }
  | { type: 'close' };

export type FromRenderThread =
  | { type: 'ready' }
  | { type: 'start-failed'; message: string }
  | { type: 'warn'; message: string; error: string }
  | {
      type: 'line';
      id: number;
      /** The output line, or with gzip its deflate fragment. */
      bytes: ArrayBuffer;
      /** With gzip: the CRC-32 and length of the uncompressed line. */
      gzip?: { crc: number; size: number };
      failed: boolean;
      serverError?: { status: number; message: string; stack?: string };
    };

const port = parentPort!;
const init = workerData as RenderThreadInit;
const post = (message: FromRenderThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function start() {
  const store = await openStore(init.store);
  const warn = (message: string) => (error: unknown) => post({ type: 'warn', message, error: String(error) });
  const catalog = new CatalogCache(store.products, { onError: warn('could not refresh the catalog cache in a batch render thread; using the previous copy') });
  await catalog.reload();
  const contentSids = await loadContentSidCache(store.whatsappContents, { onError: warn('could not refresh WhatsApp content sids in a batch render thread') });
  const templates = await loadTemplateSet(init.templates);
  const render = createRenderFn({ config: init.config, templates, catalog, consents: store.consents, contentSid: contentSids.get, customers: store.customers });
  return { store, catalog, render };
}

/** The output line as a buffer of its own, so it can be transferred (pooled small buffers cannot). */
function ownBytes(chunks: readonly Buffer[]): ArrayBuffer {
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for (const c of chunks) at += c.copy(out, at);
  return out.buffer as ArrayBuffer;
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
    const bytes = ownBytes(pieces);
    post({ type: 'line', id, bytes, failed, serverError }, [bytes]);
    return;
  }
  const fragment = outcome.ok ? deflateFragment(pieces, outcome.encoded.shared, outcome.encoded.contexts) : deflateFragment(pieces, [false]);
  const bytes = ownBytes(fragment.chunks);
  post({ type: 'line', id, bytes, gzip: { crc: fragment.crc, size: fragment.size }, failed, serverError }, [bytes]);
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
