/**
 * `npm run preview`: the service on the embedded defaults (SQLite under ./data, sample catalog)
 * with the designers' preview on, watching templates/ and fixtures/ and logging each reload's
 * problems. Open the printed URL; the page reloads itself when a template is saved.
 */
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './http/logger.ts';
import { startService } from './http/start-service.ts';
import type { Preview } from './http/preview/preview-routes.ts';

let config;
try {
  // PREVIEW=on wins over NODE_ENV=production: running this script is asking for the preview.
  config = loadConfig({ ...process.env, PREVIEW: 'on' });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`inboxcart preview cannot start: ${err.message}`);
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel });
for (const notice of config.notices) logger.warn(notice);
const service = await startService(config, logger, { shutdownTimeoutMs: 2000 }).catch((err: unknown) => {
  logger.fatal({ err }, `inboxcart preview failed to start: ${(err as Error).message}`);
  logger.flush(() => process.exit(1));
  return undefined;
});

if (service) {
  const preview = service.app.locals.preview as Preview;
  const stopWatching = preview.watch();
  logger.info({ preview: `${service.url}/preview`, templates: config.templatesDir }, `designers' preview at ${service.url}/preview (watching ${config.templatesDir})`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'stopping the preview');
    stopWatching();
    service.close().then(
      () => logger.flush(() => process.exit(0)),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        logger.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
