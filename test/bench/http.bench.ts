/**
 * npm run bench:http — the HTTP service under load, on loopback.
 *
 * Starts the service as `npm start` would (src/main.ts in its own process, SQLite in a temp
 * DATA_DIR, LOG_LEVEL info with the log in a file there, one API key, WORKERS=--workers), then:
 *  1. render: autocannon POSTs /v1/render (template `recommendations`, profile `sophie`,
 *     `picks-8`, channels email) for --duration seconds over --connections connections, with
 *     `Accept-Encoding: gzip` as campaign systems' HTTP clients send it (undici fetch, axios, Java
 *     HttpClient); then the same without it, printed for comparison (identity, ~100 kB a response);
 *     then the client's ceiling (see below);
 *  2. batch: one POST /v1/render/batch with --lines NDJSON lines cycling through the fixture
 *     profiles, timed from first byte sent to last byte received, after an untimed batch of
 *     --batch-warmup lines (the render threads start cold). The client is batch-client.ts.
 * The clients run in child processes, so the server's processes only serve. The server's CPU
 * time per request (all its processes, from /proc) is printed too: unlike the rates, it holds
 * still when other processes share the machine.
 *
 * Why 16 connections by default: a campaign system's sender keeps a pool of connections busy,
 * and 16 keeps the server saturated without measuring mostly queueing. On the 2-core bench
 * machine autocannon is itself a limit: it decodes every response body into a string
 * (http-parser-js, then `body += chunk`), and a gzip body, being binary, costs it ~0.4 ms per
 * 19 kB response. The bench measures that ceiling in the same run (autocannon against a trivial
 * server replaying one captured response) and prints the render rate as a share of it.
 *
 * Flags: --connections N (default 16), --duration S (default 10), --lines N (default 20000),
 * --batch-warmup N (default 20000), --workers N|auto (default 1; WORKERS of the service),
 * --batch-threads N|auto (default auto; BATCH_THREADS of the service), --batch-encoding gzip|identity
 * (default identity).
 * Last line: {"render_rps":…,"render_p99_ms":…,"batch_recipients_per_sec":…} (render figures with gzip).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../../src/cli/parse-args.ts';
import { runBatchClient, type BatchClientResult } from './batch-client.ts';
import { PROJECT_ROOT } from '../../src/config.ts';

const { flags } = parseArgs(process.argv.slice(2));
const API_KEY = 'bench-key-0123456789abcdef';

if (flags.has('batch-client')) {
  const result = await runBatchClient(String(flags.get('batch-client')), String(flags.get('file')), API_KEY, flags.get('batch-encoding') === 'gzip');
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  await main();
}

async function main(): Promise<void> {
  const connections = Number(flags.get('connections') ?? 16);
  const duration = Number(flags.get('duration') ?? 10);
  const lines = Number(flags.get('lines') ?? 20_000);
  const batchWarmup = Number(flags.get('batch-warmup') ?? 20_000);
  const workers = String(flags.get('workers') ?? '1');
  const batchEncoding = String(flags.get('batch-encoding') ?? 'identity');
  const fixtures = join(PROJECT_ROOT, 'fixtures');
  const readJson = (path: string) => JSON.parse(readFileSync(join(fixtures, path), 'utf8')) as Record<string, unknown>;

  const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-bench-'));
  const batchThreads = String(flags.get('batch-threads') ?? 'auto');
  const service = await startService(dataDir, workers, batchThreads);
  try {
    console.log(`service: WORKERS=${workers} (${service.pids.length} serving process${service.pids.length > 1 ? 'es' : ''}), LOG_LEVEL=info; clients: autocannon with ${connections} connections, ${duration} s`);
    const picks = readJson('recommendations/picks-8.json');
    const renderBody = join(dataDir, 'render.json');
    writeFileSync(renderBody, JSON.stringify({ template: 'recommendations', profile: readJson('profiles/sophie.json'), recommendations: picks, channels: ['email'] }));

    await autocannon(`${service.url}/v1/render`, renderBody, Math.min(connections, 8), 3, true); // warm-up: JIT, caches
    const render = async (gzip: boolean) => {
      // Server CPU per request is reported beside the rates: it does not move when other work
      // shares the machine, the rates do.
      const cpu = service.cpuMs();
      const load = await autocannon(`${service.url}/v1/render`, renderBody, connections, duration, gzip);
      const cpuPer = round2((service.cpuMs() - cpu) / load.requests.total);
      if (load.non2xx || load.errors || load.timeouts) throw new Error(`render load had failures: ${JSON.stringify({ non2xx: load.non2xx, errors: load.errors, timeouts: load.timeouts })}`);
      const rps = Math.round(load.requests.average);
      console.log(
        `render (${gzip ? 'gzip' : 'identity'}): ${rps} req/s, p50 ${load.latency.p50} ms, p99 ${load.latency.p99} ms, ${Math.round(load.throughput.average / load.requests.average / 100) / 10} kB/response, server CPU ${cpuPer} ms/request (${load.requests.total} requests)`,
      );
      return { rps, p99: load.latency.p99 };
    };
    const gzipped = await render(true);
    await render(false);

    // The client's own ceiling, as a baseline in the same run: autocannon against a trivial
    // server in this process that answers every request with one response the service just
    // gave, byte for byte. autocannon decodes each body into a string, and a gzip body costs it
    // far more than text of the same size, so this bounds what any server can show here.
    const ceiling = await replayCeiling(service.url, renderBody, connections, duration);
    console.log(
      `client ceiling (autocannon against a server replaying one captured gzip response): ${ceiling.rps} req/s, p99 ${ceiling.p99} ms; render reached ${Math.round((100 * gzipped.rps) / ceiling.rps)}% of it`,
    );

    const profiles = readdirSync(join(fixtures, 'profiles'))
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => readJson(`profiles/${f}`));
    const batchFile = join(dataDir, 'batch.ndjson');
    const ndjson = Array.from({ length: lines }, (_, i) => {
      const profile = profiles[i % profiles.length]!;
      return JSON.stringify({ template: 'recommendations', profile: { ...profile, id: `${String(profile.id)}-${i}` }, recommendations: picks, channels: ['email'] });
    });
    writeFileSync(batchFile, `${ndjson.join('\n')}\n`);
    const clientArgs = (file: string) => [...process.execArgv, fileURLToPath(import.meta.url), '--batch-client', service.url, '--file', file, '--batch-encoding', batchEncoding];
    // Warm-up, not timed, as for the render route: the batch render threads start cold (their
    // own JIT, templates and cohort cache), and a campaign's batch runs for millions of lines.
    // Measured: after 10,000 warm-up lines (5,000 per thread) the timed batch still used
    // 0.27-0.33 ms of server CPU per line, after 20,000 lines 0.24-0.27 ms.
    const warmupLines = Math.min(batchWarmup, lines);
    if (warmupLines > 0) {
      const warmupFile = join(dataDir, 'batch-warmup.ndjson');
      writeFileSync(warmupFile, `${ndjson.slice(0, warmupLines).join('\n')}\n`);
      await runChild(process.execPath, clientArgs(warmupFile));
    }
    const cpu = service.cpuMs();
    const batch = JSON.parse(await runChild(process.execPath, clientArgs(batchFile))) as BatchClientResult;
    if (batch.status !== 200 || batch.lines !== lines || batch.failed) throw new Error(`batch did not render every line: ${JSON.stringify(batch)}`);
    const batchRate = Math.round(lines / (batch.ms / 1000));
    console.log(
      `batch (${batch.encoding}): ${lines} recipients (${profiles.length} profiles) in ${(batch.ms / 1000).toFixed(1)} s = ${batchRate} recipients/s, server CPU ${round2((service.cpuMs() - cpu) / lines)} ms/recipient (one request, one worker process, BATCH_THREADS=${batchThreads}; ${warmupLines} lines of warm-up before)`,
    );

    console.log(JSON.stringify({ render_rps: gzipped.rps, render_p99_ms: gzipped.p99, batch_recipients_per_sec: batchRate }));
  } finally {
    await service.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** autocannon against a local server that replays one captured gzip /v1/render response. */
async function replayCeiling(serviceUrl: string, bodyFile: string, connections: number, seconds: number): Promise<{ rps: number; p99: number }> {
  const captured = await new Promise<{ headers: Record<string, string>; body: Buffer }>((resolve, reject) => {
    const req = httpRequest(`${serviceUrl}/v1/render`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, 'accept-encoding': 'gzip' },
    });
    req.once('error', reject);
    req.once('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const name of ['content-type', 'content-encoding', 'vary', 'x-request-id']) if (res.headers[name]) headers[name] = String(res.headers[name]);
        resolve({ headers, body: Buffer.concat(chunks) });
      });
    });
    req.end(readFileSync(bodyFile));
  });
  const replay = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      res.writeHead(200, { ...captured.headers, 'content-length': captured.body.length });
      res.end(captured.body);
    });
  }).listen(0, '127.0.0.1');
  await once(replay, 'listening');
  try {
    const load = await autocannon(`http://127.0.0.1:${(replay.address() as AddressInfo).port}/v1/render`, bodyFile, connections, seconds, true);
    return { rps: Math.round(load.requests.average), p99: load.latency.p99 };
  } finally {
    await new Promise((r) => replay.close(r));
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

interface BenchService {
  url: string;
  /** The processes that serve: the one process, or the cluster's workers. */
  pids: number[];
  /** CPU time (user + system) used so far by the service's processes, primary included. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Starts src/main.ts as `npm start` does and waits for its "listening" log line. */
async function startService(dataDir: string, workers: string, batchThreads: string): Promise<BenchService> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));

  const logFile = join(dataDir, 'service.log');
  const log = openSync(logFile, 'w');
  const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'info', PORT: String(port), HOST: '127.0.0.1', API_KEYS: API_KEY, WORKERS: workers, BATCH_THREADS: batchThreads, PREVIEW: 'off' };
  const child = spawn(process.execPath, [...process.execArgv, join(PROJECT_ROOT, 'src/main.ts')], { env, stdio: ['ignore', log, 'inherit'] });
  closeSync(log);
  const exited = once(child, 'exit');
  const ready = workers === '1' ? '"msg":"inboxcart listening"' : '"msg":"inboxcart listening with ';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode} before listening; see ${logFile}`);
    if (existsSync(logFile) && readFileSync(logFile, 'utf8').includes(ready)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const primary = child.pid!;
  const children = readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const all = [primary, ...children];
  return {
    url: `http://127.0.0.1:${port}`,
    pids: children.length ? children : [primary],
    cpuMs: () => all.reduce((sum, pid) => sum + processCpuMs(pid), 0),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** utime + stime of a process (all its threads) from /proc/<pid>/stat, in ms (USER_HZ = 100 on Linux). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  throughput: { average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function autocannon(url: string, bodyFile: string, connections: number, seconds: number, gzip: boolean): Promise<AutocannonResult> {
  const bin = join(createRequire(import.meta.url).resolve('autocannon/package.json'), '..', 'autocannon.js');
  const headers = ['-H', 'content-type=application/json', '-H', `authorization=Bearer ${API_KEY}`, ...(gzip ? ['-H', 'accept-encoding=gzip'] : [])];
  const args = [bin, '-j', '-c', String(connections), '-d', String(seconds), '-m', 'POST', ...headers, '-i', bodyFile, url];
  return JSON.parse(await runChild(process.execPath, args)) as AutocannonResult;
}

function runChild(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out.trim().split('\n').at(-1)!) : reject(new Error(`${basename(args[0] ?? command)} exited with ${code}`))));
  });
}
