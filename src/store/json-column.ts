/**
 * JSON lives in TEXT columns: SQLite has no JSON type and PostgreSQL's jsonb would come back
 * already parsed, so one text representation keeps both dialects returning the same values.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function toJsonText(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError('value is not representable as JSON');
  return text;
}

export function fromJsonText<T>(text: string): T {
  return JSON.parse(text) as T;
}

export function fromNullableJsonText<T>(text: string | null): T | undefined {
  return text === null ? undefined : (JSON.parse(text) as T);
}
