import { describe, expect, it } from 'vitest';
import { seededRandom } from '../support/seeded-random.ts';
import { contentVariablesJson } from '../../src/channels/whatsapp/render-whatsapp.ts';
import { charLength } from '../../src/channels/whatsapp/whatsapp-limits.ts';

describe('contentVariablesJson', () => {
  it('writes exactly what JSON.stringify writes, in numeric key order', () => {
    const cases: Record<string, string>[] = [
      {},
      { '1': 'Ayşe' },
      Object.fromEntries(Array.from({ length: 12 }, (_, i) => [String(12 - i), `v${12 - i}`])),
      { '1': 'quote " backslash \\ newline \n tab \t', '2': '😀 שלום \u2028 \u0000', '3': '' },
    ];
    for (const c of cases) expect(contentVariablesJson(c)).toBe(JSON.stringify(c));
    expect(contentVariablesJson(cases[2]!)).toMatch(/^\{"1":"v1","2":"v2",.*"10":"v10","11":"v11","12":"v12"\}$/);
  });
});

describe('charLength', () => {
  it('counts code points as Array.from does, lone surrogates included', () => {
    const alphabet = ['a', 'ş', '€', '🛍️', '👩‍👩‍👧', '\uD83D', '\uDE00', 'ع', '\u202E', ' '];
    const next = seededRandom(1);
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: next(30) }, () => alphabet[next(alphabet.length)]).join('');
      expect(charLength(text), JSON.stringify(text)).toBe(Array.from(text).length);
    }
  });
});
