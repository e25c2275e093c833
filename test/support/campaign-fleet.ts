import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Queue } from 'bullmq';
import { CHUNK_QUEUE } from '../../src/campaigns/bullmq-runner.ts';
import { createCampaigns, type Campaigns } from '../../src/campaigns/campaign-service.ts';
import { loadConfig, PROJECT_ROOT, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/http/logger.ts';
import { storeRender } from '../../src/render-service/render-service.ts';
import { openStore, type ProductInput, type Store } from '../../src/store/index.ts';
import { loadTemplateSet } from '../../src/templates/template-registry.ts';
import { dropPgSchema, PG_URL } from '../store/backends.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';

export const REDIS_URL = process.env.INBOXCART_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** What a worker child inherits (as test/crash/service-process.ts): basics and faketime's clock shift. */
const INHERITED = /^(PATH|HOME|TMPDIR|TZ|LANG|LC_\w+|LD_PRELOAD|DYLD_\w+|FAKETIME\w*)$/;

export interface WorkerProcess {
  pid: number;
  /** Resolves once the worker has loaded its templates and takes jobs. */
  ready: Promise<void>;
  /** Chunks this worker reported finished. */
  chunks(): number;
  /** Resolves after the worker reported `n` finished chunks in all. */
  chunksDone(n: number): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
  stderr(): string;
}

/**
 * Campaign workers as real processes (`npm run worker`) on BullMQ and one PostgreSQL schema,
 * with a real SMTP sink: what the SIGKILL test and `npm run bench:campaign` run. The customers
 * are in the `coast` segment, which does not depend on the date, and quiet hours and the
 * frequency cap are off, so neither the time of day nor an earlier run changes who is sent to.
 */
export interface CampaignFleet {
  store: Store;
  campaigns: Campaigns;
  sink: SmtpSink;
  config: Config;
  seedCustomers(count: number): Promise<void>;
  startWorker(env?: Record<string, string>): WorkerProcess;
  /** Resolves once the campaign is completed, looking after every chunk a worker reports. */
  completed(id: string): Promise<void>;
  close(): Promise<void>;
}

export async function openCampaignFleet(o: { chunkSize?: number; sendConcurrency?: number; concurrency?: number; leaseSeconds?: number } = {}): Promise<CampaignFleet> {
  const schema = `t_fleet_${randomBytes(5).toString('hex')}`;
  const prefix = `t-fleet-${randomBytes(5).toString('hex')}`;
  const sink = await startSmtpSink({ parse: false });
  const env: Record<string, string> = {
    DATABASE_URL: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    REDIS_URL,
    CAMPAIGN_QUEUE_PREFIX: prefix,
    SMTP_URL: sink.url,
    CAMPAIGN_CHUNK_SIZE: String(o.chunkSize ?? 500),
    CAMPAIGN_SEND_CONCURRENCY: String(o.sendConcurrency ?? 8),
    CAMPAIGN_CONCURRENCY: String(o.concurrency ?? 2),
    CAMPAIGN_LEASE_SECONDS: String(o.leaseSeconds ?? 5),
    QUIET_HOURS: 'off',
    FREQUENCY_CAP: 'off',
    // The workers' trigger tick would win back the at-risk audience on its own.
    TRIGGERS: 'off',
    TOKEN_SECRETS: 'fleet:0123456789abcdef0123456789abcdef',
    PUBLIC_BASE_URL: 'https://mail.example.com',
    LOG_LEVEL: 'info',
    BATCH_THREADS: '0',
  };
  const config = loadConfig({ ...env, DATA_DIR: join(PROJECT_ROOT, '.cache', 'fleet') });
  const store = await openStore({ databaseUrl: PG_URL, pgSchema: schema });
  await store.products.upsertMany(JSON.parse(readFileSync(join(PROJECT_ROOT, 'fixtures', 'catalog.json'), 'utf8')) as ProductInput[]);
  const templates = await loadTemplateSet({ root: config.templatesDir, cacheDir: config.templateCacheDir });
  const { render } = await storeRender({ config, templates, store, warn: () => {} });
  // This process creates campaigns and reads progress; only the children run chunks.
  const campaigns = createCampaigns({ config, store, templates, render, logger: createLogger({ level: 'silent' }) });
  const workers: WorkerProcess[] = [];

  function startWorker(extra: Record<string, string> = {}): WorkerProcess {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => INHERITED.test(k) && v !== undefined)) as Record<string, string>;
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/worker.ts')], {
      cwd: PROJECT_ROOT,
      env: { ...inherited, ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000)));
    let done = 0;
    const waiters: { n: number; resolve: () => void }[] = [];
    const exited = once(child, 'exit');
    let started!: () => void;
    const ready = new Promise<void>((resolve) => (started = resolve));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('campaign worker started')) started();
      if (!line.includes('campaign chunk finished')) return;
      done++;
      for (const w of waiters.filter((w) => done >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      for (const l of listeners) l();
    });
    const worker: WorkerProcess = {
      pid: child.pid!,
      ready,
      chunks: () => done,
      chunksDone: (n) => (done >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
      async kill() {
        child.kill('SIGKILL');
        await exited;
      },
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
      },
      stderr: () => stderr,
    };
    workers.push(worker);
    return worker;
  }

  const listeners = new Set<() => void>();

  return {
    store,
    campaigns,
    sink,
    config,
    async seedCustomers(count) {
      const now = new Date().toISOString();
      const rows = Array.from({ length: count }, (_, i) => {
        const id = `f-${String(i).padStart(7, '0')}`;
        const profile = { id, firstName: `F${i}`, locale: 'en', currency: 'EUR', consent: { email: true, whatsapp: false, sms: false }, location: { region: 'coast' } };
        return { id, email: `${id}@example.com`, phone: null, locale: 'en', currency: 'EUR', timezone: 'Europe/London', profile: JSON.stringify(profile), address: null, payment_method: null, last_inbound_at: null, created_at: now, updated_at: now };
      });
      for (let i = 0; i < rows.length; i += 2000) await store.db.insertInto('customers').values(rows.slice(i, i + 2000)).execute();
    },
    startWorker,
    completed(id) {
      return new Promise((resolve, reject) => {
        let settled = false;
        const check = () => {
          campaigns.progress(id).then((p) => {
            if (settled || p?.status !== 'completed') return;
            settled = true;
            listeners.delete(check);
            resolve();
          }, reject);
        };
        listeners.add(check);
        check();
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      await campaigns.close();
      const queue = new Queue(CHUNK_QUEUE, { connection: { url: REDIS_URL }, prefix });
      await queue.obliterate({ force: true });
      await queue.close();
      await store.close();
      await sink.close();
      await dropPgSchema(schema);
    },
  };
}
