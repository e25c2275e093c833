import { planWhatsApp, renderWhatsApp, type WhatsAppRender } from '../whatsapp/render-whatsapp.ts';
import { channelView, type ViewBase } from '../build-view.ts';
import type { RenderDeps } from '../render-result.ts';
import type { RenderPlan } from './validate-request.ts';

/**
 * Steps 3 and 4 (WhatsApp): which kind of message the window allows (session, approved
 * template, or none), the view with the signed payloads that message reads, and its payloads.
 */
export function whatsappParts(plan: RenderPlan, base: ViewBase, deps: Pick<RenderDeps, 'contentSid' | 'whatsappOptedOut'>): WhatsAppRender {
  const { request, compiled, now } = plan;
  const manifest = compiled.manifest;
  const whatsapp = compiled.whatsapp!;
  const waDeps = { now, contentSid: deps.contentSid ?? (() => undefined), optedOut: deps.whatsappOptedOut?.(request.profile.id) ?? false };
  const kind = planWhatsApp(manifest.category, request.profile, waDeps);
  if (kind.suppressed) return kind;
  const payloads = kind.kind === 'session' ? whatsapp.needs.session : whatsapp.needs.approved;
  const { view } = channelView(base, { channel: 'whatsapp', payloads }, plan.viewDeps);
  return renderWhatsApp(manifest.name, manifest.category, whatsapp, view, request.profile, view.locale, waDeps);
}
