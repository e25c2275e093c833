import { describe, expect, it } from 'vitest';
import { contentVariablesJson } from '../../src/channels/whatsapp/render-whatsapp.ts';

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
