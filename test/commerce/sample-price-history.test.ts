import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSampleHistory, sampleReferencePrices } from '../../src/commerce/sample-price-history.ts';
import { loadFixtures } from '../../src/validate/template-fixtures.ts';
import { FIXTURES_DIR, NOW } from '../support/render-kit.ts';

const catalog = JSON.parse(readFileSync(join(FIXTURES_DIR, 'catalog.json'), 'utf8')) as Parameters<typeof readSampleHistory>[1];

/** A copy of the fixtures with price-history.json replaced. */
function withHistory(history: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'inboxcart-history-fixture-'));
  cpSync(FIXTURES_DIR, dir, { recursive: true });
  writeFileSync(join(dir, 'price-history.json'), JSON.stringify(history));
  return dir;
}

describe('the sample price history', () => {
  it('gives the fixture catalog the reference prices the store would hold on the fixtures\' date', () => {
    expect(sampleReferencePrices(readSampleHistory(FIXTURES_DIR, catalog), NOW).get('NL-TOP-002')).toEqual({
      EUR: { priceMinor: 6995, since: '2026-11-13T08:00:00.000Z', lowest30dMinor: 7995 },
      SEK: { priceMinor: 76900, since: '2026-11-13T08:00:00.000Z', lowest30dMinor: 87900 },
      TRY: { priceMinor: 349900, since: '2026-11-13T08:00:00.000Z', lowest30dMinor: 399900 },
    });
    expect(loadFixtures(FIXTURES_DIR).catalog.get('NL-TOP-002')!.referencePrices?.SEK?.lowest30dMinor).toBe(87900);
    expect(loadFixtures(FIXTURES_DIR).catalog.get('NL-TOP-001')!.referencePrices).toBeUndefined();
  });

  const point = (price: number, validFrom: string) => ({ price, validFrom });
  it.each([
    [{ 'NL-NOPE': { EUR: [point(1, '2026-08-01T00:00:00Z')] } }, 'NL-NOPE is not in catalog.json'],
    [{ 'NL-TOP-002': { EUR: [point(89.95, '2026-08-01T00:00:00Z'), point(79.95, '2026-10-01T00:00:00Z')] } }, 'NL-TOP-002 EUR: the last point must be catalog.json\'s price (6995 minor units), got 7995'],
    [{ 'NL-TOP-002': { EUR: [point(69.95, '2026-10-01T00:00:00Z'), point(69.95, '2026-08-01T00:00:00Z')] } }, 'NL-TOP-002 EUR.1: points must be in ascending validFrom order'],
    [{ 'NL-TOP-002': { EUR: [point(69.95, '2026-10-01T00:00:00Z')], SEK: [point(769, '2026-08-01T00:00:00Z')] } }, 'NL-TOP-002 must start with its base currency EUR'],
    [{ 'NL-TOP-002': { NOK: [point(700, '2026-08-01T00:00:00Z')] } }, 'NL-TOP-002 NOK: catalog.json has no NOK price for it'],
    [{ 'NL-TOP-002': { EUR: [point(69.951, '2026-08-01T00:00:00Z')] } }, 'NL-TOP-002 EUR.0: EUR allows at most 2 decimal places'],
  ])('refuses a history that does not fit the catalog, naming where', (history, message) => {
    expect(() => loadFixtures(withHistory(history))).toThrow(message);
  });
});
