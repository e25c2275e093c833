import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32Append, crc32Operator, multmodp } from '../../../src/http/compression/crc32-combine.ts';

describe('crc32Append', () => {
  it('gives zlib.crc32 of the concatenation for parts of many lengths, empty ones included', () => {
    for (const [a, b] of [
      [0, 0],
      [0, 7],
      [7, 0],
      [1, 1],
      [3, 65_536],
      [100_000, 70_001],
      [12_345, 1],
    ] as const) {
      const x = randomBytes(a);
      const y = randomBytes(b);
      expect(crc32Append(crc32(x), crc32(y), crc32Operator(b)), `${a}+${b}`).toBe(crc32(Buffer.concat([x, y])));
    }
  });

  it('chains: many parts appended one by one equal one CRC over all bytes', () => {
    const parts = Array.from({ length: 50 }, (_, i) => randomBytes((i * 7919) % 3001));
    let crc = 0;
    for (const p of parts) crc = crc32Append(crc, crc32(p), crc32Operator(p.length));
    expect(crc).toBe(crc32(Buffer.concat(parts)));
  });

  it('handles lengths past 2^32 (a long streamed batch): operators of a and b compose to the operator of a+b', () => {
    const a = 2 ** 32 + 12_345;
    const b = 3 * 2 ** 31 + 1;
    expect(multmodp(crc32Operator(a), crc32Operator(b))).toBe(crc32Operator(a + b));
    expect(crc32Operator(0)).toBe(0x80000000);
  });
});
