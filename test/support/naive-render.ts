import mjml2html from 'mjml';
import { buildView, type RenderView } from '../../src/render/build-view.ts';
import type { RenderRequest } from '../../src/render/render-input.ts';
import type { RenderResult } from '../../src/render/render-message.ts';
import type { RenderKit } from './render-kit.ts';

/**
 * The naive reference render of the HTML part: the same view the compiled path used,
 * Handlebars over the whole MJML document, then MJML — per recipient. The byte-equality test
 * and the benchmark both compare the compiled output with this.
 */
export function createNaiveHtml(kit: RenderKit, now: string) {
  const { templates } = kit;
  const documents = new Map<string, (view: object) => string>();
  return async (request: RenderRequest, compiledResult: RenderResult): Promise<string> => {
    const compiled = templates.templates.get(request.template)!;
    let document = documents.get(request.template);
    if (!document) {
      document = templates.hb.compile(compiled.mjmlDocument!, { preventIndent: true });
      documents.set(request.template, document);
    }
    return (await mjml2html(document(emailView(kit, request, compiledResult, now)), { validationLevel: 'soft', keepComments: false })).html;
  };
}

/**
 * The email view a compiled render used, built again from the request (the variant and message
 * id from its result), with the subject and preheader joined as the email parts see them.
 */
export function emailView(kit: RenderKit, request: RenderRequest, compiledResult: RenderResult, now: string): RenderView & { subject: string; preheader: string } {
  const { templates, deps } = kit;
  const compiled = templates.templates.get(request.template)!;
  const messageId = compiledResult.id;
  const view = buildView(
    {
      manifest: compiled.manifest,
      profile: request.profile,
      recommendations: request.recommendations,
      cart: request.cart,
      order: request.order,
      locale: request.locale,
      variant: compiledResult.variant,
      campaignId: request.context.campaignId,
      messageId,
      channel: 'email',
    },
    {
      brand: templates.shared.brand,
      locales: templates.shared.locales,
      thresholds: deps.thresholds,
      catalog: deps.catalog,
      now: new Date(now),
      publicBaseUrl: deps.publicBaseUrl,
      // Signed for what the message shows, as the render signs it: the AMP part then matches too.
      ampToken: (content) =>
        deps.signAmpToken({ sub: request.profile.id, msg: messageId, cmp: request.context.campaignId, var: request.context.campaignId === undefined ? undefined : compiledResult.variant, tpl: request.template, cartAt: Math.floor(Date.parse(now) / 1000) }, content),
      signPayload: deps.signPayload,
      unsubscribeToken: (loc) => deps.signUnsubscribeToken!({ sub: request.profile.id, cmp: request.context.campaignId, loc }, new Date(now)),
    },
    [],
  );
  const email = compiledResult.email!;
  return { ...view, subject: email.subject, preheader: email.preheader };
}
