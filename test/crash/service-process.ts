import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest, Agent } from 'node:http';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config.ts';
import { PG_URL } from '../store/backends.ts';

/**
 * `npm start` as a child process (node + tsx, src/main.ts), so a test can SIGKILL the service
 * in the middle of its work and start it again on the same database, the way a crashed
 * container is restarted. Requests go over real sockets; each start gets its own HTTP agent, so
 * no connection of the killed process is reused.
 */
export interface ServiceProcess {
  /** http://127.0.0.1:PORT */
  url: string;
  /** POSTs `body` (already encoded) and resolves with the answer; rejects when none came (the process died). */
  post(path: string, headers: Record<string, string>, body: string): Promise<HttpAnswer>;
  /** SIGKILL: no shutdown hook runs, in-flight requests are cut. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM: the graceful stop (in-flight requests and queued replies finish). Resolves with the exit code. */
  stop(): Promise<number | null>;
  /** What the process wrote to stderr (for failure messages). */
  stderr(): string;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * What the child inherits from the test's environment: the basics, and the clock shift of
 * faketime (LD_PRELOAD / FAKETIME*), so the service and the test agree on "now". Everything
 * else (a developer's DATABASE_URL, TWILIO_*, API_KEYS…) stays out: the test sets the config.
 */
const INHERITED = /^(PATH|HOME|TMPDIR|TZ|LANG|LC_\w+|LD_PRELOAD|DYLD_\w+|FAKETIME\w*)$/;

/** Starts the service and resolves once GET /readyz answers 200 (or rejects if it exits first). */
export async function startServiceProcess(env: Record<string, string>, port: number, readyWithinMs = 30_000): Promise<ServiceProcess> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => INHERITED.test(k) && v !== undefined)) as Record<string, string>;
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/main.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...inherited, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    // The last few kB are enough to tell why it stopped.
    stderr = (stderr + chunk.toString()).slice(-8_000);
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const url = `http://127.0.0.1:${port}`;
  const agent = new Agent({ keepAlive: true });

  await waitUntilReady(url, child, exited, readyWithinMs, () => stderr);
  return {
    url,
    post: (path, headers, body) => post(agent, url, path, headers, body),
    async kill() {
      child.kill('SIGKILL');
      await exited;
      agent.destroy();
    },
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      agent.destroy();
      return code;
    },
    stderr: () => stderr,
  };
}

/**
 * Polls /readyz until it answers 200: the listening socket appears some time after spawn and
 * nothing else announces it at LOG_LEVEL=warn. Bounded, and given up as soon as the child exits.
 */
async function waitUntilReady(url: string, child: ChildProcess, exited: Promise<number | null>, withinMs: number, stderr: () => string): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  const deadline = performance.now() + withinMs;
  const agent = new Agent({ keepAlive: false });
  try {
    while (performance.now() < deadline) {
      if (gone !== undefined) throw new Error(`the service exited with ${gone} before it was ready:\n${stderr()}`);
      const status = await new Promise<number>((resolve) => {
        const req = httpRequest(`${url}/readyz`, { agent, timeout: 1_000 }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
        req.on('timeout', () => req.destroy());
        req.end();
      });
      if (status === 200) return;
      // Not listening yet: the next connection attempt after the child's next tick.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGKILL');
    throw new Error(`the service was not ready within ${withinMs} ms:\n${stderr()}`);
  } finally {
    agent.destroy();
  }
}

function post(agent: Agent, url: string, path: string, headers: Record<string, string>, body: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      // A body cut off by the kill is no answer: the client saw a broken response.
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
      res.on('end', () => (res.complete ? resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }) : reject(new Error('response incomplete'))));
    });
    req.on('error', reject);
    req.end(body);
  });
}


/** DATABASE_URL for the child: its own schema through the connection's search_path (libpq `options`). */
export function pgUrlWithSchema(schema: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/**
 * The environment of a crash test's service: its own SQLite file (in `dataDir`) or PostgreSQL
 * schema, its Twilio calls sent to the test's fake Twilio, quiet logs, no batch threads or
 * preview; `extra` adds the test's own settings.
 */
export function serviceEnv(o: { dataDir: string; pgSchema?: string; tokenSecrets: string; publicBaseUrl: string; ampSender: string; fake: { accountSid: string; authToken: string; port: number }; whatsappFrom: string }, extra: Record<string, string>): Record<string, string> {
  return {
    DATA_DIR: o.dataDir,
    ...(o.pgSchema ? { DATABASE_URL: pgUrlWithSchema(o.pgSchema) } : {}),
    TOKEN_SECRETS: o.tokenSecrets,
    PUBLIC_BASE_URL: o.publicBaseUrl,
    AMP_ALLOWED_SENDERS: o.ampSender,
    TWILIO_ACCOUNT_SID: o.fake.accountSid,
    TWILIO_AUTH_TOKEN: o.fake.authToken,
    TWILIO_WHATSAPP_FROM: o.whatsappFrom,
    TWILIO_API_BASE_URL: `http://127.0.0.1:${o.fake.port}`,
    LOG_LEVEL: 'warn',
    BATCH_THREADS: '0',
    PREVIEW: 'off',
    ...extra,
  };
}
