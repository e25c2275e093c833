import { describe, expect, it } from 'vitest';
import { CohortCache } from '../../src/render/cohort-cache.ts';
import { encodeRenderResult } from '../../src/render/encode-result.ts';
import { renderMessage } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { NOW, renderKit } from '../support/render-kit.ts';

const { templates, fixtures, deps } = await renderKit();

const joined = (pieces: Buffer[]) => Buffer.concat(pieces).toString('utf8');

describe('encodeRenderResult: a result as JSON bytes, shared segments encoded once', () => {
  it('the pieces are exactly before + JSON + after, for every template, profile and locale', () => {
    const cached = { ...deps, cohorts: new CohortCache() };
    let sharedBytes = 0;
    let totalBytes = 0;
    for (const [name, compiled] of templates.templates) {
      for (const profile of fixtures.profiles.keys()) {
        for (const locale of ['en', 'tr', 'sv']) {
          // Twice: the second recipient of each cohort is served from the cache.
          for (const n of [1, 2]) {
            const request = sampleRequest(compiled.manifest, fixtures, profile, { now: NOW, locale });
            const result = renderMessage({ ...request, context: { ...request.context, messageId: `m-${n}` } }, cached);
            const encoded = encodeRenderResult(result, '{"line":7,"ok":true,"result":', '}\n');
            const expected = `{"line":7,"ok":true,"result":${JSON.stringify(result)}}\n`;
            expect(joined(encoded.pieces), `${name}/${profile}/${locale}`).toBe(expected);
            expect(encoded.length).toBe(Buffer.byteLength(expected));
            expect(encoded.shared).toHaveLength(encoded.pieces.length);
            encoded.pieces.forEach((p, i) => (sharedBytes += encoded.shared[i] ? p.length : 0));
            totalBytes += encoded.length;
          }
        }
      }
    }
    // Most bytes come from shared, pre-encoded segments.
    expect(sharedBytes / totalBytes).toBeGreaterThan(0.8);
  });

  it('each shared segment names its part and the lengths of the values that follow it', () => {
    const cached = { ...deps, cohorts: new CohortCache() };
    const compiled = templates.templates.get('recommendations')!;
    const request = sampleRequest(compiled.manifest, fixtures, 'ayse', { now: NOW });
    renderMessage(request, cached);
    const encoded = encodeRenderResult(renderMessage({ ...request, context: { ...request.context, messageId: 'layout-2' } }, cached));
    let checked = 0;
    encoded.contexts.forEach((context, i) => {
      if (!context) return;
      expect(encoded.shared[i]).toBe(true);
      expect(context.segments[context.index]).toBe(encoded.pieces[i]);
      // An empty segment is not sent, so its value runs into the next one's.
      if (context.index >= context.gaps.length || context.segments[context.index + 1]!.length === 0) return;
      // The bytes up to the part's next segment are the value: exactly gaps[index] of them.
      let j = i + 1;
      let between = 0;
      while (j < encoded.pieces.length && encoded.pieces[j] !== context.segments[context.index + 1]) between += encoded.pieces[j++]!.length;
      expect(between).toBe(context.gaps[context.index]);
      checked++;
    });
    expect(checked).toBeGreaterThan(10);
  });

  it('recipients of one cohort share the big pieces by identity and differ in their own values', () => {
    const cached = { ...deps, cohorts: new CohortCache() };
    const compiled = templates.templates.get('recommendations')!;
    const base = sampleRequest(compiled.manifest, fixtures, 'sophie', { now: NOW });
    const encode = (id: string, firstName: string) => {
      const result = renderMessage({ ...base, profile: { ...base.profile, id, firstName }, variant: 'A', context: { ...base.context, messageId: `msg-${id}` } }, cached);
      return { result, encoded: encodeRenderResult(result) };
    };
    const a = encode('a', 'Sophie');
    const b = encode('b', '"Zoë" <b>😀</b> \\ שלום');
    const sharedOf = (e: typeof a.encoded) => e.pieces.filter((_, i) => e.shared[i]);
    expect(sharedOf(a.encoded).length).toBeGreaterThan(3);
    expect(sharedOf(b.encoded)).toHaveLength(sharedOf(a.encoded).length);
    sharedOf(b.encoded).forEach((p, i) => expect(p).toBe(sharedOf(a.encoded)[i]));
    const parsed = JSON.parse(joined(b.encoded.pieces));
    expect(parsed).toEqual(JSON.parse(JSON.stringify(b.result)));
    expect(parsed.email.html).toContain('&quot;Zoë&quot; &lt;b&gt;😀&lt;/b&gt; \\ שלום');
    expect(parsed.email.text).toContain('"Zoë" <b>😀</b> \\ שלום');
  });

  it('a result rendered without the cohort cache is one unshared piece', () => {
    const compiled = templates.templates.get('price-drop')!;
    const result = renderMessage(sampleRequest(compiled.manifest, fixtures, 'rachel', { now: NOW }), { ...deps, cohorts: undefined });
    const encoded = encodeRenderResult(result);
    expect(encoded.shared).toEqual([false]);
    expect(joined(encoded.pieces)).toBe(JSON.stringify(result));
  });
});
