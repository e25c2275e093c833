import type { Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import { fromJsonText, toJsonText } from '../store/json-column.ts';
import { toIsoTimestamp } from '../store/timestamps.ts';
import { isTriggerName, mergeSettings, type TriggerName, type TriggerPatch, type TriggerSettings } from './trigger-config.ts';
import type { TriggerTables } from './trigger-tables.ts';

/**
 * The trigger settings in effect: triggers.json (read at start) with the changes made through
 * PUT /v1/triggers/:name over it. The changes live in the database, so every instance reads the
 * same; read per use (one small query), so a change takes effect everywhere at once.
 */
export function triggerSettings(database: Kysely<Database>, fromFile: TriggerSettings) {
  const db = database.withTables<TriggerTables>();
  return {
    async current(executor: Kysely<Database> = database): Promise<TriggerSettings> {
      const rows = await executor.withTables<TriggerTables>().selectFrom('trigger_settings').selectAll().execute();
      const patches: { [N in TriggerName]?: TriggerPatch<N> } = {};
      for (const r of rows) if (isTriggerName(r.name)) (patches as Record<string, unknown>)[r.name] = fromJsonText(r.settings);
      return mergeSettings(fromFile, patches);
    },

    /** Adds `patch` to the trigger's stored changes (fields not named keep their value). */
    async change<N extends TriggerName>(name: N, patch: TriggerPatch<N>, at: Date): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const known = await trx.selectFrom('trigger_settings').select('settings').where('name', '=', name).executeTakeFirst();
        const settings = toJsonText({ ...(known ? fromJsonText<object>(known.settings) : {}), ...patch });
        await trx
          .insertInto('trigger_settings')
          .values({ name, settings, updated_at: toIsoTimestamp(at) })
          .onConflict((oc) => oc.column('name').doUpdateSet({ settings, updated_at: toIsoTimestamp(at) }))
          .execute();
      });
    },
  };
}

export type TriggerSettingsStore = ReturnType<typeof triggerSettings>;
