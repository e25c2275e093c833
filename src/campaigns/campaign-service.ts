import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { sortKeys } from '../channels/whatsapp/content-definitions.ts';
import { createTwilioSender, type TwilioHttpClient } from '../channels/whatsapp/twilio-sender.ts';
import { brandSender } from '../channels/email/brand-sender.ts';
import type { Config } from '../config.ts';
import type { RenderFn } from '../render-service/render-service.ts';
import { SEGMENT_NAMES } from '../personalize/segments.ts';
import type { Store } from '../store/index.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import { resolveAudience } from './audience.ts';
import type { CampaignProgress, CampaignSpec } from './campaign-schema.ts';
import { createCampaignsRepository, type CampaignsRepository, type Chunk, type StoredCampaign } from './campaigns-repository.ts';
import { createEmailDelivery } from './email-delivery.ts';
import { runChunk, type ChunkDeps } from './run-chunk.ts';
import { createSendPacer } from './send-pacer.ts';
import type { ChunkRunner } from './chunk-runner.ts';
import { createBullmqRunner } from './bullmq-runner.ts';
import { createEmbeddedRunner } from './embedded-runner.ts';
import { createResultsRepository } from '../store/results-repository.ts';

export type { ChunkRunner } from './chunk-runner.ts';

export interface CampaignProblem {
  path: string;
  message: string;
}

export type CreateResult =
  | { kind: 'created' | 'existing'; campaign: StoredCampaign }
  | { kind: 'conflict'; campaign: StoredCampaign }
  | { kind: 'invalid'; problems: CampaignProblem[] };

export interface CampaignsDeps {
  config: Config;
  store: Store;
  templates: TemplateSet;
  render: RenderFn;
  logger: Logger;
  now?: () => Date;
  twilioHttpClient?: TwilioHttpClient;
  /** How the send pacer waits (tests move their clock on instead of waiting). */
  sleep?: (ms: number) => Promise<void>;
}

export type Campaigns = ReturnType<typeof createCampaigns>;

/**
 * Campaigns: creation (audience resolved and stored once), progress, pause/resume/cancel, and
 * the chunk jobs, on BullMQ when REDIS_URL is set and in-process otherwise.
 */
export function createCampaigns(deps: CampaignsDeps) {
  const { config, store, templates } = deps;
  const now = deps.now ?? store.now;
  const repo: CampaignsRepository = createCampaignsRepository(store.db, now);
  const email = createEmailDelivery(config.campaigns);
  const hasTwilio = Boolean(config.twilio.accountSid && config.twilio.authToken);
  // The sender directly, not the webhook reply queue: that queue is keyed by the inbound event
  // it answers, while a campaign message already has its own idempotency record (the delivery row).
  const whatsapp = hasTwilio ? createTwilioSender(config, { messages: store.messages, logger: deps.logger, httpClient: deps.twilioHttpClient, now }) : undefined;
  const pacer = createSendPacer({ perSecond: config.campaigns.perSecond, now, ...(deps.sleep ? { sleep: deps.sleep } : {}), ...(config.campaigns.redisUrl ? { redisUrl: config.campaigns.redisUrl } : {}), prefix: config.campaigns.queuePrefix });
  const results = createResultsRepository(store.db, now);
  const chunkDeps: ChunkDeps = { repo, results, render: deps.render, templates, config, email, pacer, whatsapp, eml: brandSender(templates.shared.brand), now, logger: deps.logger };
  const specs = new Map<string, CampaignSpec>();
  /** 'chunk' (campaign id) after each chunk run this process finished: progress bars and tests wait on it. */
  const events = new EventEmitter();

  /** Runs one chunk and records what comes next: done, again at a later time, or left for a resume. */
  async function processChunk(chunk: Chunk): Promise<{ again?: Chunk & { runAt: string } }> {
    let spec = specs.get(chunk.campaignId);
    if (!spec) {
      const stored = await repo.get(chunk.campaignId);
      if (!stored) return {};
      spec = stored.spec;
      specs.set(chunk.campaignId, spec);
    }
    if ((await repo.status(chunk.campaignId)) !== 'running') {
      await repo.releaseChunk(chunk);
      return {};
    }
    try {
      const run = await runChunk(chunk, spec, chunkDeps);
      if (run.interrupted) {
        await repo.releaseChunk(chunk);
        return {};
      }
      const generation = await repo.finishChunk(chunk, run.again);
      if (generation === undefined) {
        await repo.completeIfDone(chunk.campaignId);
        return {};
      }
      return { again: { ...chunk, generation, runAt: run.again!.toISOString() } };
    } finally {
      events.emit('chunk', chunk.campaignId);
    }
  }

  const runner: ChunkRunner = config.campaigns.redisUrl
    ? createBullmqRunner({ config: config.campaigns, repo, processChunk, now, logger: deps.logger, prefix: config.campaigns.queuePrefix })
    : createEmbeddedRunner({ config: config.campaigns, repo, processChunk, now, logger: deps.logger });

  function validate(spec: CampaignSpec): CampaignProblem[] {
    const problems: CampaignProblem[] = [];
    const compiled = templates.templates.get(spec.template);
    if (!compiled) {
      problems.push({ path: 'template', message: `Unknown template '${spec.template}'. Known templates: ${[...templates.templates.keys()].join(', ')}.` });
      return problems;
    }
    const manifest = compiled.manifest;
    spec.channels.forEach((c, i) => {
      if (!manifest.channels.includes(c)) problems.push({ path: `channels.${i}`, message: `template '${spec.template}' has no ${c} part (has: ${manifest.channels.join(', ')})` });
    });
    const variantIds = manifest.variants.map((v) => v.id);
    spec.variants?.forEach((v, i) => {
      if (!variantIds.includes(v)) problems.push({ path: `variants.${i}`, message: `template '${spec.template}' has no variant '${v}' (has: ${variantIds.join(', ') || 'none'})` });
    });
    for (const key of Object.keys(spec.recommendationsBySegment ?? {})) {
      if (key !== 'default' && !(SEGMENT_NAMES as readonly string[]).includes(key)) {
        problems.push({ path: `recommendationsBySegment.${key}`, message: `Unknown segment '${key}'. Known segments: ${SEGMENT_NAMES.join(', ')}, or default.` });
      }
    }
    return problems;
  }

  async function progress(id: string): Promise<CampaignProgress | undefined> {
    const campaign = await repo.get(id);
    if (!campaign) return undefined;
    const total = campaign.recipients * campaign.spec.channels.length;
    const out: CampaignProgress = {
      id,
      status: campaign.status,
      template: campaign.spec.template,
      channels: campaign.spec.channels,
      recipients: campaign.recipients,
      total,
      queued: total,
      deferred: 0,
      deferredReasons: {},
      rendered: 0,
      delivered: 0,
      suppressed: { total: 0, reasons: {} },
      failed: { total: 0, reasons: {} },
    };
    for (const row of await repo.progress(id)) {
      out.rendered += row.rendered;
      if (row.status === 'sending') continue;
      out.queued -= row.n;
      if (row.status === 'delivered') out.delivered += row.n;
      else if (row.status === 'deferred') {
        out.deferred += row.n;
        const reason = row.reason ?? 'unknown';
        out.deferredReasons[reason] = (out.deferredReasons[reason] ?? 0) + row.n;
      }
      else {
        const bucket = out[row.status];
        bucket.total += row.n;
        const reason = row.reason ?? 'unknown';
        bucket.reasons[reason] = (bucket.reasons[reason] ?? 0) + row.n;
      }
    }
    return out;
  }

  return {
    repo,
    runner,
    events,
    progress,
    /** The progress of the newest campaigns (the preview's progress bars). */
    async recent(limit = 20): Promise<CampaignProgress[]> {
      const out: CampaignProgress[] = [];
      for (const id of await repo.recentIds(limit)) {
        const p = await progress(id);
        if (p) out.push(p);
      }
      return out;
    },
    processChunk,

    async create(spec: CampaignSpec): Promise<CreateResult> {
      const bodyHash = createHash('sha256').update(JSON.stringify(sortKeys(spec))).digest('hex');
      const known = await repo.get(spec.id);
      if (known) return { kind: known.bodyHash === bodyHash ? 'existing' : 'conflict', campaign: known };
      const problems = validate(spec);
      if (problems.length) return { kind: 'invalid', problems };
      const at = now();
      const members = await resolveAudience(spec.audience, { db: store.db, thresholds: config.thresholds, now: at, knownSegments: SEGMENT_NAMES });
      const runAt = spec.schedule && Date.parse(spec.schedule.at) > at.getTime() ? new Date(spec.schedule.at) : at;
      // Uploaded profiles live in campaign_recipients; the stored spec keeps only what chunks read.
      const stored = 'recipients' in spec.audience ? { ...spec, audience: { recipients: [] } } : spec;
      const { created, campaign } = await repo.create({ spec: stored, bodyHash, recipients: members, chunkSize: config.campaigns.chunkSize, runAt });
      if (!created) return { kind: campaign.bodyHash === bodyHash ? 'existing' : 'conflict', campaign };
      if (members.length === 0) await repo.completeIfDone(spec.id);
      else await runner.enqueue(await repo.runningChunks(spec.id));
      return { kind: 'created', campaign };
    },

    /** pause: running → paused; resume: paused → running; cancel: running or paused → cancelled. False: not in a state that allows it. */
    async transition(id: string, action: 'pause' | 'resume' | 'cancel'): Promise<boolean> {
      if (action === 'pause') return repo.setStatus(id, ['running'], 'paused');
      if (action === 'cancel') return repo.setStatus(id, ['running', 'paused'], 'cancelled');
      if (!(await repo.setStatus(id, ['paused'], 'running'))) return false;
      // New job ids: the paused runs' jobs may still sit in BullMQ's completed set.
      await runner.enqueue(await repo.bumpPendingChunks(id, now()));
      await repo.completeIfDone(id);
      return true;
    },

    startWorker: () => runner.startWorker(),

    async close(): Promise<void> {
      await runner.close();
      email.close();
      await pacer.close();
    },
  };
}
