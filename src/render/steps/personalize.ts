import { buildViewBase, type ViewBase } from '../build-view.ts';
import type { RenderPlan } from './validate-request.ts';

/**
 * Step 2: everything about the recipient's message that no channel changes — locale,
 * segments, the offer they are entitled to, the products and cart lines that can be shown,
 * loyalty — once per message. Throws TemplateDataError when the data does not satisfy what
 * the template declares it needs.
 */
export function personalize(plan: RenderPlan): ViewBase {
  const { request, compiled } = plan;
  return buildViewBase(
    {
      manifest: compiled.manifest,
      profile: request.profile,
      recommendations: request.recommendations,
      cart: request.cart,
      order: request.order,
      locale: request.locale,
      variant: plan.variant,
      campaignId: request.context.campaignId,
      messageId: plan.messageId,
    },
    plan.viewDeps,
    plan.warnings,
  );
}
