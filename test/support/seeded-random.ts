/**
 * A deterministic PRNG for property tests: `next(n)` is an integer in [0, n). A failing case
 * can be reproduced from its seed.
 */
export function seededRandom(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s % n;
  };
}
