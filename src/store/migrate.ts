import { Migrator, type Kysely } from 'kysely';
import { migrationProvider } from './migrations/index.ts';

/**
 * Brings the schema to the latest migration. Safe to call on every start and from several
 * instances at once: the Migrator takes a lock (a PostgreSQL advisory lock; SQLite has a single
 * writer) and skips migrations already recorded.
 *
 * `schema` pins Kysely's bookkeeping tables to that PostgreSQL schema. Without it the Migrator
 * looks for its table in every schema of the database and may find another tenant's copy.
 *
 * Takes `Kysely<any>`: migrations describe past schemas, not the current `Database` type.
 */
export async function migrateToLatest(db: Kysely<any>, schema?: string): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error !== undefined) {
    const where = failed ? ` (migration ${failed.migrationName})` : '';
    throw new Error(`database migration failed${where}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
