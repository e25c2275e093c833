import { describe, expect, it } from 'vitest';
import { ampClaimsJson, ampClaimsSchema, compactAmpClaims, type AmpMessageContent } from '../../src/commerce/amp-claims.ts';
import { verifyToken } from '../../src/commerce/signed-token.ts';
import { renderMessage } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { NOW, renderKit, TEST_KEYS } from '../support/render-kit.ts';

const WHO = [
  { sub: 'cust-sophie', msg: 'm-1', tpl: 'recommendations' },
  { sub: 'cust-"quoted"\\', msg: 'm-ş-😀', cmp: 'spring <sale>', tpl: 'price-drop' },
  { sub: 'x', msg: 'y', cmp: '', tpl: 'abandoned-cart' },
  { sub: 'cust-carl', msg: 'm-2', tpl: 'abandoned-cart', cartAt: 1_795_341_600 },
];

const CONTENTS: AmpMessageContent[] = [
  { skus: ['NL-TOP-002'], percentOff: 15, offerExpiresAt: '2026-12-01T23:59:59Z', currency: 'EUR', locale: 'en-GB' },
  { skus: [], currency: 'TRY', locale: 'tr' },
  { skus: Array.from({ length: 25 }, (_, i) => `SKU-${i}`), currency: 'SEK', locale: 'sv-SE', offerExpiresAt: 'not a date' },
  { skus: ['A'], currency: 'USD', locale: 'en-US', cart: [{ sku: 'A', size: 'M', quantity: 2 }, { sku: 'B', quantity: 1 }] },
  { skus: ['A'], currency: 'USD', locale: 'en-US', cart: Array.from({ length: 21 }, (_, i) => ({ sku: `C${i}`, quantity: 1 })) },
  { skus: ['A'], percentOff: 0, currency: '', locale: '' },
];

describe('AMP claims JSON', () => {
  it('is byte for byte what JSON.stringify writes for the compact claims, reused content object or not', () => {
    for (const who of WHO) {
      for (const content of CONTENTS) {
        const expected = JSON.stringify({ ...compactAmpClaims({ ...who, ...content }), exp: 1_790_000_000 });
        expect(ampClaimsJson(who, content, 1_790_000_000)).toBe(expected);
        // The second call reads the content's JSON from the memo.
        expect(ampClaimsJson(who, content, 1_790_000_000)).toBe(expected);
      }
      expect(ampClaimsJson(who, undefined, 42)).toBe(JSON.stringify({ ...compactAmpClaims(who), exp: 42 }));
    }
  });

  it('says when the message showed its cart only when it carries that cart', () => {
    const who = WHO[3]!;
    const claims = (content: AmpMessageContent) => JSON.parse(ampClaimsJson(who, content, 1)) as Record<string, unknown>;
    expect(claims(CONTENTS[3]!)).toMatchObject({ cart: [['A', 'M', 2], ['B', '', 1]], cat: 1_795_341_600 });
    // No cart, or one too long to carry (21 lines): no time either, and the token is as before.
    expect(claims(CONTENTS[0]!)).not.toHaveProperty('cat');
    expect(claims(CONTENTS[4]!)).not.toHaveProperty('cat');
    expect(ampClaimsSchema.parse({ ...claims(CONTENTS[3]!), exp: 1 }).cat).toBe(1_795_341_600);
  });

  it('reaches the endpoints intact: the token in a rendered email verifies and parses as claims', async () => {
    const { templates, fixtures, deps } = await renderKit();
    const compiled = templates.templates.get('recommendations')!;
    const base = sampleRequest(compiled.manifest, fixtures, 'ayse', { now: NOW });
    const request = { ...base, channels: ['email' as const], context: { ...base.context, messageId: 'msg-claims-1' } };
    const amp = renderMessage(request, deps).email!.amp!;
    const token = decodeURIComponent(/\?token&#x3D;([^"&]+)/.exec(amp)![1]!);
    const verified = verifyToken<{ exp: number }>(token, TEST_KEYS, new Date(NOW));
    expect(verified.ok).toBe(true);
    const claims = ampClaimsSchema.parse((verified as { claims: unknown }).claims);
    expect(claims).toMatchObject({ sub: request.profile.id, msg: 'msg-claims-1', tpl: 'recommendations', cur: request.profile.currency });
    expect(claims.skus.length).toBeGreaterThan(0);
  });
});
