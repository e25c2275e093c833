import { describe, expect, it } from 'vitest';
import { renderMessage, type RenderResult } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { NOW, renderKit } from '../support/render-kit.ts';

const { templates, fixtures, deps } = await renderKit();

function render(template: string, profile: string, extra: Record<string, unknown> = {}): RenderResult {
  const manifest = templates.templates.get(template)!.manifest;
  return renderMessage({ ...sampleRequest(manifest, fixtures, profile, { now: NOW }), channels: ['email'], ...extra }, deps);
}
const body = (r: RenderResult) => r.email!.html.slice(r.email!.html.indexOf('<body'));

describe('template library: segment-specific content for the right customers only', () => {
  it('ships the retail journeys', () => {
    for (const name of ['recommendations', 'price-drop', 'abandoned-cart', 'back-in-stock', 'vip-early-access', 'win-back', 'welcome-offer', 'birthday-reward', 'shop-the-look']) {
      expect(templates.templates.has(name), name).toBe(true);
    }
  });

  describe('vip-early-access', () => {
    it('a VIP sees early access at full price, never a discount', () => {
      const r = render('vip-early-access', 'sophie', { recommendations: { ...fixtures.recommendations.get('new-arrivals')!, offer: { percentOff: 20, code: 'SALE20' } } });
      expect(r.email!.subject).toBe('Sophie, the new collection is yours first');
      expect(body(r)).toContain('Early access for our best customers');
      expect(body(r)).toContain('As a Gold member you shop it 48 hours before everyone else');
      expect(r.email!.html).not.toContain('SALE20');
      expect(r.email!.html).not.toMatch(/% off/);
      expect(r.email!.text).not.toContain('SALE20');
    });
    it('a non-VIP gets a first look without early access', () => {
      const r = render('vip-early-access', 'rachel');
      expect(r.email!.subject).toBe('The new collection: early access');
      expect(body(r)).not.toContain('Early access for our best customers');
      expect(body(r)).toContain('Our new collection arrives soon.');
    });
  });

  describe('price-drop', () => {
    it('a discount seeker sees the discount first; a VIP does not see it at all', () => {
      const rachel = body(render('price-drop', 'rachel'));
      expect(rachel.indexOf('15% off for you')).toBeGreaterThan(-1);
      expect(rachel.indexOf('15% off for you')).toBeLessThan(rachel.indexOf('heading">Merino Rib Knit Top'));
      expect(body(render('price-drop', 'sophie'))).not.toContain('15% off for you');
    });
  });

  describe('win-back', () => {
    it('a customer lapsed 200 days gets the win-back offer, its countdown and her usual size', () => {
      const r = render('win-back', 'ingrid');
      expect(r.email!.subject).toBe('Ingrid, vi saknar dig');
      expect(body(r)).toContain('Det var ett tag sedan');
      expect(body(r)).toContain('20 % rabatt för dig');
      expect(body(r)).toContain('COMEBACK20');
      expect(body(r)).toMatch(/Gäller till 7 december 2026/);
      expect(r.email!.amp).toMatch(/option="28" selected>28</);
    });
    it('an active customer gets new arrivals instead, without the win-back offer or its prices', () => {
      const r = render('win-back', 'rachel');
      expect(body(r)).not.toContain('It has been a while');
      expect(body(r)).toContain('New in, picked for you');
      expect(body(r)).not.toContain('COMEBACK20');
      // The jeans cost €89.95; 20% off would show €71.96.
      expect(body(r)).toContain('€89.95');
      expect(r.email!.html + r.email!.amp + r.email!.text).not.toContain('€71.96');
      expect(r.warnings).toContain("offer withheld: template 'win-back' reserves it for at_risk");
    });
  });

  describe('welcome-offer', () => {
    it('a new Turkish subscriber sees a 48-hour offer with its expiry, prices in lira', () => {
      const r = render('welcome-offer', 'emre');
      expect(r.email!.subject).toBe("Nordlys'e hoş geldiniz, Emre");
      expect(body(r)).toContain('Size özel %10 indirim');
      expect(body(r)).toContain('48 saat içinde bitiyor');
      expect(body(r)).toMatch(/24 Kasım 2026/);
      expect(body(r)).toMatch(/₺/);
    });
    it('a customer who is not a new subscriber is not told about a first-order discount', () => {
      const r = render('welcome-offer', 'sophie');
      expect(body(r)).not.toContain('WELCOME10');
      expect(body(r)).toContain('Thank you for joining us. Here is where to start.');
    });

    it('an offer that expired before the render is withheld, and the countdown never says "ended" while time is left', () => {
      const manifest = templates.templates.get('welcome-offer')!.manifest;
      const base = sampleRequest(manifest, fixtures, 'emre', { now: NOW });
      const expired = renderMessage({ ...base, channels: ['email'], recommendations: { ...base.recommendations!, offer: { ...base.recommendations!.offer!, expiresAt: '2026-11-22T09:00:00Z' } } }, deps);
      expect(expired.warnings).toContain('offer withheld: it expired before this render');
      expect(body(expired)).not.toContain('%10');
      const halfHour = renderMessage({ ...base, channels: ['email'], recommendations: { ...base.recommendations!, offer: { ...base.recommendations!.offer!, expiresAt: '2026-11-22T10:30:00Z' } } }, deps);
      expect(body(halfHour)).toContain('1 saat içinde bitiyor');
    });

    it('refuses to render without the offer it is built around', () => {
      const manifest = templates.templates.get('welcome-offer')!.manifest;
      const base = sampleRequest(manifest, fixtures, 'emre', { now: NOW });
      expect(() => renderMessage({ ...base, recommendations: { items: base.recommendations!.items } }, deps)).toThrow(/needs an offer/);
    });
  });

  describe('birthday-reward', () => {
    it('a customer with a birthday this month gets the perk and a progress bar 150 points short of Gold', () => {
      const r = render('birthday-reward', 'ayse');
      expect(r.email!.subject).toBe('Doğum gününüz kutlu olsun, Ayşe!');
      expect(body(r)).toContain('Doğum günü hediyeniz: 200 ekstra puan');
      expect(body(r)).toContain('Altın seviyesine 150 puan');
      expect(body(r)).toContain('width="85%"');
      expect(r.email!.amp).toContain('aria-valuenow="85"');
    });
    it('outside the birthday month: no perk, just the points', () => {
      const r = render('birthday-reward', 'sophie');
      expect(body(r)).not.toContain('Happy birthday');
      expect(body(r)).toContain('Thank you for being a member.');
      expect(body(r)).toContain('40 points to Platinum');
      expect(body(r)).toContain('width="98%"');
    });
  });

  describe('back-in-stock', () => {
    it('names the customer size when it is back, and not otherwise', () => {
      expect(body(render('back-in-stock', 'ingrid'))).toContain('Din storlek 28 finns igen.');
      expect(body(render('back-in-stock', 'rachel'))).not.toMatch(/Your size \w+ is available again/);
    });
  });

  describe('shop-the-look', () => {
    it('adds the whole outfit with one form, each piece in the customer size', () => {
      const r = render('shop-the-look', 'ingrid');
      const form = /<form method="post" action-xhr="[^"]+\/amp\/v1\/cart\?token[^"]+">([\s\S]*?)<\/form>/.exec(r.email!.amp!)![1]!;
      expect(form).toContain('<input type="hidden" name="action" value="add-look">');
      expect(form.match(/name="sku\.\d"/g)).toHaveLength(4);
      expect(form).toMatch(/<amp-selector name="size\.1"[\s\S]*?option="28" selected>28</);
      expect(body(r)).toContain('4 plagg');
    });
  });

  describe('location blocks', () => {
    it('coast customers read about swimwear, mountain customers about skis, a nearby store by name', () => {
      expect(body(render('recommendations', 'rachel'))).toContain('swimwear and paddle boards are in');
      expect(body(render('recommendations', 'ingrid'))).toContain('den nya skidkollektionen har kommit');
      expect(body(render('recommendations', 'lars-coast'))).toContain('Välkommen till Nordlys Göteborg Nordstan.');
      expect(body(render('recommendations', 'sophie'))).not.toMatch(/paddle boards|ski collection/);
    });
  });
});

describe('accessible, robust HTML', () => {
  for (const name of ['recommendations', 'price-drop', 'abandoned-cart', 'back-in-stock', 'vip-early-access', 'win-back', 'welcome-offer', 'birthday-reward', 'shop-the-look']) {
    it(`${name}: lang and dir, alt text on every image, a dark-mode rule, a preheader`, () => {
      const r = render(name, 'ingrid');
      expect(r.email!.html).toMatch(/<html lang="sv" dir="ltr"/);
      expect(r.email!.amp).toMatch(/<html ⚡4email data-css-strict lang="sv" dir="ltr">/);
      for (const img of r.email!.html.match(/<img [^>]*>/g) ?? []) expect(img).toMatch(/alt="[^"]+"/);
      for (const img of r.email!.amp!.match(/<amp-img [^>]*>/g) ?? []) expect(img).toMatch(/alt="[^"]+"/);
      expect(r.email!.html).toContain('prefers-color-scheme: dark');
      expect(r.email!.preheader.length).toBeGreaterThan(10);
    });
  }
});
