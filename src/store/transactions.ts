import { sql } from 'kysely';
import type { Executor } from './database-schema.ts';

/**
 * Runs `work` in the transaction `db` already is, or in a new one. kysely cannot nest
 * transactions (`trx.transaction()` throws), so a repository that needs several statements to
 * be atomic joins its caller's transaction when it is bound to one.
 */
export function inTransaction<T>(db: Executor, work: (trx: Executor) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

let savepoints = 0;

/**
 * Runs `work` so that a throw undoes its writes and nothing else: in a new transaction, or,
 * when `db` is a transaction already, between a savepoint and its release, rolled back to on a
 * throw. The rollback also clears PostgreSQL's "current transaction is aborted" state that a
 * failed statement (a unique violation) leaves, so the enclosing transaction can go on.
 * `SAVEPOINT` / `ROLLBACK TO` / `RELEASE` read the same on SQLite and PostgreSQL.
 *
 * @example
 * await atomically(trx, async (t) => { await takeStock(t); if (short) throw new OutOfStock(); });
 */
export async function atomically<T>(db: Executor, work: (trx: Executor) => Promise<T>): Promise<T> {
  if (!db.isTransaction) return db.transaction().execute(work);
  const name = sql.id(`inboxcart_sp_${++savepoints}`);
  await sql`savepoint ${name}`.execute(db);
  let result: T;
  try {
    result = await work(db);
  } catch (error) {
    await sql`rollback to savepoint ${name}`.execute(db);
    await sql`release savepoint ${name}`.execute(db);
    throw error;
  }
  await sql`release savepoint ${name}`.execute(db);
  return result;
}
