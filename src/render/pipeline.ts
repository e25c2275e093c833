/**
 * The render pipeline: one recipient, one template, every requested channel, in these steps.
 *
 *   1. validate     steps/validate-request.ts  request + template set → RenderPlan (template, variant, channels, clock, id, signers)
 *   2. personalize  steps/personalize.ts       plan → ViewBase (locale, segments, offer, products, cart, loyalty; data checked)
 *   3. view         steps/email-view.ts        plan + base → EmailView (the recipient's view, or the cohort's with markers)
 *   4. parts        steps/email-parts.ts       plan + view → EmailParts (frozen; cohort parts filled in, or the
 *                                              parts rendered with their product cards from fragment-cache.ts)
 *                   steps/whatsapp-parts.ts    plan + base → WhatsAppRender (steps 3 and 4 for WhatsApp)
 *   5. encode       encode-result.ts           RenderResult → the bytes of its JSON (HTTP; gzip: http/compression/)
 *
 * Each step is a function of what the steps before it returned; nothing passes between them
 * any other way. Steps 1–4 are `renderMessage`, pure apart from the clock and id generator in
 * `deps`; HTTP, CLI, preview and campaigns all call it and nothing below it. Step 5 takes the
 * result as its argument: whatever the caller sends is what the result holds (the email parts
 * are frozen, so they cannot drift from what a cohort render shares).
 */
import type { RenderRequest } from './render-input.ts';
import type { RenderDeps, RenderResult } from './render-result.ts';
import { emailParts, localeParts } from './steps/email-parts.ts';
import { emailView } from './steps/email-view.ts';
import { personalize } from './steps/personalize.ts';
import { validateRequest } from './steps/validate-request.ts';
import { whatsappParts } from './steps/whatsapp-parts.ts';

/**
 * @example
 * const result = renderMessage({ template: 'price-drop', profile, recommendations, context: {} }, deps);
 * result.email?.amp // the AMP4EMAIL document
 */
export function renderMessage(request: RenderRequest, deps: RenderDeps): RenderResult {
  const plan = validateRequest(request, deps);
  const result: RenderResult = { id: plan.messageId, template: plan.compiled.manifest.name, variant: plan.variant, locale: '', segments: [], warnings: plan.warnings };
  const email = plan.channels.includes('email');
  const whatsapp = plan.channels.includes('whatsapp') && plan.compiled.whatsapp !== undefined;
  if (email || whatsapp) {
    const base = personalize(plan);
    result.locale = base.locale;
    result.segments = base.segmentList;
    if (email) {
      const parts = localeParts(plan.compiled, base.locale);
      for (const w of parts.warnings) plan.warnings.push(w);
      // A cohort shares one email between recipients; tracked links are each recipient's own, and
      // a derived text part is wrapped by width, which a marker would change.
      const shareable = plan.viewDeps.trackLink === undefined && parts.text !== undefined;
      if (deps.cohorts && !shareable) deps.cohorts.stats.bypassed++;
      const cohorts = shareable ? deps.cohorts : undefined;
      const view = emailView(plan, base, cohorts);
      result.email = emailParts(plan, view, { cohorts, fragments: deps.fragments }, base.locale);
    }
    if (whatsapp) result.whatsapp = whatsappParts(plan, base, deps);
  }
  // Helpers and views may report the same thing per product or per part; say it once.
  result.warnings = [...new Set(plan.warnings)];
  return result;
}
