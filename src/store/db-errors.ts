/**
 * The two drivers report constraint violations differently: pg gives SQLSTATE 23505 and the
 * constraint name, better-sqlite3 gives SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY and a message
 * naming `table.column`. The migrations name unique constraints `<table>_<column>_key` (and
 * primary keys `<table>_pkey`, pass that as `pgConstraint`) so one check covers both.
 */
export function isUniqueViolation(
  error: unknown,
  table: string,
  column: string,
  pgConstraint = `${table}_${column}_key`,
): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint, message } = error as { code?: unknown; constraint?: unknown; message?: unknown };
  if (code === '23505') return constraint === pgConstraint;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return typeof message === 'string' && new RegExp(`\\b${table}\\.${column}\\b`).test(message);
  }
  return false;
}
