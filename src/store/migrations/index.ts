import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial.ts';
import * as m0002 from './0002_whatsapp_contents.ts';
import * as m0003 from './0003_whatsapp_replies.ts';
import * as m0004 from './0004_whatsapp_reply_backoff.ts';
import * as m0005 from './0005_order_locale.ts';
import * as m0006 from './0006_price_history.ts';
import * as m0007 from './0007_order_loop.ts';
import * as m0008 from './0008_campaigns.ts';
import * as m0009 from './0009_campaign_results.ts';
import * as m0010 from './0010_triggers.ts';

/**
 * Migrations are listed here rather than read from the folder, so they work the same under
 * tsx, vitest and a bundled build. Names sort in the order they must run; never rename or edit
 * one that has shipped, add the next number instead.
 */
const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_whatsapp_contents': m0002,
  '0003_whatsapp_replies': m0003,
  '0004_whatsapp_reply_backoff': m0004,
  '0005_order_locale': m0005,
  '0006_price_history': m0006,
  '0007_order_loop': m0007,
  '0008_campaigns': m0008,
  '0009_campaign_results': m0009,
  '0010_triggers': m0010,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
