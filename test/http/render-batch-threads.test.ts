import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BatchRenderPool } from '../../src/http/batch/render-pool.ts';
import { createApp } from '../../src/http/create-app.ts';
import { memoryLog, openTestApp, removeDir, renderBody, type TestApp } from './helpers.ts';

// Every kind of line: renders on both channels and templates, the four ways a line fails, a
// blank line, and a line over the per-line limit.
function mixedBatch(): string {
  const ctx = (i: number) => ({ context: { now: '2026-11-22T10:00:00Z', messageId: `m-${i}` } });
  const lines: string[] = [];
  for (let i = 1; i <= 60; i++) {
    const kind = i % 6;
    if (kind === 0) lines.push(JSON.stringify(renderBody('recommendations', 'sophie', 'picks-8', ctx(i))));
    else if (kind === 1) lines.push(JSON.stringify(renderBody('abandoned-cart', 'carl-cart', undefined, ctx(i))));
    else if (kind === 2) lines.push(JSON.stringify(renderBody('price-drop', 'rachel', 'price-drop', ctx(i))));
    else if (kind === 3) lines.push(JSON.stringify(renderBody('recommendations', 'ayse', 'picks-8', { ...ctx(i), channels: ['whatsapp'] })));
    else if (kind === 4) lines.push(JSON.stringify(renderBody('recommendations', 'hostile', 'picks-8', ctx(i))));
    else lines.push(JSON.stringify(renderBody('recommendations', 'lars-coast', 'picks-8', { ...ctx(i), locale: 'sv' })));
  }
  lines[9] = '{"template": "abandoned-cart", "profile":';
  lines[19] = JSON.stringify({ template: 'abandoned-cart', profile: { id: 'p', email: 'nope' } });
  lines[29] = JSON.stringify(renderBody('no-such-template', 'carl-cart', undefined));
  lines[39] = '';
  lines[49] = JSON.stringify({ ...renderBody('recommendations', 'sophie', 'picks-8'), pad: 'x'.repeat(1_100_000) });
  return `${lines.join('\n')}\n`;
}

// AMP tokens carry an expiry from the clock of the moment they were signed.
const maskTokens = (text: string) => text.replace(/\b[\w-]+\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{43}\b/g, '<token>');

describe('POST /v1/render/batch on render threads', () => {
  let threaded: TestApp;
  let inline: TestApp;
  const log = memoryLog();

  beforeAll(async () => {
    threaded = await openTestApp({ env: { BATCH_THREADS: '2' }, logger: log.logger });
    inline = await openTestApp({ env: { BATCH_THREADS: '0' } });
  });
  afterAll(async () => {
    for (const t of [threaded, inline]) {
      await t?.close();
      if (t) removeDir(t.dataDir);
    }
  });

  it('writes the same lines as rendering on the request thread, in order, with gzip and without', async () => {
    const body = mixedBatch();
    const post = (t: TestApp, encoding: string) =>
      request(t.app).post('/v1/render/batch').set('content-type', 'application/x-ndjson').set('accept-encoding', encoding).send(body);
    const a = await post(threaded, 'identity');
    const b = await post(inline, 'identity');
    // supertest gunzips, checking the CRC and length in the trailer.
    const c = await post(threaded, 'gzip');
    const d = await post(inline, 'gzip');
    expect([a.status, c.status, c.headers['content-encoding']]).toEqual([200, 200, 'gzip']);
    expect(maskTokens(a.text)).toBe(maskTokens(b.text));
    expect(maskTokens(c.text)).toBe(maskTokens(b.text));
    expect(maskTokens(d.text)).toBe(maskTokens(b.text));
    const lines = a.text.trimEnd().split('\n').map((l) => JSON.parse(l) as { line: number; ok: boolean; error?: { code: string } });
    expect(lines.map((l) => l.line)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1).filter((n) => n !== 40));
    expect(lines.filter((l) => !l.ok).map((l) => [l.line, l.error?.code])).toEqual([
      [10, 'invalid_json'],
      [20, 'invalid_request'],
      [30, 'unknown_template'],
      [50, 'payload_too_large'],
    ]);
    const finished = log.lines.filter((l) => l.msg === 'batch finished');
    expect(finished).toHaveLength(2);
    for (const f of finished) expect(f).toMatchObject({ lines: 60, ok: 55, failed: 4, threads: 2 });
  });

  it('renders a product right after it was written to the catalog', async () => {
    const product = {
      sku: 'THREAD-NEW-1',
      title: 'Linen shirt written a moment ago',
      url: 'https://shop.example.com/p/thread-new-1',
      image: 'https://shop.example.com/i/thread-new-1.jpg',
      price: 59,
      currency: 'EUR',
      sizes: [{ size: 'M', stock: 3 }],
    };
    // Threads have started (previous test) with the catalog as it was then.
    const put = await request(threaded.app).put('/v1/catalog/products').send([product]);
    expect(put.status).toBe(200);
    const line = JSON.stringify(renderBody('recommendations', 'sophie', undefined, { recommendations: { items: [{ sku: 'THREAD-NEW-1' }] }, channels: ['email'] }));
    const res = await request(threaded.app).post('/v1/render/batch').set('content-type', 'application/x-ndjson').send(`${line}\n`);
    const out = JSON.parse(res.text) as { ok: boolean; result: { email: { html: string }; warnings: string[] } };
    expect(out.ok).toBe(true);
    expect(out.result.email.html).toContain('Linen shirt written a moment ago');
    expect(out.result.warnings.join(' ')).not.toContain('not in the catalog');
  });

  it('renders on the request thread when the threads cannot start, and says so once', async () => {
    const badLog = memoryLog();
    const t = await openTestApp({ env: { BATCH_THREADS: '1', LOG_LEVEL: 'info' }, logger: badLog.logger });
    try {
      // The threads open the store with these options: a database nobody listens for.
      const store = { ...t.store, openedWith: { databaseUrl: 'postgres://postgres@127.0.0.1:1/none' } };
      const app = await createApp({ config: t.config, store, templates: t.templates, logger: badLog.logger });
      const lines = [1, 2, 3].map((i) => JSON.stringify(renderBody('abandoned-cart', 'carl-cart', undefined, { channels: ['whatsapp'], context: { messageId: `m-${i}` } })));
      for (let round = 0; round < 2; round++) {
        const res = await request(app).post('/v1/render/batch').set('content-type', 'application/x-ndjson').send(`${lines.join('\n')}\n`);
        const out = res.text.trimEnd().split('\n').map((l) => JSON.parse(l) as { line: number; ok: boolean });
        expect(out.map((l) => [l.line, l.ok])).toEqual([[1, true], [2, true], [3, true]]);
      }
      expect(badLog.lines.filter((l) => String(l.msg).includes('could not start'))).toHaveLength(1);
      await (app.locals.batchPool as BatchRenderPool).close();
    } finally {
      await t.close();
      removeDir(t.dataDir);
    }
  });

  it('reports the lines a dying thread held as 500 lines, goes on, and starts a new thread', async () => {
    const pool = threaded.app.locals.batchPool as BatchRenderPool;
    const lines = Array.from({ length: 400 }, (_, i) =>
      JSON.stringify(renderBody('recommendations', 'sophie', 'picks-8', { context: { now: '2026-11-22T10:00:00Z', messageId: `d-${i + 1}` } })),
    );
    const body = `${lines.join('\n')}\n`;
    const pending = request(threaded.app).post('/v1/render/batch').set('content-type', 'application/x-ndjson').set('accept-encoding', 'identity').send(body);
    const response = new Promise<request.Response>((resolve, reject) => pending.end((err, res) => (err ? reject(err) : resolve(res))));
    // Kill one thread while the batch is rendering.
    const threads = (pool as unknown as { threads: ({ worker: { terminate(): Promise<number> }; inflight: Map<number, unknown> } | undefined)[] }).threads;
    await vi.waitFor(() => expect(threads.some((t) => t && t.inflight.size > 0)).toBe(true), { timeout: 20_000, interval: 1 });
    await threads.find((t) => t && t.inflight.size > 0)!.worker.terminate();
    const res = await response;
    const out = res.text.trimEnd().split('\n').map((l) => JSON.parse(l) as { line: number; ok: boolean; error?: { code: string } });
    expect(out.map((l) => l.line)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    const failed = out.filter((l) => !l.ok);
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(failed.map((l) => l.error?.code))).toEqual(new Set(['internal_error']));
    expect(out.filter((l) => l.ok).length).toBeGreaterThan(0);
    // The next batch renders every line, on a new thread in place of the dead one.
    const again = await request(threaded.app).post('/v1/render/batch').set('content-type', 'application/x-ndjson').send(`${lines.slice(0, 50).join('\n')}\n`);
    expect(again.text.trimEnd().split('\n').map((l) => (JSON.parse(l) as { ok: boolean }).ok)).toEqual(Array(50).fill(true));
  });
});
