import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { Campaigns } from '../../src/campaigns/campaign-service.ts';
import type { EmbeddedRunner } from '../../src/campaigns/embedded-runner.ts';
import type { Triggers } from '../../src/triggers/trigger-service.ts';
import { openTestApp, removeDir, type TestApp } from '../http/helpers.ts';
import { dropPgSchema, PG_URL, type BackendName } from '../store/backends.ts';
import type { ManualClock } from '../support/test-clock.ts';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

export interface TriggerApp extends TestApp {
  triggers: Triggers;
  campaigns: Campaigns;
  /** Waits for the dispatch a write started, then runs every due campaign chunk to the end. */
  settle(): Promise<void>;
  destroy(): Promise<void>;
}

/** An app on the backend's own database (SQLite file or PostgreSQL schema), on `clock`, with no sample catalog. */
export async function openTriggerApp(backend: BackendName, clock: ManualClock, env: Record<string, string> = {}): Promise<TriggerApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-triggers-'));
  const pgSchema = backend === 'postgres' ? `t_trig_${randomBytes(6).toString('hex')}` : undefined;
  const store = pgSchema ? { databaseUrl: PG_URL, pgSchema, now: clock.now } : { dataDir, now: clock.now };
  const t = await openTestApp({ dataDir, store, seed: false, env });
  const triggers = t.app.locals.triggers as Triggers;
  const campaigns = t.app.locals.campaigns as Campaigns;
  return {
    ...t,
    triggers,
    campaigns,
    async settle() {
      await triggers.idle();
      await (campaigns.runner as EmbeddedRunner).drain();
    },
    async destroy() {
      await triggers.close();
      await campaigns.close();
      await t.close();
      removeDir(dataDir);
      if (pgSchema) await dropPgSchema(pgSchema);
    },
  };
}

export function product(sku: string, price: number, sizes: Record<string, number> = { M: 5 }, extra: Record<string, unknown> = {}) {
  return {
    sku,
    title: `Product ${sku}`,
    price,
    currency: 'EUR',
    url: `https://shop.nordlys.example/p/${sku.toLowerCase()}`,
    image: `https://shop.nordlys.example/i/${sku.toLowerCase()}.jpg`,
    sizes: Object.entries(sizes).map(([size, stock]) => ({ size, stock })),
    ...extra,
  };
}

export function customer(id: string, o: { currency?: string; phone?: string; email?: boolean; whatsapp?: boolean; timezone?: string; profile?: Record<string, unknown> } = {}) {
  const currency = o.currency ?? 'EUR';
  return {
    id,
    ...(o.email === false ? {} : { email: `${id}@example.com` }),
    ...(o.phone ? { phone: o.phone } : {}),
    currency,
    timezone: o.timezone ?? 'Europe/London',
    locale: 'en',
    profile: { firstName: `Name ${id}`, locale: 'en', currency, consent: { email: o.email !== false, whatsapp: o.whatsapp ?? false }, ...o.profile },
  };
}

export async function put(t: TestApp, path: string, body: unknown): Promise<request.Response> {
  const res = await request(t.app).put(path).send(body as object);
  if (res.status !== 200) throw new Error(`PUT ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

let seq = 0;
/** An event body with a fresh id. */
export function event(type: string, customerId: string, occurredAt: Date | string, extra: Record<string, unknown> = {}) {
  return { id: `ev-${++seq}-${randomBytes(3).toString('hex')}`, type, customerId, occurredAt: typeof occurredAt === 'string' ? occurredAt : occurredAt.toISOString(), ...extra };
}

export async function postEvents(t: TestApp, events: unknown[]): Promise<void> {
  const res = await request(t.app).post('/v1/events').send(events);
  if (res.status !== 200) throw new Error(`POST /v1/events: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function runs(t: TestApp, name: string) {
  const res = await request(t.app).get(`/v1/triggers/${name}/runs`).expect(200);
  return res.body.runs as { causeKey: string; firedAt: string; cause: Record<string, unknown>; status: string; recipients: number; campaigns: string[]; notified: { customerId: string; phone?: string; channel: string; status: string; reason?: string }[] }[];
}
