import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.ts';
import { createLogger } from '../../src/http/logger.ts';
import { startService } from '../../src/http/start-service.ts';
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
      await new Promise((r) => setTimeout(r, 100));
      expect(closed).toBe(false);
      await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();

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
