/**
 * A process that makes one catalog write with its triggers (the transaction PUT
 * /v1/catalog/products runs, catalog-write.ts) and is killed with SIGKILL right after the
 * commit, before anything is dispatched: what a crash between the write and the notification
 * leaves behind. Reads the store options, the clock and the products from the environment.
 */
import { openStore, type OpenStoreOptions } from '../../src/store/index.ts';
import { writeCatalog } from '../../src/triggers/catalog-write.ts';
import { DEFAULT_TRIGGERS } from '../../src/triggers/trigger-config.ts';
import { triggerSettings } from '../../src/triggers/trigger-settings.ts';

const options = JSON.parse(process.env.CRASH_STORE!) as OpenStoreOptions;
const at = new Date(process.env.CRASH_NOW!);
const store = await openStore({ ...options, now: () => at });
const { fired } = await writeCatalog(store, JSON.parse(process.env.CRASH_PRODUCTS!), triggerSettings(store.db, DEFAULT_TRIGGERS));
process.stderr.write(`committed ${fired.length} fire(s)\n`);
process.kill(process.pid, 'SIGKILL');
