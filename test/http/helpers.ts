import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import { afterAll, beforeAll } from 'vitest';
import { seedFixtureCatalog } from '../../src/shop/seed-catalog.ts';
import { loadConfig, PROJECT_ROOT, type Config } from '../../src/config.ts';
import type { WebhookDispatcher } from '../../src/channels/webhooks/webhook-dispatcher.ts';
import { createApp, type AppDeps } from '../../src/http/create-app.ts';
import type { BatchRenderPool } from '../../src/http/batch/render-pool.ts';
import { createLogger, type Logger } from '../../src/http/logger.ts';
import { openStore, type OpenStoreOptions, type ProductInput, type Store } from '../../src/store/index.ts';
import { loadTemplateSet, type TemplateSet } from '../../src/templates/template-registry.ts';
import { NOW as FIXED_NOW, testClock } from '../support/test-clock.ts';

/** The test date (support/test-clock.ts): renders and the app's clock both use it. */
export { NOW as FIXED_NOW } from '../support/test-clock.ts';
export const FIXTURES = join(PROJECT_ROOT, 'fixtures');

export const fixture = <T = Record<string, unknown>>(path: string): T => JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')) as T;
export const profile = (name: string) => fixture(`profiles/${name}.json`);
export const picks = (name: string) => fixture(`recommendations/${name}.json`);
export const catalogFixture = () => fixture<ProductInput[]>('catalog.json');

/** A render request body for a fixture profile, on the fixed test clock. */
export function renderBody(template: string, profileName: string, recommendations: string | undefined, extra: Record<string, unknown> = {}) {
  return {
    template,
    profile: profile(profileName),
    ...(recommendations ? { recommendations: picks(recommendations) } : {}),
    context: { now: FIXED_NOW },
    ...extra,
  };
}

let templatesOnce: Promise<TemplateSet> | undefined;
/** Compiled once per test file (each file runs in its own fork). */
export function testTemplates(): Promise<TemplateSet> {
  templatesOnce ??= loadTemplateSet({ root: join(PROJECT_ROOT, 'templates'), cacheDir: join(PROJECT_ROOT, '.cache', 'templates') });
  return templatesOnce;
}

export const TOKEN_SECRETS = 'test:0123456789abcdef0123456789abcdef';

export function testConfig(dataDir: string, env: Record<string, string> = {}): Config {
  return loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', TOKEN_SECRETS, PUBLIC_BASE_URL: 'https://mail.example.com', ...env });
}

export interface TestApp {
  app: Express;
  store: Store;
  config: Config;
  templates: TemplateSet;
  dataDir: string;
  /** Stops the batch render threads and closes the store. */
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Reuse a data dir (restart tests); a fresh temp dir otherwise. */
  dataDir?: string;
  store?: OpenStoreOptions;
  /** Load fixtures/catalog.json, with its price history, into an empty store (as the service does). Default true. */
  seed?: boolean;
  templates?: TemplateSet;
  logger?: Logger;
  webhookTimers?: AppDeps['webhookTimers'];
  /** The store's and app's clock; the shared test clock (moving with real time) by default. */
  now?: () => Date;
}

/** An app on its own SQLite file (or the given store options), seeded with the sample catalog. */
export async function openTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'inboxcart-http-'));
  const config = testConfig(dataDir, options.env);
  // The store's clock is the app's clock too (create-app.ts): both run on the test date.
  const store = await openStore({ now: options.now ?? testClock.now, webhookUrls: config.webhooks.urls, ...(options.store ?? { dataDir }) });
  if (options.seed !== false) await seedFixtureCatalog(store, FIXTURES);
  const templates = options.templates ?? (await testTemplates());
  const app = await createApp({ config, store, templates, logger: options.logger, webhookTimers: options.webhookTimers });
  const close = async () => {
    const webhooks = app.locals.webhooks as WebhookDispatcher | undefined;
    webhooks?.close();
    await webhooks?.idle();
    await (app.locals.batchPool as BatchRenderPool | undefined)?.close();
    await store.close();
  };
  return { app, store, config, templates, dataDir, close };
}

/**
 * One app for a whole test file: opened before its tests, closed and its data dir removed after.
 * `use` receives the app (test files keep it in a `let`).
 */
export function useTestApp(options: TestAppOptions, use: (app: TestApp) => void): void {
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await openTestApp(options);
    use(app);
  });
  afterAll(async () => {
    if (!app) return;
    await app.close();
    removeDir(app.dataDir);
  });
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body exactly as it came over the wire (not decompressed, unlike supertest's). */
  body: Buffer;
}

/** One request to `app` on a loopback port, returning the raw bytes of the response. */
export async function rawExchange(app: Express, o: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const req = httpRequest({ port, host: '127.0.0.1', method: o.method ?? 'POST', path: o.path, headers: o.headers });
    req.end(o.body);
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return { status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) };
  } finally {
    server.close();
  }
}

/** A pino logger that keeps its lines in memory, parsed, for tests to read. */
export function memoryLog(level = 'info'): { lines: Record<string, unknown>[]; logger: Logger } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: createLogger({ level, destination }) };
}
