import { randomUUID } from 'node:crypto';
import { assignVariant } from '../../personalize/assign-variant.ts';
import type { CompiledTemplate } from '../../templates/compile-template.ts';
import type { Channel } from '../../templates/template-manifest.ts';
import type { ViewDeps } from '../build-view.ts';
import type { RenderRequest } from '../render-input.ts';
import { UnknownTemplateError, UnknownVariantError, type RenderDeps } from '../render-result.ts';

/** What the later steps render: the template, the variant and channels it has, the clock and ids. */
export interface RenderPlan {
  request: RenderRequest;
  compiled: CompiledTemplate;
  now: Date;
  messageId: string;
  variant?: string;
  /** The requested channels the template has (all of them when none were asked for). */
  channels: Channel[];
  /** What the view steps need, with this message's token signers. */
  viewDeps: ViewDeps;
  /** Grows through the steps; the result says each warning once. */
  warnings: string[];
}

/**
 * Step 1: the request against the template set (template, variant, channels), the message's
 * clock and id, and its signers. The data itself is checked against what the template needs
 * in step 2 (buildViewBase), even when nothing is sent.
 */
export function validateRequest(request: RenderRequest, deps: RenderDeps): RenderPlan {
  const compiled = deps.templates.templates.get(request.template);
  if (!compiled) throw new UnknownTemplateError(request.template, [...deps.templates.templates.keys()]);
  const manifest = compiled.manifest;
  const now = request.context.now ? new Date(request.context.now) : (deps.now?.() ?? new Date());
  const messageId = request.context.messageId ?? (deps.newId ?? randomUUID)();

  const known = manifest.variants.map((v) => v.id);
  if (request.variant && !known.includes(request.variant)) throw new UnknownVariantError(manifest.name, request.variant, known);
  const variant = request.variant ?? assignVariant(request.profile.id, manifest.name, manifest.variants);

  const channels: Channel[] = (request.channels ?? manifest.channels).filter((c) => manifest.channels.includes(c));
  const warnings: string[] = [];
  for (const c of request.channels ?? []) if (!manifest.channels.includes(c)) warnings.push(`template '${manifest.name}' has no ${c} part`);
  if (channels.includes('email') && compiled.ampSource && !deps.publicBaseUrl.startsWith('https://')) {
    warnings.push(`AMP endpoints use ${deps.publicBaseUrl}; mail clients only call https endpoints, so set PUBLIC_BASE_URL to the public https address`);
  }

  // Signed at most once per message (a cohort render that falls back to a full one asks twice).
  let signed: string | undefined;
  const ampToken = (content: Parameters<RenderDeps['signAmpToken']>[1], contentJson?: string) =>
    (signed ??= deps.signAmpToken({ sub: request.profile.id, msg: messageId, cmp: request.context.campaignId, var: request.context.campaignId === undefined ? undefined : variant, tpl: manifest.name, cartAt: Math.floor(now.getTime() / 1000) }, content, contentJson));
  let unsubscribe: string | undefined;
  const signUnsubscribe = deps.signUnsubscribeToken;
  const unsubscribeToken = signUnsubscribe
    ? (loc: string) => (unsubscribe ??= signUnsubscribe({ sub: request.profile.id, cmp: request.context.campaignId, loc }, now))
    : undefined;
  const campaignId = request.context.campaignId;
  const tracked = deps.trackedLink;
  const trackLink =
    tracked && campaignId !== undefined && request.context.messageId !== undefined
      ? (sku: string, url: string) => tracked({ campaignId, messageId, variant, customerId: request.profile.id, sku, url }, now)
      : undefined;
  const viewDeps: ViewDeps = {
    brand: deps.templates.shared.brand,
    locales: deps.templates.shared.locales,
    thresholds: deps.thresholds,
    catalog: deps.catalog,
    now,
    publicBaseUrl: deps.publicBaseUrl,
    ampToken,
    signPayload: deps.signPayload,
    unsubscribeToken,
    trackLink,
  };
  return { request, compiled, now, messageId, variant, channels, viewDeps, warnings };
}
