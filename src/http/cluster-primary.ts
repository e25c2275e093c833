import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config.ts';
import type { Logger } from './logger.ts';
import { prepareStore, serviceUrl } from './start-service.ts';

/** The message a primary sends a worker to stop gracefully (signals are for the whole process group). */
export const SHUTDOWN_MESSAGE = 'inboxcart:shutdown';

/** A worker that dies sooner than this after its start is restarted after RESTART_DELAY_MS, not at once. */
const QUICK_CRASH_MS = 10_000;
const RESTART_DELAY_MS = 1_000;

/**
 * WORKERS > 1: this process becomes the cluster primary. It migrates and seeds the database
 * once, then forks `config.workers` copies of the service (the same entry script) that share
 * the port through node:cluster; it serves no request itself. A worker that dies after it was
 * listening is replaced; one that dies before it ever listened stops the whole service, since
 * its replacement would fail the same way (a port in use, a broken configuration). SIGTERM or
 * SIGINT asks every worker to finish its in-flight requests and stop; a second signal is passed
 * on, which makes the workers exit without waiting.
 *
 * Resolves with the exit code once every worker has exited.
 *
 * @example
 * if (config.workers > 1 && cluster.isPrimary) process.exitCode = await runClusterPrimary(config, logger);
 */
export async function runClusterPrimary(config: Config, logger: Logger): Promise<number> {
  await prepareStore(config, logger);

  let stopping = false;
  let failed = false;
  const started = new Map<Worker, number>();
  const listening = new Set<Worker>();
  let announced = false;

  const fork = () => {
    const worker = cluster.fork();
    started.set(worker, Date.now());
    worker.once('listening', (address) => {
      listening.add(worker);
      if (!announced && listening.size === config.workers) {
        announced = true;
        logger.info({ workers: config.workers, url: serviceUrl(config.host, address.port) }, `inboxcart listening with ${config.workers} workers`);
      }
    });
  };

  const exited = new Promise<void>((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      const wasListening = listening.delete(worker);
      const lived = Date.now() - (started.get(worker) ?? 0);
      started.delete(worker);
      if (stopping) {
        if (code !== 0) failed = true;
        if (started.size === 0) resolve();
        return;
      }
      if (!wasListening) {
        logger.fatal({ pid: worker.process.pid, code, signal }, 'a worker failed to start; stopping the other workers (its log says why)');
        failed = true;
        stop('SIGTERM');
        if (started.size === 0) resolve();
        return;
      }
      logger.error({ pid: worker.process.pid, code, signal }, 'a worker exited unexpectedly; starting a replacement');
      if (lived < QUICK_CRASH_MS) setTimeout(() => !stopping && fork(), RESTART_DELAY_MS).unref();
      else fork();
    });
  });

  const stop = (signal: NodeJS.Signals) => {
    const workers = [...started.keys()];
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown: telling the workers to exit without waiting');
      for (const w of workers) w.process.kill(signal);
      return;
    }
    stopping = true;
    logger.info({ signal, workers: workers.length }, 'shutting down: the workers finish their in-flight requests');
    for (const w of workers) if (w.isConnected()) w.send(SHUTDOWN_MESSAGE);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  for (let i = 0; i < config.workers; i++) fork();
  await exited;
  logger.info(failed ? 'stopped; some workers did not stop cleanly' : 'stopped');
  return failed ? 1 : 0;
}
