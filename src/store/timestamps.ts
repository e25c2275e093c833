/**
 * Timestamps are stored as ISO-8601 UTC text with milliseconds (`2025-01-31T09:00:00.000Z`).
 * Every value goes through `toIsoTimestamp`, so all rows share one fixed-width format and text
 * comparison orders them chronologically in both SQLite and PostgreSQL.
 */

/** Where "now" comes from. The store takes one so tests can pin the date its rows record. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

export function isoNow(clock: Clock = systemClock): string {
  return clock().toISOString();
}

export function toIsoTimestamp(value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new RangeError(`invalid timestamp: ${String(value)}`);
  return date.toISOString();
}
