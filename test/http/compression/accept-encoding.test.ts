import { describe, expect, it } from 'vitest';
import { acceptsGzip } from '../../../src/http/compression/accept-encoding.ts';

describe('acceptsGzip', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['gzip', true],
    ['gzip, deflate', true], // superagent, Node's undici fetch sends 'gzip, deflate' too
    ['gzip, deflate, br, zstd', true],
    ['GZip', true],
    ['x-gzip', true],
    ['deflate, br', false],
    ['identity', false],
    ['gzip;q=0', false],
    ['gzip; q=0.000, identity', false],
    ['gzip;q=0.5, identity', false], // identity weighs 1 and outranks it
    ['gzip;q=0.5, identity;q=0.4', true],
    ['*', true],
    ['*;q=0.3', true], // identity falls under * too, so the tie goes to gzip
    ['br, *;q=0', false],
    ['gzip;q=0, *', false],
    ['identity;q=0, *;q=0.1', true],
    ['gzip;q=2', true], // negotiator takes a weight above 1 as given
    ['gzip;q=abc, deflate', false],
    ['gzip;level=9', true],
  ])('%j → %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});
