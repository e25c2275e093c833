import { describe, expect, it } from 'vitest';
import { createHandlebarsEnv } from '../../src/templates/handlebars-env.ts';
import { FragmentCache, renderPart } from '../../src/render/fragment-cache.ts';
import type { CardPartName } from '../../src/templates/split-product-cards.ts';
import { renderMessage, type RenderDeps } from '../../src/render/render-message.ts';
import { HELPER_ROOT_READS } from '../../src/templates/split-product-cards.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { emailView } from '../support/naive-render.ts';
import { personalCatalog, personalRequests } from '../support/personal-campaign.ts';
import { LOCALES, NOW, renderKit } from '../support/render-kit.ts';

const { templates, fixtures, deps } = await renderKit();
const full: RenderDeps = { ...deps, cohorts: undefined, fragments: undefined };
const sorted = (w: string[]) => [...w].sort();

describe('fragment cache: product cards shared between recipients', () => {
  it('knows what every registered helper reads', () => {
    expect(Object.keys(createHandlebarsEnv().helpers).filter((h) => !(h in HELPER_ROOT_READS) && !['lookup', 'log', 'helperMissing', 'blockHelperMissing'].includes(h))).toEqual([]);
  });

  it('cuts the product cards out of every part that lists products', () => {
    const cut = [...templates.templates].map(([name, t]) => `${name}:${Object.keys(t.email.get('en')!.cards).join(',')}`);
    expect(cut).toContain('recommendations:html,amp,text');
    expect(cut).toContain('win-back:html,amp,text');
    expect(cut).toContain('shop-the-look:html,amp,text');
  });

  it('renders every template × fixture × locale byte for byte as the one-pass render, from the cache too', () => {
    const fragments = new FragmentCache();
    const cached: RenderDeps = { ...full, fragments };
    for (const [name, compiled] of templates.templates) {
      for (const profile of fixtures.profiles.keys()) {
        for (const locale of LOCALES) {
          // Three recipients each: the second sighting of a card keeps it, the third is served from it.
          for (const n of [1, 2, 3]) {
            const request = sampleRequest(compiled.manifest, fixtures, profile, { now: NOW, locale });
            const r = { ...request, context: { ...request.context, messageId: `frag-${n}` } };
            const a = renderMessage(r, cached);
            const b = renderMessage(r, full);
            expect(a.email, `${name}/${profile}/${locale}/${n}`).toEqual(b.email);
            expect(sorted(a.warnings)).toEqual(sorted(b.warnings));
          }
        }
      }
    }
    expect(fragments.stats.hits).toBeGreaterThan(1000);
  });

  it('renders recipients with their own products, names and tokens byte for byte as the one-pass render', () => {
    const catalogList = personalCatalog(4);
    const catalog = new Map(catalogList.map((p) => [p.sku, p]));
    const fragments = new FragmentCache();
    const own: RenderDeps = { ...full, catalog: (sku) => catalog.get(sku) };
    const manifests = ['recommendations', 'win-back', 'shop-the-look', 'welcome-offer'].map((n) => templates.templates.get(n)!.manifest);
    const requests = personalRequests(catalogList, { seed: 11, count: 240, templates: manifests, now: NOW, products: 6 });
    // Twice over: the second time round the cards repeat, and the AMP ones carry other tokens.
    for (const r of [...requests, ...requests.map((q) => ({ ...q, context: { ...q.context, messageId: `${q.context.messageId}-again` } }))]) {
      const request = { ...r, channels: ['email' as const] };
      expect(renderMessage(request, { ...own, fragments }).email).toEqual(renderMessage(request, own).email);
    }
    expect(fragments.stats.hits).toBeGreaterThan(0);
  });

  it('a change to any single input of a card key changes the card', () => {
    const compiled = templates.templates.get('recommendations')!;
    const parts = compiled.email.get('en')!;
    type View = ReturnType<typeof emailView>;
    // Views of every fixture profile: a compare-at price only shows on a product on sale, and so on.
    const views: View[] = [...fixtures.profiles.keys()].slice(0, 3).map((profile) => {
      const request = sampleRequest(compiled.manifest, fixtures, profile, { now: NOW, locale: 'en' });
      return emailView({ templates, fixtures, deps: full }, request, renderMessage(request, full), NOW);
    });
    // And the same lists on sale without an offer, in the preferred size: fields that only show then.
    for (const view of [...views]) {
      views.push({ ...view, products: view.products.map((p) => ({ ...p, onSale: true, offerPriceText: undefined, compareAtText: p.compareAtText ?? '€1.00', preferredAvailable: true, selectedSize: p.selectedSize ?? 'M', reason: p.reason ?? 'Because' })) });
      views.push({ ...view, products: view.products.map((p) => ({ ...p, reduction: true, priorPriceText: p.priorPriceText ?? '€2.00' })) });
    }
    const scope = (cache: FragmentCache) => ({ cache, templateHash: compiled.hash, locale: 'en' });
    const mutate = (v: unknown): unknown => {
      if (typeof v === 'string') return `${v}Z&<`;
      if (typeof v === 'boolean') return !v;
      if (typeof v === 'number') return v + 1;
      if (Array.isArray(v)) return v.map((s: { size: string }) => ({ ...s, size: `${s.size}Z` }));
      return 'Z';
    };
    const withProduct = (view: View, j: number, field: string): View => ({
      ...view,
      products: view.products.map((p, k) => (k === j ? { ...p, [field]: mutate((p as unknown as Record<string, unknown>)[field]) } : p)),
    });
    const withField = (view: View, j: number, field: string, value: unknown): View => ({
      ...view,
      products: view.products.map((p, k) => (k === j ? { ...p, [field]: value } : p)),
    });
    for (const part of ['html', 'amp', 'text'] as CardPartName[]) {
      const split = parts.cards[part]!;
      const fn = parts[part]!;
      const reads = split.cards[0]!.reads;
      const inputs: [string, (view: View) => View[]][] = [
        ...(reads.product as string[]).map((field): [string, (view: View) => View[]] => [`product.${field}`, (view) => view.products.map((_, j) => withProduct(view, j, field))]),
        // Holes: another value is filled in, and a value that comes or goes (or empties) is another key.
        ...reads.productHoles.flatMap((field): [string, (view: View) => View[]][] => [
          [`product.${field} (filled)`, (view) => view.products.map((_, j) => withProduct(view, j, field))],
          [`product.${field} (present)`, (view) => view.products.flatMap((p, j) => ((p as unknown as Record<string, unknown>)[field] ? [undefined, ''] : ['Z&<']).map((v) => withField(view, j, field, v)))],
        ]),
        ...reads.data.map((name): [string, (view: View) => View[]] => [`@${name}`, (view) => [{ ...view, products: [...view.products].reverse() }]]),
        ...reads.holes.map((path): [string, (view: View) => View[]] => {
          const field = path.split('.')[1]! as keyof View['amp'];
          return [`@root.${path}`, (view) => [{ ...view, amp: { ...view.amp, [field]: `${view.amp[field]}Z&` } }]];
        }),
      ];
      expect(inputs.length).toBeGreaterThan(5);
      for (const [input, changes] of inputs) {
        let shown = 0;
        for (const view of views) {
          const original = fn(view);
          const cache = new FragmentCache();
          // Kept the second time, served the third: a key that missed the change would serve the original.
          for (let i = 0; i < 2; i++) expect(renderPart(part, fn, split, view, scope(cache))).toBe(original);
          // Cards of one shape share an entry, so some hit earlier; the third time every card does.
          const hits = cache.stats.hits;
          expect(renderPart(part, fn, split, view, scope(cache))).toBe(original);
          expect(cache.stats.hits - hits).toBe(view.products.length);
          for (const changed of changes(view)) {
            if (fn(changed) === original) continue;
            shown++;
            expect(renderPart(part, fn, split, changed, scope(cache)), `${part}: ${input}`).toBe(fn(changed));
          }
        }
        expect(shown, `${part}: a change to ${input} shows in no card`).toBeGreaterThan(0);
      }
    }
  });
});
