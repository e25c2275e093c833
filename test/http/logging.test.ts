import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/create-app.ts';
import { redactUrl } from '../../src/http/logger.ts';
import { maskPhone, maskPhones } from '../../src/shared/mask-phone.ts';
import { memoryLog, openTestApp, removeDir, renderBody, type TestApp } from './helpers.ts';

const KEY = 'logging-test-key-0123456789';

describe('maskPhone', () => {
  it('keeps the country prefix and the last four digits', () => {
    expect(maskPhone('+447700900123')).toBe('+44******0123');
    expect(maskPhone('whatsapp:+46701234567')).toBe('whatsapp:+46*****4567');
    expect(maskPhone('447700900123')).toBe('44******0123');
  });

  it('does not keep the prefix on short numbers, and hides very short ones entirely', () => {
    expect(maskPhone('+3531234')).toBe('+***1234');
    expect(maskPhone('1234')).toBe('****');
  });

  it('masks every number inside a text and leaves other digits alone', () => {
    expect(maskPhones('from whatsapp:+447700900123 to +46701234567, order 12345678')).toBe(
      'from whatsapp:+44******0123 to +46*****4567, order 12345678',
    );
  });
});

describe('redactUrl', () => {
  it('replaces credentials in the query and masks phone numbers', () => {
    expect(redactUrl('/amp/v1/offers?token=k1.abc.def&campaign=spring&From=whatsapp%3A%2B447700900123&api_key=s3cret')).toBe(
      '/amp/v1/offers?token=%5BRedacted%5D&campaign=spring&From=whatsapp%3A%2B44******0123&api_key=%5BRedacted%5D',
    );
  });
});

describe('request logs', () => {
  let t: TestApp;
  let log: ReturnType<typeof memoryLog>;
  beforeAll(async () => {
    log = memoryLog();
    t = await openTestApp({ env: { API_KEYS: KEY }, logger: log.logger });
  });
  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  const completed = (id: string) => log.lines.find((l) => l.reqId === id && l.msg === 'request completed');

  it('echoes the caller request id and logs it with the request; the key never appears', async () => {
    const res = await request(t.app).get('/v1/templates?token=abc123secret').set('authorization', `Bearer ${KEY}`).set('x-request-id', 'campaign-42.batch-7');
    expect(res.headers['x-request-id']).toBe('campaign-42.batch-7');
    const line = completed('campaign-42.batch-7') as { req: { method: string; url: string; headers: Record<string, string> }; res: { statusCode: number }; ms: number };
    expect(line.req.method).toBe('GET');
    expect(line.req.url).toBe('/v1/templates?token=%5BRedacted%5D');
    expect(line.req.headers.authorization).toBe('[Redacted]');
    // Access lines skip the redaction pass: the key must not reach the log by any route.
    expect(JSON.stringify(log.lines)).not.toContain(KEY);
    expect(JSON.stringify(log.lines)).not.toContain('abc123secret');
    expect(line.res.statusCode).toBe(200);
    expect(typeof line.ms).toBe('number');
    const all = JSON.stringify(log.lines);
    expect(all).not.toContain(KEY);
    expect(all).not.toContain('abc123secret');
  });

  it('generates an id when the caller sends none or an unsafe one', async () => {
    const a = await request(t.app).get('/healthz');
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const b = await request(t.app).get('/healthz').set('x-request-id', 'bad id {"level":60}');
    expect(b.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('masks phone numbers and redacts secrets in what the code logs', () => {
    log.logger.info({ to: 'whatsapp:+447700900123', phone: '+46701234567', twilio: { authToken: 'tw-secret-token-123' }, config: { tokenKeys: [{ id: 'k', secret: 'x' }] } }, 'sent to +447700900456');
    const line = log.lines.at(-1)!;
    expect(line).toMatchObject({ to: 'whatsapp:+44******0123', phone: '+46*****4567', twilio: { authToken: '[Redacted]' }, msg: 'sent to +44******0456' });
    expect(JSON.stringify(line)).not.toContain('tw-secret-token-123');
    expect(JSON.stringify(line)).not.toContain('"secret":"x"');
  });

  it('logs server faults with their cause, and answers without internals', async () => {
    const failing = { ...t.store, consents: { ...t.store.consents, optedOutChannels: async () => Promise.reject(new Error('disk I/O error for +447700900123')) } };
    const app = await createApp({ config: t.config, store: failing, templates: t.templates, logger: log.logger });
    const res = await request(app).post('/v1/render').set('authorization', `Bearer ${KEY}`).set('x-request-id', 'fault-1').send(renderBody('price-drop', 'rachel', 'price-drop'));
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('internal_error');
    expect(res.body.error.message).not.toContain('disk');
    const fault = log.lines.find((l) => l.reqId === 'fault-1' && l.msg === 'request failed') as { err: { message: string } };
    expect(fault.err.message).toBe('disk I/O error for +44******0123');
    expect(completed('fault-1')).toMatchObject({ error: 'internal_error', res: { statusCode: 500 } });
  });
});
