const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/**
 * '512kb' → 524288. Binary multiples, as body-parser (the `bytes` package) reads the same
 * strings, so JSON_BODY_LIMIT and BATCH_BODY_LIMIT mean the same thing on every route.
 */
export function parseByteSize(size: string): number {
  const m = /^(\d+)(b|kb|mb|gb)$/i.exec(size.trim());
  if (!m) throw new RangeError(`'${size}' is not a size; write it as a number and unit, e.g. 512kb or 1mb`);
  return Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
}
