import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Store } from '../../src/store/index.ts';

/**
 * Makes the database itself refuse inserts into `table` whose `column` is `value` (a trigger),
 * so a transaction fails part-way through, after its earlier writes, the way a crash or a lost
 * connection would end it. Resolves to the function that removes the trigger again.
 *
 * @example
 * const restore = await failInserts(store, 'whatsapp_replies', 'customer_id', 'cust-1');
 */
export async function failInserts(store: Pick<Store, 'db' | 'dialect'>, table: string, column: string, value: string): Promise<() => Promise<void>> {
  const name = `fail_${randomBytes(4).toString('hex')}`;
  const literal = `'${value.replaceAll("'", "''")}'`;
  if (store.dialect === 'sqlite') {
    await sql.raw(`create trigger ${name} before insert on ${table} when new.${column} = ${literal} begin select raise(abort, 'injected failure'); end`).execute(store.db);
    return async () => {
      await sql.raw(`drop trigger ${name}`).execute(store.db);
    };
  }
  // The test's schema comes first in the connection's search_path: function and trigger land there.
  await sql.raw(`create function ${name}() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`).execute(store.db);
  await sql.raw(`create trigger ${name} before insert on ${table} for each row when (new.${column} = ${literal}) execute function ${name}()`).execute(store.db);
  return async () => {
    await sql.raw(`drop trigger ${name} on ${table}`).execute(store.db);
    await sql.raw(`drop function ${name}()`).execute(store.db);
  };
}
