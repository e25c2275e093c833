import type { Logger } from 'pino';
import { buildEml } from '../channels/email/build-eml.ts';
import type { WhatsAppSender } from '../channels/whatsapp/twilio-sender.ts';
import type { Config } from '../config.ts';
import type { RenderFn } from '../render-service/render-service.ts';
import type { Profile } from '../personalize/profile-schema.ts';
import type { Recommendations } from '../personalize/recommendations-schema.ts';
import { computeSegments } from '../personalize/segments.ts';
import { emailParts, type ServiceRenderResult } from '../render/render-message.ts';
import type { ResultsRepository } from '../store/results-repository.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import { assignVariant } from '../personalize/assign-variant.ts';
import type { CampaignChannel, CampaignSpec } from './campaign-schema.ts';
import { deliveryKey, type CampaignsRepository, type Chunk, type DeliveryOutcome, type Recipient } from './campaigns-repository.ts';
import type { EmailDelivery } from './email-delivery.ts';
import { quietUntil } from './quiet-hours.ts';
import type { SendPacer } from './send-pacer.ts';

export interface ChunkDeps {
  repo: CampaignsRepository;
  /** Where each rendered message's variant is recorded: orders name the message, the report finds its variant there. */
  results: Pick<ResultsRepository, 'recordRender'>;
  render: RenderFn;
  templates: TemplateSet;
  config: Pick<Config, 'thresholds' | 'campaigns'>;
  email: EmailDelivery;
  /** Per-channel messages per second, shared by all workers. */
  pacer: SendPacer;
  whatsapp?: WhatsAppSender;
  /** The brand's sender (create-app.ts builds the same for `?format=eml`). */
  eml: { from: string; address: string; domain: string };
  now: () => Date;
  logger: Pick<Logger, 'warn' | 'error'>;
}

export interface ChunkRun {
  /** The campaign stopped being `running` (paused, cancelled) before the chunk was through. */
  interrupted: boolean;
  /** Deferred recipients (quiet hours) are due then: the chunk runs again. */
  again?: Date;
}

/** Tries of one message before a transient refusal counts as failed, and the wait before the first retry (doubling, tripling… after). */
const MAX_ATTEMPTS = 5;
const RETRY_AFTER_MS = 60_000;

/** How many recipients between two reads of the campaign's status: a pause takes effect within one such step. */
const STATUS_EVERY = 50;

/** Meta's messaging tiers count unique users over a rolling day. */
const TIER_WINDOW_MS = 24 * 3_600_000;

/**
 * Renders and delivers one chunk. Each campaign × customer × channel is claimed in the
 * delivery table before its message is handed over and skipped once it has an outcome, so a
 * chunk run again (its worker died, Redis redelivered the job, a deferral came due) sends
 * only what was not sent. The one window left is a worker killed after SMTP or Twilio took a
 * message and before the outcome was written: the claim's lease runs out and the message is
 * sent again with the same Message-ID (README, "Campaigns").
 */
export async function runChunk(chunk: Chunk, spec: CampaignSpec, deps: ChunkDeps): Promise<ChunkRun> {
  const { repo, config } = deps;
  const compiled = deps.templates.templates.get(spec.template);
  const recipients = await repo.recipients(chunk);
  const existing = await repo.deliveries(chunk);
  const now = deps.now();
  const marketing = compiled?.manifest.category !== 'transactional';
  const cap = marketing ? config.campaigns.frequencyCap : undefined;
  const capped = new Map<CampaignChannel, Set<string>>();
  if (cap) {
    const since = new Date(now.getTime() - cap.hours * 3_600_000);
    const ids = recipients.map((r) => r.customerId);
    for (const channel of spec.channels) capped.set(channel, await repo.recentlyMessaged(ids, channel, since, spec.id, cap.messages));
  }

  // The tier's count as of the chunk's start, moved on by this chunk's own sends. Workers running
  // other chunks at the same moment are not seen, so the tier can be passed by at most what they
  // have in flight; Twilio then refuses with 63018, which retries later (retryLater).
  const tier = spec.channels.includes('whatsapp') ? config.campaigns.whatsappTier : undefined;
  const reach = tier ? await repo.whatsappReach(recipients.map((r) => r.customerId), new Date(now.getTime() - TIER_WINDOW_MS)) : undefined;
  /** Undefined when the customer may get a WhatsApp message now, else when the tier has room again. */
  const tierFull = (customerId: string): Date | undefined => {
    if (!reach || !tier || reach.reached.has(customerId)) return undefined;
    if (reach.users < tier) {
      reach.users += 1;
      reach.reached.add(customerId);
      return undefined;
    }
    // The oldest conversation in the window leaves it first; without one (all from this chunk), a day from now.
    return new Date((reach.oldest ? Date.parse(reach.oldest) : now.getTime()) + TIER_WINDOW_MS);
  };

  let again: number | undefined;
  const later = (at: Date | string) => {
    const t = typeof at === 'string' ? Date.parse(at) : at.getTime();
    again = again === undefined ? t : Math.min(again, t);
  };
  const leaseUntil = () => new Date(deps.now().getTime() + config.campaigns.leaseMs);

  async function one(r: Recipient): Promise<void> {
    const profile = r.profile as Profile;
    const todo: CampaignChannel[] = [];
    for (const channel of spec.channels) {
      const row = existing.get(deliveryKey(r.customerId, channel));
      if (row?.status === 'deferred' && row.notBefore && row.notBefore > now.toISOString()) later(row.notBefore);
      else if (!row || row.status === 'deferred' || row.status === 'sending') todo.push(channel);
    }
    if (todo.length === 0) return;

    const claimed: CampaignChannel[] = [];
    for (const channel of todo) {
      if (await repo.claim(spec.id, r.customerId, channel, r.seq, leaseUntil())) claimed.push(channel);
      // Held by a claim still in its lease (a worker that may be alive): look again when it runs out.
      else later(existing.get(deliveryKey(r.customerId, channel))?.claimedUntil ?? leaseUntil());
    }
    if (claimed.length === 0) return;
    const finish = (channel: CampaignChannel, outcome: DeliveryOutcome) => repo.finish(spec.id, r.customerId, channel, outcome);

    const quiet = marketing && config.campaigns.quietHours ? quietUntil(profile.timezone, now, config.campaigns.quietHours) : undefined;
    if (quiet) {
      later(quiet);
      for (const channel of claimed) await finish(channel, { status: 'deferred', reason: 'quiet_hours', notBefore: quiet.toISOString() });
      return;
    }
    const send: CampaignChannel[] = [];
    for (const channel of claimed) {
      const tierAt = channel === 'whatsapp' && !capped.get(channel)?.has(r.customerId) ? tierFull(r.customerId) : undefined;
      if (capped.get(channel)?.has(r.customerId)) await finish(channel, { status: 'suppressed', reason: 'frequency_cap' });
      else if (channel === 'email' && !profile.email) await finish(channel, { status: 'suppressed', reason: 'no_email' });
      else if (channel === 'email' && marketing && !profile.consent.email) await finish(channel, { status: 'suppressed', reason: 'no_consent' });
      else if (tierAt) {
        later(tierAt);
        await finish(channel, { status: 'deferred', reason: 'whatsapp_tier', notBefore: tierAt.toISOString() });
      } else send.push(channel);
    }
    if (send.length === 0) return;

    let result: ServiceRenderResult;
    try {
      result = await deps.render({
        template: spec.template,
        profile,
        recommendations: recommendationsFor(spec, profile, now, config.thresholds),
        channels: send,
        context: { campaignId: spec.id, messageId: `${spec.id}.${r.seq}` },
        ...(spec.variants ? { variant: assignVariant(profile.id, spec.template, spec.variants.map((id) => ({ id, weight: 1 }))) } : {}),
      });
    } catch (error) {
      deps.logger.warn({ err: error, campaign: spec.id, seq: r.seq }, 'campaign recipient failed to render');
      for (const channel of send) await finish(channel, { status: 'failed', reason: 'render_error' });
      return;
    }
    // Recorded before the hand-over, so a message that reached the customer always has its row
    // (a chunk run again finds its delivery done and would not come back here).
    if (send.some((channel) => (channel === 'email' ? emailParts(result) !== undefined : result.whatsapp !== undefined && !result.whatsapp.suppressed))) {
      await deps.results.recordRender({ campaignId: spec.id, messageId: result.id, variant: result.variant, customerId: r.customerId, template: spec.template });
    }
    for (const channel of send) {
      await deps.pacer.wait(channel);
      const outcome = channel === 'email' ? await deliverEmail(r, profile, result) : await deliverWhatsApp(r, result);
      await finish(channel, retryLater(outcome, existing.get(deliveryKey(r.customerId, channel))?.attempts ?? 0));
    }
  }

  /**
   * A refusal that may pass later (SMTP 4xx or no connection, Twilio 63018 and other rate or
   * tier limits, 5xx) waits and goes again, a little later each attempt, up to MAX_ATTEMPTS.
   */
  function retryLater(outcome: DeliveryOutcome & { transient?: boolean }, attemptsBefore: number): DeliveryOutcome {
    const { transient, ...rest } = outcome;
    const attempt = attemptsBefore + 1;
    if (!transient || attempt >= MAX_ATTEMPTS) return rest;
    const at = new Date(deps.now().getTime() + RETRY_AFTER_MS * attempt);
    later(at);
    return { status: 'deferred', reason: `retry:${rest.reason ?? 'error'}`, rendered: rest.rendered, notBefore: at.toISOString() };
  }

  async function deliverEmail(r: Recipient, profile: Profile, result: ServiceRenderResult): Promise<DeliveryOutcome & { transient?: boolean }> {
    const email = result.email;
    if (!email) return { status: 'suppressed', reason: 'no_email_part' };
    if ('suppressed' in email) return { status: 'suppressed', reason: email.reason };
    try {
      const raw = await buildEml(email, { from: deps.eml.from, to: profile.email!, messageId: `<${result.id}@${deps.eml.domain}>` });
      const id = await deps.email.send({ from: deps.eml.address, to: profile.email!, raw, fileName: `${spec.id}.${r.seq}.eml` });
      return { status: 'delivered', rendered: true, providerId: id.slice(0, 200) };
    } catch (error) {
      deps.logger.warn({ err: error, campaign: spec.id, seq: r.seq }, 'campaign email was refused');
      // nodemailer gives the SMTP reply code when the server answered; none means no connection.
      const code = (error as { responseCode?: number }).responseCode;
      return { status: 'failed', reason: code ? `smtp_${code}` : 'smtp_error', rendered: true, transient: code === undefined || (code >= 400 && code < 500) };
    }
  }

  async function deliverWhatsApp(r: Recipient, result: ServiceRenderResult): Promise<DeliveryOutcome & { transient?: boolean }> {
    const wa = result.whatsapp;
    if (!wa) return { status: 'suppressed', reason: 'no_whatsapp_part' };
    if (wa.suppressed) return { status: 'suppressed', reason: wa.reason };
    if (!deps.whatsapp) return { status: 'failed', reason: 'not_configured', rendered: true };
    const sent = await deps.whatsapp.send(wa.message, { customerId: r.customerId, kind: 'campaign', template: spec.template });
    if (sent.ok) return { status: 'delivered', rendered: true, providerId: sent.sid };
    return { status: 'failed', reason: typeof sent.error.code === 'number' ? `twilio_${sent.error.code}` : sent.error.code, rendered: true, transient: sent.error.retryable };
  }

  // A few recipients in flight at once: SMTP and Twilio calls wait on the network, not the CPU.
  let next = 0;
  let interrupted = false;
  const lane = async () => {
    while (!interrupted && next < recipients.length) {
      const i = next++;
      if (i % STATUS_EVERY === STATUS_EVERY - 1 && (await repo.status(spec.id)) !== 'running') {
        interrupted = true;
        return;
      }
      await one(recipients[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.campaigns.sendConcurrency, recipients.length) }, lane));
  return { interrupted, ...(again === undefined ? {} : { again: new Date(again) }) };
}

/** The picks for one recipient: the first of its segments that has its own, else `default`, else the campaign's. */
function recommendationsFor(spec: CampaignSpec, profile: Profile, now: Date, thresholds: Config['thresholds']): Recommendations | undefined {
  let picks = spec.recommendations;
  if (spec.recommendationsBySegment) {
    const segments = computeSegments(profile, thresholds, now);
    const key = Object.keys(spec.recommendationsBySegment).find((s) => s !== 'default' && segments[s as keyof typeof segments]);
    picks = spec.recommendationsBySegment[key ?? 'default'] ?? picks;
  }
  if (!spec.offer) return picks;
  return { items: [], ...picks, offer: spec.offer };
}
