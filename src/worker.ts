import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './http/logger.ts';
import { storeRender } from './render-service/render-service.ts';
import { openStore } from './store/index.ts';
import { loadTemplateSet } from './templates/template-registry.ts';
import { createCampaigns } from './campaigns/campaign-service.ts';
import { loadTriggersFile } from './triggers/trigger-config.ts';
import { createTriggers } from './triggers/trigger-service.ts';

/**
 * `npm run worker`: a process that only runs campaign chunk jobs, no HTTP. With REDIS_URL (and
 * DATABASE_URL) any number of them on any machines share the campaigns; without, it works the
 * embedded store's chunks beside `npm start`. SIGTERM/SIGINT let the chunks in hand finish.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error('inboxcart worker cannot start: the configuration is invalid.');
    for (const problem of err.problems) console.error(`  - ${problem}`);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger({ level: config.logLevel });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const templates = await loadTemplateSet({ root: config.templatesDir, cacheDir: config.templateCacheDir });
  const { render } = await storeRender({ config, templates, store, warn: (message, err) => logger.warn({ err }, message) });
  const campaigns = createCampaigns({ config, store, templates, render, logger });
  campaigns.events.on('chunk', (campaign: string) => logger.info({ campaign }, 'campaign chunk finished'));
  campaigns.startWorker();
  // The scheduled trigger tick runs wherever chunk jobs do (with REDIS_URL, one tick per period for all of them).
  const triggers = createTriggers({ config, store, templates, campaigns, logger, fromFile: loadTriggersFile(config.triggers.file) });
  triggers.start();
  logger.info({ mode: config.campaigns.redisUrl ? 'bullmq' : 'embedded', concurrency: config.campaigns.concurrency }, 'campaign worker started');

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'campaign worker stopping: finishing the chunks in hand');
    try {
      await triggers.close();
      await campaigns.close();
      await store.close();
    } finally {
      logger.flush(() => process.exit(0));
    }
  };
  process.on('SIGTERM', (s) => void stop(s));
  process.on('SIGINT', (s) => void stop(s));
}

await main();
