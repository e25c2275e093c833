import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it, vi } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.ts';
import { createLogger } from '../../src/http/logger.ts';
import { startService } from '../../src/http/start-service.ts';
import { freePort } from '../support/free-port.ts';
import { catalogFixture, removeDir, renderBody, testConfig, TOKEN_SECRETS } from './helpers.ts';

const line = (i: number) => `${JSON.stringify(renderBody('abandoned-cart', 'carl-cart', undefined, { channels: ['whatsapp'], context: { now: '2026-11-22T10:00:00Z', messageId: `m-${i}` } }))}\n`;

describe('startService', () => {
  it('seeds an empty catalog, serves, and on close finishes the in-flight request before closing the database', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-service-'));
    const service = await startService(testConfig(dataDir, { PORT: '0', HOST: '127.0.0.1' }), createLogger({ level: 'silent' }));
    try {
      expect((await service.store.products.list()).length).toBe(catalogFixture().length);
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);

      // A batch in flight: line 1 answered, body still open.
      const { port } = new URL(service.url);
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/render/batch', headers: { 'content-type': 'application/x-ndjson' } });
      req.write(line(1));
      const res = await new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
      let text = '';
      const first = new Promise((resolve) => res.once('data', resolve));
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      await first;

      let closed = false;
      const closing = service.close().then(() => (closed = true));
      // The listener is closed (a new connection is refused), yet the close waits for the batch.
      await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
      expect(closed).toBe(false);

      const ended = new Promise((r) => res.once('end', r));
      req.end(line(2));
      await ended;
      await closing;
      expect(text.trim().split('\n').map((l) => JSON.parse(l).line)).toEqual([1, 2]);
      expect(await service.store.ping()).toBe(false);
    } finally {
      await service.close();
      removeDir(dataDir);
    }
  });
});

function runMain(env: Record<string, string>) {
  return spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/main.ts')], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const exitCode = (child: ReturnType<typeof runMain>) => new Promise<number | null>((resolve) => child.once('exit', resolve));

describe('npm start (src/main.ts)', () => {
  it('prints each configuration problem and exits 1', async () => {
    const child = runMain({ PORT: 'eighty', DATABASE_URL: 'mysql://db', DATA_DIR: tmpdir() });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exitCode(child)).toBe(1);
    expect(stderr).toContain('configuration is invalid');
    expect(stderr).toMatch(/^ {2}- PORT: /m);
    expect(stderr).toMatch(/^ {2}- DATABASE_URL: DATABASE_URL must be a postgres:\/\/ URL$/m);
  });

  it('logs the open-API notice, serves, and exits 0 on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-main-'));
    const child = runMain({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, TOKEN_SECRETS, LOG_LEVEL: 'info' });
    try {
      const logs: { msg: string; url?: string }[] = [];
      const url = await new Promise<string>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`main exited with ${code} before listening`)));
        createInterface({ input: child.stdout }).on('line', (l) => {
          const entry = JSON.parse(l) as { msg: string; url?: string };
          logs.push(entry);
          if (entry.msg === 'inboxcart listening') resolve(entry.url!);
        });
      });
      expect(logs.some((l) => l.msg.includes('the /v1 API is open'))).toBe(true);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const exited = exitCode(child);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(logs.map((l) => l.msg)).toContain('stopped');
    } finally {
      child.kill('SIGKILL');
      removeDir(dataDir);
    }
  });
});

describe('npm start with WORKERS=2 (cluster mode)', () => {
  it('seeds once, serves from two workers on one port, replaces a crashed worker, and stops all on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-cluster-'));
    const port = await freePort();
    const child = runMain({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, TOKEN_SECRETS, LOG_LEVEL: 'info', WORKERS: '2' });
    try {
      const logs: { msg: string; pid: number; url?: string }[] = [];
      const waiters: { test: (l: (typeof logs)[number]) => boolean; resolve: () => void }[] = [];
      createInterface({ input: child.stdout }).on('line', (l) => {
        const entry = JSON.parse(l) as (typeof logs)[number];
        logs.push(entry);
        for (const w of waiters.filter((w) => w.test(entry))) w.resolve();
      });
      const logged = (test: (l: (typeof logs)[number]) => boolean) =>
        new Promise<void>((resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`main exited with ${code}; logs: ${logs.map((l) => l.msg).join(' | ')}`)));
          waiters.push({ test, resolve });
        });

      await logged((l) => l.msg === 'inboxcart listening with 2 workers');
      const primary = child.pid!;
      expect(logs.find((l) => l.msg === 'inboxcart listening with 2 workers')?.url).toBe(`http://127.0.0.1:${port}`);
      // Migrated and seeded once, by the primary.
      expect(logs.filter((l) => l.msg === 'empty catalog seeded with the sample products').map((l) => l.pid)).toEqual([primary]);

      // New connections are dealt round-robin: both workers answer.
      const served = async () => {
        for (let i = 0; i < 6; i++) {
          const res = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: 'close' } });
          expect(res.status).toBe(200);
        }
        // The workers write their access-log lines after the responses: wait for all six.
        await vi.waitFor(() => expect(logs.filter((l) => l.msg === 'request completed').length).toBeGreaterThanOrEqual(6), { timeout: 10_000 });
        return new Set(logs.filter((l) => l.msg === 'request completed').map((l) => l.pid));
      };
      const workers = [...(await served())];
      expect(workers).toHaveLength(2);
      expect(workers).not.toContain(primary);

      const replaced = logged((l) => l.msg === 'inboxcart listening' && !workers.includes(l.pid));
      process.kill(workers[0]!, 'SIGKILL');
      await replaced;
      expect(logs.map((l) => l.msg)).toContain('a worker exited unexpectedly; starting a replacement');
      logs.length = 0;
      const after = [...(await served())];
      expect(after).toHaveLength(2);
      expect(after).not.toContain(workers[0]);

      const exited = exitCode(child);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const stopped = logs.filter((l) => l.msg === 'stopped').map((l) => l.pid);
      expect(stopped).toHaveLength(3);
      expect(stopped.at(-1)).toBe(primary);
    } finally {
      child.kill('SIGKILL');
      removeDir(dataDir);
    }
    // Three processes start tsx and load the templates; beside the rest of the suite that takes a while.
  }, 120_000);
});
