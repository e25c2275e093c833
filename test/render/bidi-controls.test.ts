import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { productSchema } from '../../src/commerce/product-schema.ts';
import { profileSchema } from '../../src/personalize/profile-schema.ts';
import { createRenderDeps } from '../../src/render/create-renderer.ts';
import { renderRequestSchema } from '../../src/render/render-input.ts';
import { renderMessage, type RenderResult } from '../../src/render/render-message.ts';
import { DEFAULT_THRESHOLDS } from '../../src/personalize/segment-thresholds.ts';
import { bidiControlsIn, laceWithBidi } from '../support/bidi-data.ts';
import { FIXTURES_DIR, LOCALES, NOW, renderKit, TEST_KEYS } from '../support/render-kit.ts';

// Regression, issue 13 item 5: U+202E in hostile.json's first name reached the Subject raw (and
// the HTML, AMP and text parts), reversing the rest of the subject line in an inbox.

const { templates, fixtures } = await renderKit();
const raw = (path: string) => JSON.parse(readFileSync(join(FIXTURES_DIR, path), 'utf8')) as Record<string, unknown>;

/** A catalog product as PUT /v1/catalog/products would store it, bidi controls in every text field. */
const laced = laceWithBidi({
  sku: 'NL-BIDI-001',
  title: 'Cotton Tee exe.gpj',
  description: 'Soft cotton',
  category: 'tops',
  price: 25,
  currency: 'EUR',
  url: 'https://shop.nordlys.example/p/NL-BIDI-001',
  image: 'https://cdn.nordlys.example/img/NL-BIDI-001.jpg',
  sizes: [{ size: 'S', stock: 3 }, { size: 'M', stock: 4 }],
  tags: ['basics'],
});
const bidiProduct = productSchema.parse(laced);

const catalog = new Map(fixtures.catalog);
catalog.set(bidiProduct.sku, bidiProduct);
// Own deps (own cohort cache) over the catalog with the laced product.
const deps = createRenderDeps({
  config: { publicBaseUrl: 'https://mail.nordlys.example', tokenKeys: TEST_KEYS, tokenTtlDays: 30, unsubscribeTtlDays: 365, thresholds: DEFAULT_THRESHOLDS },
  templates,
  catalog: (sku) => catalog.get(sku),
  now: () => new Date(NOW),
});

// Its last name is 2,000 characters, the most the schema allows: two shorter, for the two controls.
const hostileFile = raw('profiles/hostile.json');
const hostileProfile = { ...hostileFile, lastName: (hostileFile.lastName as string).slice(0, 1998) };

/**
 * The raw request for a template over the hostile profile: its sample recommendations, cart and
 * order, plus the hostile inline products and a reference to the laced catalog product (with a
 * reason), everything laced with bidi controls, then validated as every entry point validates it.
 */
function hostileRequest(template: string, o: { now: string; locale: string; variant?: string }) {
  const manifest = templates.templates.get(template)!.manifest;
  const names = manifest.fixtures;
  const recs = names.recommendations ? raw(`recommendations/${names.recommendations}.json`) : undefined;
  const hostileItems = (raw('recommendations/hostile.json').items as unknown[]) ?? [];
  const items = [{ sku: bidiProduct.sku, reason: 'Because you like tees' }, ...hostileItems, ...((recs?.items as unknown[]) ?? [])];
  return renderRequestSchema.parse(
    laceWithBidi({
      template,
      profile: hostileProfile,
      recommendations: recs ? { ...recs, items } : { items },
      ...(names.cart ? { cart: raw(`carts/${names.cart}.json`) } : {}),
      ...(names.order ? { order: raw(`orders/${names.order}.json`) } : {}),
      context: { now: o.now },
      locale: o.locale,
      ...(o.variant ? { variant: o.variant } : {}),
    }),
  );
}

/** Every part a result carries: subject, preheader, AMP, HTML, text; WhatsApp message and preview. */
function parts(result: RenderResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.email ?? {})) if (typeof v === 'string') out[`email.${k}`] = v;
  const wa = result.whatsapp;
  if (wa && !wa.suppressed) {
    out['whatsapp.message'] = JSON.stringify(wa.message);
    out['whatsapp.preview'] = JSON.stringify(wa.preview);
  }
  return out;
}

// Inside the hostile profile's 24-hour window (session text) and days after it (approved templates).
const WINDOWS = { session: NOW, template: '2026-11-26T10:00:00Z' };

describe('bidi controls from data reach no part of any message', () => {
  for (const [name, compiled] of templates.templates) {
    it(`${name}: every part, locale, variant and WhatsApp kind`, () => {
      const variants = compiled.manifest.variants.length ? compiled.manifest.variants.map((v) => v.id) : [undefined];
      const seen = new Set<string>();
      for (const [kind, now] of Object.entries(WINDOWS)) {
        for (const locale of LOCALES) {
          for (const variant of variants) {
            // Twice: the second render of a cohort fills the first name into the shared parts.
            for (let i = 0; i < 2; i++) {
              const result = renderMessage(hostileRequest(name, { now, locale, variant }), deps);
              for (const [part, text] of Object.entries(parts(result))) {
                seen.add(part);
                expect(bidiControlsIn(text), `${name} ${locale} ${variant ?? ''} ${kind} ${part}`).toEqual([]);
              }
              if (result.whatsapp && !result.whatsapp.suppressed) expect(result.whatsapp.kind).toBe(kind);
            }
          }
        }
      }
      const expected = compiled.manifest.channels.includes('email') ? ['email.subject', 'email.preheader', 'email.html', 'email.text'] : [];
      if (compiled.ampSource) expected.push('email.amp');
      if (compiled.whatsapp) expected.push('whatsapp.message', 'whatsapp.preview');
      expect([...seen].sort()).toEqual(expected.sort());
    });
  }

  it('the laced catalog product and the reason show up cleaned, in HTML, text and WhatsApp', () => {
    const result = renderMessage(hostileRequest('price-drop', { now: NOW, locale: 'en' }), deps);
    expect(result.email!.html).toContain('Cotton Tee exe.gpj');
    expect(result.email!.text).toContain('Cotton Tee exe.gpj');
    expect(JSON.stringify(result.whatsapp)).toContain('Cotton Tee exe.gpj');
    expect(deps.cohorts!.stats.hits).toBeGreaterThan(0);
  });
});

describe('right-to-left text in data is kept', () => {
  // Hebrew and Arabic letters, and the right-to-left mark, which is kept on purpose (data-text.ts).
  const name = '\u202Eשלום \u2067مرحبا\u2069\u200F';
  const clean = 'שלום مرحبا\u200F';
  const profile = { ...raw('profiles/sophie.json'), firstName: name, whatsapp: { lastInboundAt: '2026-11-22T09:30:00Z' } };

  it('in the subject, HTML, AMP, text and WhatsApp body, without the controls around it', () => {
    expect(profileSchema.parse(profile).firstName).toBe(clean);
    const request = renderRequestSchema.parse({
      template: 'abandoned-cart',
      profile,
      cart: raw('carts/default.json'),
      recommendations: raw('recommendations/picks-8.json'),
      context: { now: NOW },
    });
    const result = renderMessage(request, deps);
    const email = result.email!;
    expect(email.subject).toContain(clean);
    for (const part of [email.html, email.amp!, email.text]) expect(part).toContain(clean);
    if (!result.whatsapp || result.whatsapp.suppressed) throw new Error('expected a WhatsApp message');
    expect(result.whatsapp.message.body).toContain(clean);
    expect(bidiControlsIn(JSON.stringify(result))).toEqual([]);
  });

  it('in product titles and the hostile fixture’s Hebrew', () => {
    const result = renderMessage(hostileRequest('recommendations', { now: NOW, locale: 'en' }), deps);
    // hostile.json's first inline product: "<script>alert(1)</script> {{title}} שלום".
    expect(result.email!.text).toContain('<script>alert(1)</script> {{title}} שלום');
  });
});
