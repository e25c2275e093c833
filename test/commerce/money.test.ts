import { describe, expect, it } from 'vitest';
import { formatMinor, fractionDigits, fromMinor, minorDigits, percentOffMinor, toMinor } from '../../src/commerce/money.ts';

describe('minor units', () => {
  it('knows each currency\'s minor digits', () => {
    expect(minorDigits('EUR')).toBe(2);
    expect(minorDigits('SEK')).toBe(2);
    expect(minorDigits('TRY')).toBe(2);
    expect(minorDigits('JPY')).toBe(0);
    expect(minorDigits('KWD')).toBe(3);
    expect(() => minorDigits('euro')).toThrow(RangeError);
  });

  it.each([
    [49.95, 'EUR', 4995],
    [0.1, 'EUR', 10],
    [1.1, 'EUR', 110],
    [1299, 'SEK', 129900],
    [4980, 'JPY', 4980],
    [1.234, 'KWD', 1234],
    [-12.5, 'EUR', -1250],
    [0, 'EUR', 0],
  ])('toMinor(%s, %s) = %s and back', (amount, currency, minor) => {
    expect(toMinor(amount, currency)).toBe(minor);
    expect(fromMinor(minor, currency)).toBe(amount);
  });

  it('rounds half away from zero on the decimal value, not the binary one', () => {
    expect(1.005 * 100).toBeLessThan(100.5);
    expect(toMinor(1.005, 'EUR')).toBe(101);
    expect(toMinor(1.0049, 'EUR')).toBe(100);
    expect(toMinor(-1.005, 'EUR')).toBe(-101);
    expect(toMinor(0.5, 'JPY')).toBe(1);
    expect(toMinor(1e-7, 'EUR')).toBe(0);
  });

  it('every cent amount up to 10,000 EUR round-trips exactly', () => {
    const broken: number[] = [];
    for (let minor = 0; minor <= 1_000_000; minor++) {
      if (toMinor(fromMinor(minor, 'EUR'), 'EUR') !== minor) broken.push(minor);
    }
    expect(broken).toEqual([]);
  });

  it('rejects non-finite and unsafe amounts', () => {
    expect(() => toMinor(Number.NaN, 'EUR')).toThrow(RangeError);
    expect(() => toMinor(Number.POSITIVE_INFINITY, 'EUR')).toThrow(RangeError);
    expect(() => toMinor(1e21, 'EUR')).toThrow(RangeError);
    expect(() => fromMinor(1.5, 'EUR')).toThrow(RangeError);
  });

  it('counts fraction digits of the decimal a number was written as', () => {
    expect(fractionDigits(49.95)).toBe(2);
    expect(fractionDigits(49.999)).toBe(3);
    expect(fractionDigits(1200)).toBe(0);
    expect(fractionDigits(1.5e-7)).toBe(8);
    expect(fractionDigits(0.1 + 0.2)).toBe(17);
  });
});

describe('percentOffMinor', () => {
  it.each([
    [4995, 15, 4246], // €49.95 less 15 % = €42.4575
    [115, 10, 104], // €1.15 less 10 % = €1.035: half up, where binary floating point gives 103
    [6995, 15, 5946],
    [1, 50, 1],
    [1, 90, 0],
    [499_999_999, 90, 50_000_000],
  ])('%s less %s %% is %s minor units', (list, percent, offer) => {
    expect(percentOffMinor(list, percent)).toBe(offer);
  });

  it('refuses what is not a price or a whole percentage', () => {
    expect(() => percentOffMinor(49.95, 10)).toThrow(RangeError);
    expect(() => percentOffMinor(4995, 12.5)).toThrow(RangeError);
    expect(() => percentOffMinor(4995, 101)).toThrow(RangeError);
  });
});

describe('formatMinor', () => {
  it('formats minor units in the customer\'s locale, with the currency\'s own digits', () => {
    expect(formatMinor(5946, 'EUR', 'en')).toBe('€59.46');
    expect(formatMinor(297415, 'TRY', 'tr')).toBe('₺2.974,15');
    expect(formatMinor(76900, 'SEK', 'sv')).toBe('769,00\u00a0kr');
    expect(formatMinor(4980, 'JPY', 'en')).toBe('¥4,980');
    expect(formatMinor(1234, 'KWD', 'en')).toBe('KWD\u00a01.234');
  });
});
