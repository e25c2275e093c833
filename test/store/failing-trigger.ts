import { sql } from 'kysely';
import type { Store } from '../../src/store/open-store.ts';

/**
 * Simulates a failure the validator cannot foresee (disk full, lost connection) in the middle
 * of a write: inserting a row into `table` whose `column` is `value` raises 'boom' inside the
 * database. Returns what removes the trigger again. Names are test constants, not input.
 */
export async function installFailingTrigger(store: Store, o: { name: string; table: string; column: string; value: string }): Promise<() => Promise<void>> {
  const { name, table, column, value } = o;
  if (store.dialect === 'sqlite') {
    await sql.raw(`create trigger if not exists ${name} before insert on ${table}
      when new.${column} = '${value}' begin select raise(abort, 'boom'); end`).execute(store.db);
    return async () => void (await sql.raw(`drop trigger ${name}`).execute(store.db));
  }
  await sql.raw(`create or replace function ${name}() returns trigger language plpgsql as $$
    begin if new.${column} = '${value}' then raise exception 'boom'; end if; return new; end $$;
    create or replace trigger ${name} before insert on ${table} for each row execute function ${name}();`)
    .execute(store.db);
  return async () => void (await sql.raw(`drop trigger ${name} on ${table}`).execute(store.db));
}
