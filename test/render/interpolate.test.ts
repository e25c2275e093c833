import { describe, expect, it } from 'vitest';
import { interpolate } from '../../src/templates/locale-strings.ts';
import { seededRandom } from '../support/seeded-random.ts';

describe('interpolate', () => {
  it('fills {name} placeholders and leaves unknown or empty ones visible', () => {
    expect(interpolate('Hi {name}, {count} picks', { name: 'Ayşe', count: 3 })).toBe('Hi Ayşe, 3 picks');
    expect(interpolate('Hi {name} {missing} {nil}', { name: '{count}', nil: null, count: 1 })).toBe('Hi {count} {missing} {nil}');
    expect(interpolate('no placeholders', { name: 'x' })).toBe('no placeholders');
  });

  it('equals a regex replace over the same text, every time a string is reused', () => {
    const byReplace = (text: string, values: Record<string, unknown>) =>
      text.replace(/\{(\w+)\}/g, (whole, name: string) => (values[name] === undefined || values[name] === null ? whole : String(values[name])));
    const pieces = ['{a}', '{b}', '{c}', '{', '}', '{{a}}', '{a b}', '{ş}', 'x', ' ', 'é', '{_1}'];
    const next = seededRandom(11);
    const texts = Array.from({ length: 300 }, () => Array.from({ length: next(8) }, () => pieces[next(pieces.length)]).join(''));
    for (let round = 0; round < 2; round++) {
      for (const text of texts) {
        const values = { a: `A${next(3)}`, b: next(2) ? 7 : undefined, _1: '{c}' };
        expect(interpolate(text, values), text).toBe(byReplace(text, values));
      }
    }
  });
});
