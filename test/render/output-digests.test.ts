import { describe, expect, it } from 'vitest';
import { computeDigests, differences, readGolden } from '../support/output-digests.ts';

describe('outputs are byte-identical to the golden digests (npm run digests -- --update rewrites them)', () => {
  it('every part of every template × fixture profile × locale, full and cohort-cached, and its HTTP JSON', async () => {
    const golden = readGolden();
    const actual = await computeDigests();
    expect(Object.keys(actual).length).toBeGreaterThan(100);
    expect(differences(golden, actual), 'template/profile/locale path part').toEqual([]);
  });
});
