/**
 * Splits rows for multi-row statements: SQLite binds at most 32,766 parameters per statement
 * and PostgreSQL 65,535, so large catalog batches go in slices.
 */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
