import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './free-port.ts';

export interface RedisProcess {
  url: string;
  /** SIGKILL: Redis dies without a word to its clients, and (no RDB, no AOF) keeps nothing. */
  kill(): Promise<void>;
  /** Starts Redis again on the same port, empty. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Redis of the test's own, as a child process: the shared one at 6379 is never restarted. No
 * persistence, so a restart is a Redis that lost every key.
 */
/**
 * Redis runs on the machine's own clock, like the shared one: CI runs the suite under
 * libfaketime (LD_PRELOAD), whose clock_gettime hook deadlocks redis-server's jemalloc at start.
 */
function serviceEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (env.LD_PRELOAD?.includes('faketime')) delete env.LD_PRELOAD;
  for (const name of Object.keys(env)) if (name.startsWith('FAKETIME')) delete env[name];
  return env;
}

export async function startRedis(binary = '/usr/bin/redis-server'): Promise<RedisProcess> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const proc = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'], env: serviceEnv() });
    child = proc;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready: ${out}`)));
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
    });
    proc.removeAllListeners('exit');
    proc.stdout!.resume();
  }

  async function kill(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  }

  await start();
  return { url: `redis://127.0.0.1:${port}`, kill, start, stop: kill };
}
