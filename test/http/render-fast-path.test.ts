import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFastPath } from '../../src/http/render-fast-path.ts';
import { memoryLog, rawExchange, renderBody, useTestApp, type RawResponse, type TestApp } from './helpers.ts';

const KEY = 'fast-path-key-0123456789';
let t: TestApp;
const log = memoryLog();
useTestApp({ env: { API_KEYS: KEY, JSON_BODY_LIMIT: '64kb' }, logger: log.logger }, (app) => (t = app));

const auth = { authorization: `Bearer ${KEY}` };
const json = { 'content-type': 'application/json', ...auth };
const body = JSON.stringify(renderBody('recommendations', 'ayse', 'picks-8', { context: { now: '2026-11-22T10:00:00Z', messageId: 'fast-1' } }));

let exchanges = 0;

/**
 * The same request through the fast path (`/v1/render`) and through the Express route
 * (`?format=json`), with the log lines each wrote (request id, duration, URL and the test
 * server's port left out: `rawExchange` listens anew for each request).
 */
async function bothWays(o: { headers?: Record<string, string>; body?: string | Buffer }): Promise<[RawResponse, RawResponse, unknown[], unknown[]]> {
  const ids = [`fast-${++exchanges}`, `routed-${exchanges}`];
  const [fast, routed] = await Promise.all([
    rawExchange(t.app, { path: '/v1/render', headers: { ...o.headers, 'x-request-id': ids[0]! }, body: o.body }),
    rawExchange(t.app, { path: '/v1/render?format=json', headers: { ...o.headers, 'x-request-id': ids[1]! }, body: o.body }),
  ]);
  const linesOf = (id: string) =>
    log.lines
      .filter((l) => l.reqId === id)
      .map(({ reqId: _reqId, ms: _ms, time: _time, req, ...rest }) => {
        const { id: _id, url: _url, remotePort: _port, headers, ...request } = req as Record<string, unknown> & { headers: object };
        return { ...rest, req: { ...request, headers: { ...headers, host: undefined } } };
      });
  return [fast, routed, linesOf(ids[0]!), linesOf(ids[1]!)];
}

// The AMP and unsubscribe tokens' expiry counts from the signing second, which two renders may
// straddle (`=` is `&#x3D;` inside HTML attributes).
const withoutTokens = (b: Buffer) => b.toString('utf8').replace(/token(=|&#x3D;)[\w.%-]+/g, 'token=…').replace(/\/u\/[\w.-]+/g, '/u/…');

describe('POST /v1/render before Express', () => {
  it('answers exactly as the Express route does: status, headers, bytes', async () => {
    for (const headers of [json, { ...json, 'accept-encoding': 'gzip' }] as Record<string, string>[]) {
      const [fast, routed, fastLog, routedLog] = await bothWays({ headers, body });
      expect(fastLog).toEqual(routedLog);
      expect(fast.status).toBe(200);
      expect(routed.status).toBe(200);
      for (const h of ['content-type', 'content-encoding', 'vary']) expect(fast.headers[h]).toBe(routed.headers[h]);
      expect(fast.headers['x-request-id']).toMatch(/^fast-\d+$/);
      if (headers['accept-encoding']) continue; // gzip bytes differ where the tokens differ
      expect(withoutTokens(fast.body)).toContain('token=…');
      expect(withoutTokens(fast.body)).toBe(withoutTokens(routed.body));
      expect(Number(fast.headers['content-length'])).toBe(fast.body.length);
    }
  });

  it('fails exactly as the Express route does', async () => {
    const cases: { name: string; status: number; code: string; headers?: Record<string, string>; body?: string | Buffer }[] = [
      { name: 'no key', status: 401, code: 'unauthorized', headers: { 'content-type': 'application/json' }, body },
      { name: 'wrong key', status: 401, code: 'unauthorized', headers: { 'content-type': 'application/json', authorization: 'Bearer nope' }, body },
      { name: 'not JSON', status: 415, code: 'unsupported_media_type', headers: { ...auth, 'content-type': 'text/plain' }, body },
      { name: 'latin-1', status: 415, code: 'unsupported_media_type', headers: { ...auth, 'content-type': 'application/json; charset=iso-8859-1' }, body },
      { name: 'compress', status: 415, code: 'unsupported_media_type', headers: { ...json, 'content-encoding': 'compress' }, body },
      { name: 'malformed', status: 400, code: 'invalid_json', headers: json, body: '{"template": "recommendations",' },
      { name: 'a bare string', status: 400, code: 'invalid_json', headers: json, body: '"recommendations"' },
      { name: 'empty', status: 400, code: 'invalid_request', headers: json, body: '' },
      { name: 'over the limit', status: 413, code: 'payload_too_large', headers: json, body: JSON.stringify({ template: 'x'.repeat(70 * 1024) }) },
      { name: 'over the limit once gunzipped', status: 413, code: 'payload_too_large', headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify({ template: 'x'.repeat(70 * 1024) })) },
      { name: 'corrupt gzip', status: 400, code: 'invalid_body', headers: { ...json, 'content-encoding': 'gzip' }, body: Buffer.from('not gzip at all') },
      { name: 'unknown template', status: 404, code: 'unknown_template', headers: json, body: JSON.stringify(renderBody('nope', 'ayse', 'picks-8')) },
    ];
    for (const c of cases) {
      const [fast, routed, fastLog, routedLog] = await bothWays(c);
      expect(fastLog).toHaveLength(1);
      expect({ case: c.name, log: fastLog }).toEqual({ case: c.name, log: routedLog });
      const problem = { case: c.name, fast: fast.body.toString(), routed: routed.body.toString() };
      expect({ ...problem, status: fast.status }).toEqual({ ...problem, status: c.status });
      expect(routed.status).toBe(c.status);
      expect(JSON.parse(fast.body.toString()).error.code).toBe(c.code);
      expect(fast.body.toString()).toBe(routed.body.toString());
      expect(fast.headers['www-authenticate']).toBe(routed.headers['www-authenticate']);
      expect(fast.headers['content-type']).toBe('application/json; charset=utf-8');
    }
  });

  it('reads a body that starts with a byte order mark', async () => {
    const res = await rawExchange(t.app, { path: '/v1/render', headers: json, body: `\uFEFF${body}` });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).id).toBe('fast-1');
  });

  it('reads gzip-, deflate- and br-encoded bodies', async () => {
    for (const [encoding, encoded] of [
      ['gzip', gzipSync(body)],
      ['deflate', deflateSync(body)],
      ['br', brotliCompressSync(body)],
    ] as const) {
      const res = await rawExchange(t.app, { path: '/v1/render', headers: { ...json, 'content-encoding': encoding }, body: encoded });
      expect({ encoding, status: res.status }).toEqual({ encoding, status: 200 });
      expect(JSON.parse(res.body.toString()).id).toBe('fast-1');
    }
  });
});

describe('renderFastPath', () => {
  let url: string;
  let server: ReturnType<typeof createServer>;
  beforeAll(async () => {
    const fast = renderFastPath((req, res) => {
      req.resume();
      res.end();
    });
    // Whatever the fast path leaves goes to Express in the service; here it is a 599.
    server = createServer((req, res) => {
      if (fast(req, res)) return;
      req.resume();
      res.statusCode = 599;
      res.end();
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const send = async (method: string, path: string): Promise<number> => {
    const req = httpRequest(`${url}${path}`, { method, headers: { 'content-type': 'application/json' } });
    req.end(method === 'POST' ? body : undefined);
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.resume();
    return res.statusCode!;
  };

  it('takes POST /v1/render and leaves every other request to Express', async () => {
    expect(await send('POST', '/v1/render')).toBe(200);
    expect(await send('POST', '/v1/render?format=eml')).toBe(599);
    expect(await send('POST', '/v1/render/batch')).toBe(599);
    expect(await send('GET', '/v1/render')).toBe(599);
    expect(await send('POST', '/v1/renderx')).toBe(599);
  });
});
