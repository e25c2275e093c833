/**
 * npm run bench:http — the HTTP service under load, on loopback.
 *
 * Starts the service in this process (SQLite in a temp DATA_DIR, LOG_LEVEL silent, one API
 * key), then:
 *  1. render: autocannon POSTs /v1/render (template `recommendations`, profile `sophie`,
 *     `picks-8`, channels email) for --duration seconds over --connections connections;
 *  2. batch: one POST /v1/render/batch with --lines NDJSON lines cycling through the fixture
 *     profiles, timed from first byte sent to last byte received.
 * Both clients run in child processes, so they do not take event-loop time from the server.
 * The server's CPU time per request is printed too: unlike the rates, it holds still when
 * other processes share the machine.
 *
 * Flags: --connections N (default 32), --duration S (default 10), --lines N (default 20000).
 * Last line: {"render_rps":…,"render_p99_ms":…,"batch_recipients_per_sec":…}
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../../src/cli/parse-args.ts';
import { loadConfig, PROJECT_ROOT } from '../../src/config.ts';
import { createLogger } from '../../src/http/logger.ts';
import { startService } from '../../src/http/start-service.ts';

const { flags } = parseArgs(process.argv.slice(2));
const API_KEY = 'bench-key-0123456789abcdef';

if (flags.has('batch-client')) {
  // Child mode: stream the NDJSON file to the batch route and count the result lines.
  const url = String(flags.get('batch-client'));
  const file = String(flags.get('file'));
  const started = performance.now();
  const req = httpRequest(`${url}/v1/render/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${API_KEY}` },
  });
  createReadStream(file).pipe(req);
  req.once('response', (res) => {
    let lines = 0;
    let failed = 0;
    let firstError: string | undefined;
    let tail = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const text = tail + chunk;
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        lines++;
        // Only the head of a line is inspected: results are ~80 kB each.
        if (text.startsWith('"ok":false', text.indexOf(',', start) + 1)) {
          failed++;
          firstError ??= text.slice(start, Math.min(nl, start + 400));
        }
        start = nl + 1;
      }
      tail = text.slice(start);
    });
    res.on('end', () => {
      process.stdout.write(`${JSON.stringify({ status: res.statusCode, lines, failed, firstError, ms: performance.now() - started })}\n`);
    });
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const connections = Number(flags.get('connections') ?? 32);
  const duration = Number(flags.get('duration') ?? 10);
  const lines = Number(flags.get('lines') ?? 20_000);
  const fixtures = join(PROJECT_ROOT, 'fixtures');
  const readJson = (path: string) => JSON.parse(readFileSync(join(fixtures, path), 'utf8')) as Record<string, unknown>;

  const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-bench-'));
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1', API_KEYS: API_KEY });
  const service = await startService(config, createLogger({ level: 'silent' }));
  try {
    const picks = readJson('recommendations/picks-8.json');
    const renderBody = join(dataDir, 'render.json');
    writeFileSync(renderBody, JSON.stringify({ template: 'recommendations', profile: readJson('profiles/sophie.json'), recommendations: picks, channels: ['email'] }));

    await autocannon(`${service.url}/v1/render`, renderBody, Math.min(connections, 8), 3); // warm-up: JIT, caches
    // Server CPU per request is reported beside the rates: it does not move when other work
    // shares the machine, the rates do.
    let cpu = process.cpuUsage();
    const load = await autocannon(`${service.url}/v1/render`, renderBody, connections, duration);
    const renderCpu = cpuMsPer(cpu, load.requests.total);
    if (load.non2xx || load.errors || load.timeouts) throw new Error(`render load had failures: ${JSON.stringify({ non2xx: load.non2xx, errors: load.errors, timeouts: load.timeouts })}`);
    const renderRps = Math.round(load.requests.average);
    const renderP99 = load.latency.p99;
    console.log(
      `render: ${renderRps} req/s, p50 ${load.latency.p50} ms, p99 ${renderP99} ms, server CPU ${renderCpu} ms/request (${connections} connections, ${duration} s, ${load.requests.total} requests)`,
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
    cpu = process.cpuUsage();
    const batch = JSON.parse(await runChild(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--batch-client', service.url, '--file', batchFile])) as {
      status: number;
      lines: number;
      failed: number;
      firstError?: string;
      ms: number;
    };
    if (batch.status !== 200 || batch.lines !== lines || batch.failed) throw new Error(`batch did not render every line: ${JSON.stringify(batch)}`);
    const batchRate = Math.round(lines / (batch.ms / 1000));
    console.log(
      `batch: ${lines} recipients (${profiles.length} profiles) in ${(batch.ms / 1000).toFixed(1)} s = ${batchRate} recipients/s, server CPU ${cpuMsPer(cpu, lines)} ms/recipient`,
    );

    console.log(JSON.stringify({ render_rps: renderRps, render_p99_ms: renderP99, batch_recipients_per_sec: batchRate }));
  } finally {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Milliseconds of this process's CPU (user + system) per unit of work since `since`. */
function cpuMsPer(since: NodeJS.CpuUsage, units: number): number {
  const used = process.cpuUsage(since);
  return Math.round(((used.user + used.system) / 1000 / units) * 100) / 100;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function autocannon(url: string, bodyFile: string, connections: number, seconds: number): Promise<AutocannonResult> {
  const bin = join(createRequire(import.meta.url).resolve('autocannon/package.json'), '..', 'autocannon.js');
  const args = [bin, '-j', '-c', String(connections), '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', '-H', `authorization=Bearer ${API_KEY}`, '-i', bodyFile, url];
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
