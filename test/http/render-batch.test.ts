import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { batchLineSchema } from '../../src/http/api-schemas.ts';
import { FIXED_NOW, openTestApp, rawExchange, removeDir, useTestApp, renderBody, type TestApp } from './helpers.ts';

let t: TestApp;
useTestApp({}, (app) => (t = app));

// The cheapest real render (about 1 kB of WhatsApp output), so 10,000 lines stay quick.
const cheapLine = (i: number) => JSON.stringify(renderBody('abandoned-cart', 'carl-cart', undefined, { channels: ['whatsapp'], context: { now: FIXED_NOW, messageId: `m-${i}` } }));

const ndjson = (lines: string[]) => `${lines.join('\n')}\n`;
const parseLines = (text: string) => text.trimEnd().split('\n').map((l) => batchLineSchema.parse(JSON.parse(l)));

describe('POST /v1/render/batch', () => {
  it('renders 10,000 lines in order; bad lines in the middle become error lines and the batch goes on', async () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => cheapLine(i + 1));
    lines[4_999] = '{"template": "abandoned-cart", "profile":'; // line 5000: truncated JSON
    lines[5_000] = JSON.stringify({ template: 'abandoned-cart', profile: { id: 'p', email: 'nope' } }); // 5001: schema
    lines[5_001] = JSON.stringify(renderBody('no-such-template', 'carl-cart', undefined)); // 5002: unknown template
    lines[7_499] = ''; // 7500: blank lines are skipped but still counted
    const res = await request(t.app).post('/v1/render/batch').set('content-type', 'application/x-ndjson').send(ndjson(lines));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const out = parseLines(res.text);
    expect(out).toHaveLength(9_999);
    expect(out.map((l) => l.line)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1).filter((n) => n !== 7_500));
    const errors = out.filter((l) => !l.ok);
    expect(errors.map((l) => [l.line, !l.ok && l.error.code])).toEqual([
      [5_000, 'invalid_json'],
      [5_001, 'invalid_request'],
      [5_002, 'unknown_template'],
    ]);
    const schemaError = errors[1]!;
    expect(!schemaError.ok && schemaError.error.fields?.map((f) => f.path)).toEqual(['profile.email']);
    const last = out.at(-1)!;
    expect(last.ok && last.result.id).toBe('m-10000');
    expect(last.ok && last.result.whatsapp).toMatchObject({ suppressed: false });
    // ~10 s on 2 idle cores; a shared or loaded machine takes three times that, which is not a failure.
  }, 120_000);

  it('415 for a body that is not NDJSON', async () => {
    const res = await request(t.app).post('/v1/render/batch').send([renderBody('recommendations', 'sophie', 'picks-8')]);
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_media_type');
    expect(res.body.error.message).toContain('application/x-ndjson');
  });

  it('accepts a gzip-encoded body', async () => {
    const body = gzipSync(ndjson([cheapLine(1), cheapLine(2)]));
    const res = await request(t.app).post('/v1/render/batch').set('content-type', 'application/x-ndjson').set('content-encoding', 'gzip').send(body);
    expect(parseLines(res.text).map((l) => [l.line, l.ok])).toEqual([
      [1, true],
      [2, true],
    ]);
  });

  it('gzip when the client accepts it: one gzip member that gunzips to the identity lines exactly', async () => {
    const lines = [
      ...Array.from({ length: 20 }, (_, i) => JSON.stringify(renderBody('recommendations', ['sophie', 'ayse', 'rachel'][i % 3]!, 'picks-8', { context: { now: '2026-11-22T10:00:00Z', messageId: `gz-${i}` } }))),
      '{"template":',
      cheapLine(21),
    ];
    const post = (headers: Record<string, string>) => rawExchange(t.app, { path: '/v1/render/batch', headers: { 'content-type': 'application/x-ndjson', ...headers }, body: ndjson(lines) });
    const [plain, gzipped] = await Promise.all([post({}), post({ 'accept-encoding': 'gzip' })]);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers.vary).toBe('Accept-Encoding');
    expect(gzipped.body.length).toBeLessThan(plain.body.length / 4);
    // Two renders of the same lines: equal but for the AMP and unsubscribe tokens, whose expiry
    // counts from the signing second (it can tick between the two requests).
    const sameTokens = (body: Buffer) => body.toString('utf8').replace(/(token(?:=|&#x3D;)|\/u\/)[\w.%-]+/g, '$1…');
    expect(sameTokens(gunzipSync(gzipped.body))).toBe(sameTokens(plain.body));
    const out = parseLines(plain.body.toString('utf8'));
    expect(out.map((l) => l.ok)).toEqual([...Array<boolean>(20).fill(true), false, true]);
    // Each line is exactly what JSON.stringify makes of it.
    for (const text of plain.body.toString('utf8').trimEnd().split('\n')) expect(text).toBe(JSON.stringify(JSON.parse(text)));
  });

  it('streams the first results before the request body has ended', async () => {
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as AddressInfo;
      const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/v1/render/batch', headers: { 'content-type': 'application/x-ndjson' } });
      const response = new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
      req.write(`${cheapLine(1)}\n`);
      const res = await response;
      const first = await new Promise<string>((resolve) => res.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      // The body is still open here: the result of line 1 came back before line 2 was sent.
      expect(JSON.parse(first.split('\n')[0]!)).toMatchObject({ line: 1, ok: true });
      let rest = '';
      res.on('data', (chunk: Buffer) => (rest += chunk.toString()));
      const ended = new Promise((r) => res.once('end', r));
      req.end(`${cheapLine(2)}\n`);
      await ended;
      expect(JSON.parse(rest.trim())).toMatchObject({ line: 2, ok: true });
    } finally {
      server.close();
    }
  });

  it('stops reading while the client is not reading the results (backpressure)', async () => {
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    let served: ServerResponse | undefined;
    server.on('request', (_req, res: ServerResponse) => (served = res));
    try {
      const { port } = server.address() as AddressInfo;
      // ~26 kB out per line fills a non-reading client's socket buffers quickly. Whitespace pads
      // each line to 64 kB so the input is far larger than what kernel buffers can hold in flight.
      const line = `${JSON.stringify(renderBody('price-drop', 'rachel', 'price-drop', { channels: ['email'] }))}${' '.repeat(64 * 1024)}\n`;
      const total = 1_500;
      let pulled = 0;
      const body = new Readable({
        read() {
          pulled++;
          this.push(pulled <= total ? line : null);
        },
      });
      const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/v1/render/batch', headers: { 'content-type': 'application/x-ndjson' } });
      body.pipe(req);
      const res = await new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
      res.pause();
      // Wait until the upload stalls: the server's writes wait for a drain, and the upload waits
      // for the server to read.
      await vi.waitFor(() => expect(served?.writableNeedDrain && req.writableNeedDrain).toBe(true), { timeout: 20_000, interval: 20 });
      expect(pulled).toBeLessThan(total / 2);
      let count = 0;
      let tail = '';
      res.on('data', (chunk: Buffer) => {
        const text = tail + chunk.toString();
        const parts = text.split('\n');
        tail = parts.pop()!;
        count += parts.length;
      });
      res.resume();
      await new Promise((r) => res.once('end', r));
      expect(count).toBe(total);
    } finally {
      server.close();
    }
  });
});

describe('POST /v1/render/batch with a small BATCH_BODY_LIMIT', () => {
  let small: TestApp;
  beforeAll(async () => {
    small = await openTestApp({ env: { BATCH_BODY_LIMIT: '20kb' } });
  });
  afterAll(async () => {
    await small.close();
    removeDir(small.dataDir);
  });

  it('413 up front when Content-Length says the body is too large', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => cheapLine(i + 1));
    const res = await request(small.app).post('/v1/render/batch').set('content-type', 'application/x-ndjson').send(ndjson(lines));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('counts streamed bytes and ends with a payload_too_large line', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => cheapLine(i + 1));
    const server = small.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as AddressInfo;
      // Written piece by piece without Content-Length (chunked): only counting can enforce the limit.
      const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/v1/render/batch', headers: { 'content-type': 'application/x-ndjson' } });
      Readable.from(lines.map((l) => `${l}\n`)).pipe(req);
      const res = await new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
      let text = '';
      for await (const chunk of res) text += String(chunk);
      expect(res.statusCode).toBe(200);
      const out = parseLines(text);
      const last = out.at(-1)!;
      expect(last.ok).toBe(false);
      expect(!last.ok && last.error.code).toBe('payload_too_large');
      const rendered = out.slice(0, -1);
      expect(rendered.length).toBeGreaterThan(0);
      expect(rendered.length).toBeLessThan(40);
      expect(rendered.every((l, i) => l.ok && l.line === i + 1)).toBe(true);
      expect(last.line).toBe(rendered.length + 1);
    } finally {
      server.close();
    }
  });
});
