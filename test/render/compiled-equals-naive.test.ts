import mjml2html from 'mjml';
import { describe, expect, it } from 'vitest';
import { buildView } from '../../src/render/build-view.ts';
import { renderMessage } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/templates/template-fixtures.ts';
import { LOCALES, NOW, renderKit } from '../support/render-kit.ts';

const { templates, fixtures, deps } = await renderKit();

/**
 * The naive reference: Handlebars over the full MJML document for this recipient, then MJML.
 * The compiled path ran MJML once with placeholders; both must agree byte for byte, which is
 * what proves the template lint's rules are enough.
 */
async function naiveHtml(name: string, view: object): Promise<string> {
  const compiled = templates.templates.get(name)!;
  const personalised = templates.hb.compile(compiled.mjmlDocument!, { preventIndent: true })(view);
  const out = await mjml2html(personalised, { validationLevel: 'soft', keepComments: false });
  return out.html;
}

describe('compiled HTML equals the naive Handlebars-then-MJML path', () => {
  for (const [name, compiled] of templates.templates) {
    if (!compiled.mjmlDocument) continue;
    it(`${name}: byte-identical for every fixture profile and locale`, async () => {
      let compared = 0;
      for (const profile of fixtures.profiles.keys()) {
        for (const locale of LOCALES) {
          const request = { ...sampleRequest(compiled.manifest, fixtures, profile, { locale, now: NOW }), channels: ['email' as const] };
          const result = renderMessage({ ...request, context: { ...request.context, messageId: 'msg-1' } }, deps);
          const warnings: string[] = [];
          const view = buildView(
            {
              manifest: compiled.manifest,
              profile: request.profile,
              recommendations: request.recommendations,
              cart: request.cart,
              locale,
              variant: result.variant,
              campaignId: request.context.campaignId,
              messageId: 'msg-1',
              channel: 'email',
            },
            {
              brand: templates.shared.brand,
              locales: templates.shared.locales,
              thresholds: deps.thresholds,
              catalog: deps.catalog,
              now: new Date(NOW),
              publicBaseUrl: deps.publicBaseUrl,
              ampToken: deps.signAmpToken({ sub: request.profile.id, msg: 'msg-1', cmp: request.context.campaignId, tpl: name }),
              signPayload: deps.signPayload,
            },
            warnings,
          );
          const naive = await naiveHtml(name, { ...view, subject: result.email!.subject, preheader: result.email!.preheader });
          if (result.email!.html !== naive) {
            let i = 0;
            while (result.email!.html[i] === naive[i]) i++;
            expect(result.email!.html.slice(i - 120, i + 120), `${name}/${profile}/${locale}`).toBe(naive.slice(i - 120, i + 120));
          }
          compared++;
        }
      }
      expect(compared).toBe(fixtures.profiles.size * LOCALES.length);
    });
  }
});
