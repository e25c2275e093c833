import { describe, expect, it } from 'vitest';
import { seededRandom } from '../support/seeded-random.ts';
import { parseTap } from '../../src/channels/whatsapp/conversation-payloads.ts';
import { payloadOwner } from '../../src/render/whatsapp/message-payloads.ts';
import { fromPayloadField, payloadField } from '../../src/render/whatsapp/payload-field.ts';
import type { Product } from '../../src/personalize/recommendations-schema.ts';
import { renderMessage } from '../../src/render/render-message.ts';
import { renderKit, TEST_KEYS } from '../support/render-kit.ts';

describe('payload fields', () => {
  it('round-trips any text, and leaves text without delimiters as it is', () => {
    const alphabet = ['a', 'Z', '9', '-', ':', '|', '!', '~', '%', '%3A', '%25', '%7c', 'ş', '🛍️', ' '];
    const next = seededRandom(3);
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: next(12) }, () => alphabet[next(alphabet.length)]).join('');
      const field = payloadField(text);
      expect(field).not.toMatch(/[:|!~]/);
      expect(fromPayloadField(field), JSON.stringify(text)).toBe(text);
    }
    expect(payloadField('NL-TOP-001')).toBe('NL-TOP-001');
    expect(payloadField('EU 38')).toBe('EU 38');
  });
});

describe('a SKU or size with payload delimiters', () => {
  // Sophie's 24-hour window is open: the recommendations list rows carry `pick:` payloads, and
  // price-drop's Buy button a `buy:SKU:SIZE:MSG` one.
  const odd: Product = {
    sku: 'NL:TOP|9!~%',
    title: 'Colon Shirt',
    category: 'tops',
    price: 40,
    currency: 'EUR',
    url: 'https://shop.nordlys.example/p/odd',
    image: 'https://cdn.nordlys.example/img/odd.jpg',
    sizes: [{ size: 'EU 38:W', stock: 3 }],
    tags: [],
    newArrival: false,
  } as Product;

  it('comes back from a list row tap as the product that was shown', async () => {
    const { deps, fixtures } = await renderKit();
    const profile = fixtures.profiles.get('sophie')!;
    const result = renderMessage({ template: 'recommendations', profile, recommendations: { items: [odd, { sku: 'NL-TOP-001' }] }, channels: ['whatsapp'], context: { messageId: 'm:1' } }, deps);
    expect(result.whatsapp).toMatchObject({ suppressed: false, kind: 'session' });
    const rows = result.whatsapp!.suppressed ? [] : result.whatsapp!.preview.list!.items;
    expect(parseTap(rows[0]!.id, TEST_KEYS)).toEqual({ kind: 'pick', sku: 'NL:TOP|9!~%', messageId: 'm:1', owner: payloadOwner(profile.id) });
    expect(parseTap(rows[1]!.id, TEST_KEYS)).toEqual({ kind: 'pick', sku: 'NL-TOP-001', messageId: 'm:1', owner: payloadOwner(profile.id) });
  });

  it('comes back from a Buy tap with its size', async () => {
    const { deps, fixtures } = await renderKit();
    const profile = fixtures.profiles.get('sophie')!;
    const result = renderMessage({ template: 'price-drop', profile, recommendations: { items: [odd] }, channels: ['whatsapp'], context: { messageId: 'm:2' } }, deps);
    const buttons = result.whatsapp!.suppressed ? [] : result.whatsapp!.preview.buttons!;
    const taps = buttons.map((b) => parseTap(b.id!, TEST_KEYS));
    expect(taps).toContainEqual({ kind: 'buy', sku: 'NL:TOP|9!~%', size: 'EU 38:W', messageId: 'm:2', owner: payloadOwner(profile.id) });
  });

  it('comes back in the picks payload of the approved template (window closed)', async () => {
    const { deps, fixtures } = await renderKit();
    const profile = fixtures.profiles.get('rachel')!;
    const result = renderMessage({ template: 'recommendations', profile, recommendations: { items: [odd, { sku: 'NL-TOP-001' }] }, channels: ['whatsapp'], context: { messageId: 'm:3' } }, deps);
    expect(result.whatsapp).toMatchObject({ suppressed: false, kind: 'template' });
    const variables = JSON.parse(result.whatsapp!.suppressed ? '{}' : result.whatsapp!.message.contentVariables!) as Record<string, string>;
    expect(parseTap(variables['5']!, TEST_KEYS)).toEqual({ kind: 'picks', messageId: 'm:3', skus: ['NL:TOP|9!~%', 'NL-TOP-001'], owner: payloadOwner(profile.id) });
  });
});
