import { describe, expect, it } from 'vitest';
import { seededRandom } from '../support/seeded-random.ts';
import { numberedJson } from '../../src/render/whatsapp/render-whatsapp.ts';
import { charLength } from '../../src/templates/whatsapp-limits.ts';
import { templateVariable } from '../../src/shared/plain-text.ts';
import { truncate } from '../../src/templates/handlebars-env.ts';

describe('numberedJson', () => {
  it('writes exactly what JSON.stringify writes for the values numbered from 1, in numeric key order', () => {
    const cases: string[][] = [
      [],
      ['Ayşe'],
      Array.from({ length: 12 }, (_, i) => `v${i + 1}`),
      ['quote " backslash \\ newline \n tab \t', '😀 שלום \u2028 \u0000', ''],
    ];
    for (const values of cases) expect(numberedJson(values)).toBe(JSON.stringify(Object.fromEntries(values.map((v, i) => [String(i + 1), v]))));
    expect(numberedJson(cases[2]!)).toMatch(/^\{"1":"v1","2":"v2",.*"10":"v10","11":"v11","12":"v12"\}$/);
  });
});

describe('templateVariable', () => {
  it('equals the three cleaning passes, whether or not the value needs them', () => {
    const full = (value: string) => value.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g, '').replace(/[\r\n\t]+/g, ' ').replace(/ {5,}/g, '    ').trim();
    const alphabet = ['a', 'ş', ' ', '  ', '\t', '\n', '\r', '\u0000', '\u001F', '\u007F', '\u0085', '\u202E', '\u2067', '\u00A0', '€', '😀'];
    const next = seededRandom(7);
    for (let i = 0; i < 3000; i++) {
      const value = Array.from({ length: next(16) }, () => alphabet[next(alphabet.length)]).join('');
      expect(templateVariable(value), JSON.stringify(value)).toBe(full(value));
    }
    expect(templateVariable('  Ayşe\u202E  ')).toBe('Ayşe');
    expect(templateVariable('a      b\n\nc')).toBe('a    b c');
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

describe('truncate', () => {
  it('cuts at code points as Array.from counts them, lone surrogates included', () => {
    const byArray = (value: string, max: number) => {
      const chars = Array.from(value);
      return chars.length <= max ? value : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
    };
    const alphabet = ['a', 'ş', '€', '😀', '\uD83D', '\uDE00', ' ', 'ع'];
    const next = seededRandom(3);
    for (let i = 0; i < 3000; i++) {
      const text = Array.from({ length: next(14) }, () => alphabet[next(alphabet.length)]).join('');
      const max = next(10);
      expect(truncate(text, max), `${JSON.stringify(text)} at ${max}`).toBe(byArray(text, max));
    }
    expect(truncate('😀😀😀', 2)).toBe('😀…');
  });
});
