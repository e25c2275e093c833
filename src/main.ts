import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { runClusterPrimary, SHUTDOWN_MESSAGE } from './http/cluster-primary.ts';
import { createLogger, type Logger } from './http/logger.ts';
import { startService } from './http/start-service.ts';

function readConfig(): Config | undefined {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error('inboxcart cannot start: the configuration is invalid.');
    for (const problem of err.problems) console.error(`  - ${problem}`);
    console.error('Fix these environment variables and start again.');
    return undefined;
  }
}

function exit(logger: Logger, code: number): void {
  logger.flush(() => process.exit(code));
}

async function main(): Promise<void> {
  const config = readConfig();
  if (!config) {
    process.exitCode = 1;
    return;
  }
  const logger = createLogger({ level: config.logLevel });
  // In cluster mode the primary says it once, not every worker.
  if (cluster.isPrimary) for (const notice of config.notices) logger.warn(notice);
  if (config.workers > 1 && cluster.isPrimary) {
    try {
      return exit(logger, await runClusterPrimary(config, logger));
    } catch (err) {
      logger.fatal({ err }, `inboxcart failed to start: ${(err as Error).message}.`);
      return exit(logger, 1);
    }
  }

  let service;
  try {
    // A cluster worker finds the database migrated and seeded by the primary.
    service = await startService(config, logger, { seed: cluster.isPrimary });
  } catch (err) {
    const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    const fix = inUse ? ` Another process listens on ${config.host}:${config.port}: stop it or set PORT to a free port.` : '';
    logger.fatal({ err }, `inboxcart failed to start: ${(err as Error).message}.${fix}`);
    return exit(logger, 1);
  }

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown: exiting without waiting');
      return exit(logger, 1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    try {
      await service.close();
      logger.info('stopped');
      exit(logger, 0);
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      exit(logger, 1);
    }
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));
  if (cluster.isWorker) {
    // The primary asks by message: a Ctrl-C reaches every process of the group, and a signal
    // from the primary on top of it would count as the second one.
    let asked = false;
    const ask = () => {
      if (asked || stopping) return;
      asked = true;
      void stop('SIGTERM');
    };
    process.on('message', (message) => message === SHUTDOWN_MESSAGE && ask());
    // An orphaned worker (the primary was killed) stops too rather than serving on alone.
    process.on('disconnect', ask);
  }
}

await main();
