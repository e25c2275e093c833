/**
 * CRC-32 (the gzip / zlib polynomial) of a concatenation from the CRCs of its parts, without
 * reading the bytes again: zlib's crc32_combine (zlib 1.2.12+, crc32.c) ported to JS. Polynomials
 * are bit-reflected as in zlib, so x^0 is 0x80000000.
 *
 * crc(A ‖ B) = multmodp(x^(8·len(B)) mod P, crc(A)) ^ crc(B). The operator x^(8·len(B)) depends
 * only on B's length, so a caller that appends the same piece many times computes it once
 * (`crc32Operator`) and pays one 32-step multiplication per append (`crc32Append`).
 *
 * @see https://github.com/madler/zlib/blob/v1.3.1/crc32.c (multmodp, x2nmodp, crc32_combine_op)
 * @example
 * const op = crc32Operator(b.length);
 * crc32Append(crc32(a), crc32(b), op) === crc32(Buffer.concat([a, b])); // true
 */

/** The CRC-32 polynomial, reflected. */
const POLY = 0xedb88320;

/** a·b mod P over GF(2), both reflected. */
export function multmodp(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) mod P. */
const X2N: number[] = [];
{
  let p = 0x40000000; // x^1
  X2N.push(p);
  for (let k = 1; k < 32; k++) X2N.push((p = multmodp(p, p)));
}

/**
 * x^(8·length) mod P: the operator that shifts a CRC past `length` bytes. `length` may exceed
 * 2^32 (a long batch stream); it is walked bit by bit as a number, not with 32-bit shifts.
 */
export function crc32Operator(length: number): number {
  let p = 0x80000000; // x^0
  let k = 3; // 2^3 bits per byte
  for (let n = length; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) p = multmodp(X2N[k & 31]!, p);
  }
  return p;
}

/** The CRC-32 of A ‖ B, given crc(A), crc(B) and crc32Operator(len(B)). */
export function crc32Append(crcA: number, crcB: number, operatorB: number): number {
  return (multmodp(operatorB, crcA) ^ crcB) >>> 0;
}
