import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { dropPgSchema, PG_URL } from '../store/backends.ts';
import { expect } from 'vitest';
import { compactAmpClaims, type AmpTokenRequest } from '../../src/commerce/amp-claims.ts';
import { seedFixtureCustomers } from '../../src/shop/seed-customers.ts';
import { signToken, type SigningKey } from '../../src/commerce/signed-token.ts';
import { FIXTURES, openTestApp, removeDir, renderBody, type TestApp } from '../http/helpers.ts';
import { testClock } from '../support/test-clock.ts';

export { PG_URL } from '../store/backends.ts';

/** The sender the test service allows exactly, and a domain it allows with `*@`. */
export const SENDER = 'offers@nordlys.example';
export const DOMAIN_SENDER = 'news@mail.nordlys.example';
export const AMP_ENV = { AMP_ALLOWED_SENDERS: `${SENDER},*@mail.nordlys.example` };

export type Backend = 'sqlite' | 'postgres';

export interface AmpApp extends TestApp {
  server: Server;
  /** Closes the listener and the store, and removes the database. */
  destroy(): Promise<void>;
}

/**
 * A service on a real listening socket (concurrent requests share it, as they would behind a
 * load balancer), seeded with the sample catalog and customers, on SQLite or in a PostgreSQL
 * schema of its own.
 */
export async function openAmpApp(backend: Backend): Promise<AmpApp> {
  const pgSchema = backend === 'postgres' ? `t_amp_${randomBytes(6).toString('hex')}` : undefined;
  const t = await openTestApp({ env: AMP_ENV, ...(pgSchema ? { store: { databaseUrl: PG_URL, pgSchema } } : {}) });
  await seedFixtureCustomers(t.store, FIXTURES);
  const server = t.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    ...t,
    server,
    async destroy() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
      removeDir(t.dataDir);
      if (pgSchema) await dropPgSchema(pgSchema);
    },
  };
}

/** Renders a fixture profile through POST /v1/render and returns the AMP part and message id. */
export async function renderAmp(
  t: AmpApp,
  template: string,
  profileName: string,
  recommendations: string | undefined,
  extra: Record<string, unknown> = {},
): Promise<{ amp: string; id: string }> {
  const res = await request(t.server)
    .post('/v1/render')
    .send(renderBody(template, profileName, recommendations, { channels: ['email'], ...extra }));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { amp: res.body.email.amp as string, id: res.body.id as string };
}

/** Attribute values as the mail client reads them: Handlebars escapes `=` as `&#x3D;` and `&` as `&amp;`. */
export function decodeEntities(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Every amp-list src and form action-xhr of the document, decoded, in document order. */
export function ampUrls(amp: string): { lists: string[]; forms: string[] } {
  const lists = [...amp.matchAll(/<amp-list\b[^>]*\ssrc="([^"]*)"/g)].map((m) => decodeEntities(m[1]!));
  const forms = [...amp.matchAll(/<form\b[^>]*\saction-xhr="([^"]*)"/g)].map((m) => decodeEntities(m[1]!));
  return { lists, forms };
}

/** The hidden and visible inputs of the form whose action-xhr is the n-th form in the document. */
export function formFields(amp: string, n: number): Record<string, string> {
  const forms = [...amp.matchAll(/<form\b[\s\S]*?<\/form>/g)].map((m) => m[0]);
  const form = forms[n];
  if (!form) throw new Error(`no form #${n}`);
  const fields: Record<string, string> = {};
  for (const m of form.replace(/<template[\s\S]*?<\/template>/g, '').matchAll(/<input\b[^>]*\sname="([^"]*)"[^>]*\svalue="([^"]*)"/g)) {
    fields[decodeEntities(m[1]!)] = decodeEntities(m[2]!);
  }
  return fields;
}

/** The path and query a mail client's proxy would request for an absolute endpoint URL. */
export function pathOf(url: string): string {
  const u = new URL(url);
  expect(u.origin).toBe('https://mail.example.com');
  return `${u.pathname}${u.search}`;
}

/** CORS v2 (Gmail today): the sender in a header. */
export const v2 = { 'AMP-Email-Sender': SENDER };

/** CORS v1: the viewer's origin, and the sender in the query. */
export function v1(path: string, sender = SENDER, origin = 'https://mail.google.com'): { path: string; headers: Record<string, string> } {
  return { path: `${path}&__amp_source_origin=${encodeURIComponent(sender)}`, headers: { Origin: origin } };
}

/** Yahoo and AOL: v1 with Origin null and their own origin instead of the sender (wg-amp4email#24). */
export function yahoo(path: string): { path: string; headers: Record<string, string> } {
  return v1(path, 'https://mail.yahoo.com', 'null');
}

/** A token for a message that was never rendered (for races and key tests), expiring on the test clock. */
export function mintToken(keys: readonly SigningKey[], claims: AmpTokenRequest, expiresInSeconds = 3600): string {
  return signToken({ ...compactAmpClaims(claims), exp: Math.floor(testClock.now().getTime() / 1000) + expiresInSeconds }, keys);
}

/** Every AMP answer: JSON, never cached. */
export function expectAmpAnswer(res: request.Response): void {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  // Gmail fails XHRs answered with a redirect (GmailDev security requirements).
  expect(res.status >= 300 && res.status < 400, `status ${res.status}`).toBe(false);
  expect(res.headers.location).toBeUndefined();
}
