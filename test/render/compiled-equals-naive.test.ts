import { describe, expect, it } from 'vitest';
import { renderMessage } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { createNaiveHtml } from '../support/naive-render.ts';
import { LOCALES, NOW, renderKit } from '../support/render-kit.ts';

const kit = await renderKit();
const { templates, fixtures, deps } = kit;
// The compiled path ran MJML once with placeholders; the naive one runs it per recipient.
// Byte equality for every template, fixture and locale is what proves the lint rules enough.
const naiveHtml = createNaiveHtml(kit, NOW);

describe('compiled HTML equals the naive Handlebars-then-MJML path', () => {
  for (const [name, compiled] of templates.templates) {
    if (!compiled.mjmlDocument) continue;
    it(`${name}: byte-identical for every fixture profile and locale`, async () => {
      let compared = 0;
      for (const profile of fixtures.profiles.keys()) {
        for (const [locale, withoutReasons] of LOCALES.flatMap((l) => [[l, false], [l, true]] as const)) {
          const request = { ...sampleRequest(compiled.manifest, fixtures, profile, { locale, now: NOW }), channels: ['email' as const] };
          request.context = { ...request.context, messageId: 'msg-1' };
          // Products without a reason leave a conditional empty inside mj-text: the spacing
          // around it must come out as MJML's own does.
          if (withoutReasons && request.recommendations) {
            request.recommendations = { ...request.recommendations, items: request.recommendations.items.map((item) => {
              const { reason: _reason, ...rest } = item as typeof item & { reason?: unknown };
              return rest;
            }) };
          }
          const result = renderMessage(request, deps);
          const naive = await naiveHtml(request, result);
          if (result.email!.html !== naive) {
            let i = 0;
            while (result.email!.html[i] === naive[i]) i++;
            const at = Math.max(0, i - 120);
            // Fails with the first difference in view (the whole documents are 60 kB).
            expect(result.email!.html.slice(at, i + 120), `${name}/${profile}/${locale}${withoutReasons ? ' without reasons' : ''} differ at byte ${i}`).toBe(naive.slice(at, i + 120));
            expect(result.email!.html).toBe(naive);
          }
          compared++;
        }
      }
      expect(compared).toBe(fixtures.profiles.size * LOCALES.length * 2);
    });
  }
});
