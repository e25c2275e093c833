import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import { chunks } from '../store/chunks.ts';
import { fromJsonText, toJsonText } from '../store/json-column.ts';
import { isoNow, toIsoTimestamp, type Clock } from '../store/timestamps.ts';
import type { CampaignChannel, CampaignSpec, CampaignStatus } from './campaign-schema.ts';

/** Row types of migrations/0008_campaigns.ts. */
export type CampaignTables = {
  campaigns: { id: string; body_hash: string; spec: string; status: string; recipients: number; created_at: string; updated_at: string };
  campaign_recipients: { campaign_id: string; seq: number; customer_id: string; profile: string };
  campaign_chunks: {
    campaign_id: string;
    chunk: number;
    first_seq: number;
    last_seq: number;
    status: string;
    generation: number;
    run_at: string;
    lease_until: string | null;
  };
  campaign_deliveries: {
    campaign_id: string;
    customer_id: string;
    channel: string;
    seq: number;
    status: string;
    reason: string | null;
    rendered: number;
    attempts: number;
    claimed_until: string | null;
    not_before: string | null;
    provider_id: string | null;
    delivered_at: string | null;
    created_at: string;
    updated_at: string;
  };
};

export interface StoredCampaign {
  id: string;
  bodyHash: string;
  spec: CampaignSpec;
  status: CampaignStatus;
  recipients: number;
  createdAt: string;
}

export interface Recipient {
  seq: number;
  customerId: string;
  profile: Record<string, unknown>;
}

export interface Chunk {
  campaignId: string;
  chunk: number;
  firstSeq: number;
  lastSeq: number;
  generation: number;
}

/** `sending`: claimed and being handed over; the rest are final but `deferred`, which waits for `not_before`. */
export type DeliveryStatus = 'sending' | 'delivered' | 'suppressed' | 'failed' | 'deferred';

export interface DeliveryRow {
  customerId: string;
  channel: CampaignChannel;
  status: DeliveryStatus;
  claimedUntil?: string;
  notBefore?: string;
  attempts: number;
}

export interface DeliveryOutcome {
  status: Exclude<DeliveryStatus, 'sending'>;
  reason?: string;
  rendered?: boolean;
  providerId?: string;
  notBefore?: string;
}

export interface ProgressCounts {
  status: DeliveryStatus;
  reason: string | null;
  rendered: number;
  n: number;
}

export type CampaignsRepository = ReturnType<typeof createCampaignsRepository>;

/** Rows per multi-row insert: 4 parameters each, far under both dialects' limits. */
const INSERT_ROWS = 1000;

/**
 * The campaign tables. Standalone rather than one of the store's repositories: only the
 * campaign service and its workers use them.
 */
export function createCampaignsRepository(database: Kysely<Database>, clock: Clock) {
  const db = database.withTables<CampaignTables>();

  function toCampaign(row: CampaignTables['campaigns']): StoredCampaign {
    return { id: row.id, bodyHash: row.body_hash, spec: fromJsonText<CampaignSpec>(row.spec), status: row.status as CampaignStatus, recipients: row.recipients, createdAt: row.created_at };
  }

  /** Chunks still to run of campaigns that are running (not paused, cancelled or completed). */
  const pendingOfRunning = () =>
    db
      .selectFrom('campaign_chunks')
      .innerJoin('campaigns', 'campaigns.id', 'campaign_chunks.campaign_id')
      .where('campaign_chunks.status', '=', 'pending')
      .where('campaigns.status', '=', 'running');

  return {
    /**
     * Stores the campaign, its recipients and its chunks in one transaction. Answers the stored
     * campaign instead when the id exists (the caller compares hashes), so two instances
     * creating the same campaign at once end with one.
     */
    async create(o: { spec: CampaignSpec; bodyHash: string; recipients: readonly Omit<Recipient, 'seq'>[]; chunkSize: number; runAt: Date }): Promise<{ created: boolean; campaign: StoredCampaign }> {
      const now = isoNow(clock);
      return db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('campaigns')
          .values({ id: o.spec.id, body_hash: o.bodyHash, spec: toJsonText(o.spec), status: 'running', recipients: o.recipients.length, created_at: now, updated_at: now })
          .onConflict((oc) => oc.column('id').doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
          const row = await trx.selectFrom('campaigns').selectAll().where('id', '=', o.spec.id).executeTakeFirstOrThrow();
          return { created: false, campaign: toCampaign(row) };
        }
        const rows = o.recipients.map((r, seq) => ({ campaign_id: o.spec.id, seq, customer_id: r.customerId, profile: toJsonText(r.profile) }));
        for (const slice of chunks(rows, INSERT_ROWS)) await trx.insertInto('campaign_recipients').values(slice).execute();
        const runAt = toIsoTimestamp(o.runAt);
        const chunkRows = chunks(rows, o.chunkSize).map((slice, chunk) => ({
          campaign_id: o.spec.id,
          chunk,
          first_seq: slice[0]!.seq,
          last_seq: slice[slice.length - 1]!.seq,
          status: 'pending',
          generation: 0,
          run_at: runAt,
          lease_until: null,
        }));
        for (const slice of chunks(chunkRows, INSERT_ROWS)) await trx.insertInto('campaign_chunks').values(slice).execute();
        const row = await trx.selectFrom('campaigns').selectAll().where('id', '=', o.spec.id).executeTakeFirstOrThrow();
        return { created: true, campaign: toCampaign(row) };
      });
    },

    /** The ids of the newest campaigns, newest first. */
    async recentIds(limit: number): Promise<string[]> {
      const rows = await db.selectFrom('campaigns').select('id').orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
      return rows.map((r) => r.id);
    },

    async get(id: string): Promise<StoredCampaign | undefined> {
      const row = await db.selectFrom('campaigns').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toCampaign(row);
    },

    async status(id: string): Promise<CampaignStatus | undefined> {
      const row = await db.selectFrom('campaigns').select('status').where('id', '=', id).executeTakeFirst();
      return row?.status as CampaignStatus | undefined;
    },

    /** Moves the campaign from one of `from` to `to`; false when it was in another state. */
    async setStatus(id: string, from: readonly CampaignStatus[], to: CampaignStatus): Promise<boolean> {
      const result = await db.updateTable('campaigns').set({ status: to, updated_at: isoNow(clock) }).where('id', '=', id).where('status', 'in', [...from]).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Chunks still to run, with a new generation each: the job ids of a resumed campaign's runs. */
    async bumpPendingChunks(id: string, runAt: Date): Promise<(Chunk & { runAt: string })[]> {
      await db
        .updateTable('campaign_chunks')
        .set((eb) => ({ generation: eb('generation', '+', 1), run_at: toIsoTimestamp(runAt), lease_until: null }))
        .where('campaign_id', '=', id)
        .where('status', '=', 'pending')
        .execute();
      return this.runningChunks(id);
    },

    async chunk(id: string, chunk: number): Promise<(Chunk & { status: string }) | undefined> {
      const row = await db.selectFrom('campaign_chunks').selectAll().where('campaign_id', '=', id).where('chunk', '=', chunk).executeTakeFirst();
      return row && { ...toChunk(row), status: row.status };
    },

    /**
     * The embedded runner's claim: one due chunk of a running campaign whose lease is free or
     * ran out (its runner died), leased until `leaseUntil`. The conditional update makes two
     * processes on one database take different chunks.
     */
    async claimDueChunk(leaseUntil: Date): Promise<Chunk | undefined> {
      const now = isoNow(clock);
      for (let tries = 0; tries < 5; tries++) {
        const candidate = await pendingOfRunning()
          .selectAll('campaign_chunks')
          .where('campaign_chunks.run_at', '<=', now)
          .where((eb) => eb.or([eb('campaign_chunks.lease_until', 'is', null), eb('campaign_chunks.lease_until', '<', now)]))
          .orderBy('campaign_chunks.run_at')
          .orderBy('campaign_chunks.chunk')
          .limit(1)
          .executeTakeFirst();
        if (!candidate) return undefined;
        const taken = await db
          .updateTable('campaign_chunks')
          .set({ lease_until: toIsoTimestamp(leaseUntil) })
          .where('campaign_id', '=', candidate.campaign_id)
          .where('chunk', '=', candidate.chunk)
          .where('status', '=', 'pending')
          .where((eb) => (candidate.lease_until === null ? eb('lease_until', 'is', null) : eb('lease_until', '=', candidate.lease_until)))
          .executeTakeFirst();
        if (Number(taken.numUpdatedRows) > 0) return toChunk(candidate);
      }
      return undefined;
    },

    /** The earliest `run_at` of a pending chunk of a running campaign: when the embedded runner next has work. */
    async nextRunAt(): Promise<string | undefined> {
      const row = await pendingOfRunning()
        .select((eb) => eb.fn.min('campaign_chunks.run_at').as('at'))
        .executeTakeFirst();
      return (row?.at as string | null | undefined) ?? undefined;
    },

    /** The chunk is done, or (deferred recipients) runs again at `again` as its next generation. */
    async finishChunk(chunk: Chunk, again?: Date): Promise<number | undefined> {
      if (again === undefined) {
        await db.updateTable('campaign_chunks').set({ status: 'done', lease_until: null }).where('campaign_id', '=', chunk.campaignId).where('chunk', '=', chunk.chunk).execute();
        return undefined;
      }
      const generation = chunk.generation + 1;
      await db
        .updateTable('campaign_chunks')
        .set({ run_at: toIsoTimestamp(again), lease_until: null, generation })
        .where('campaign_id', '=', chunk.campaignId)
        .where('chunk', '=', chunk.chunk)
        .execute();
      return generation;
    },

    /** Keeps the embedded runner's lease on a chunk that is still being worked on. */
    async renewChunk(chunk: Chunk, leaseUntil: Date): Promise<void> {
      await db
        .updateTable('campaign_chunks')
        .set({ lease_until: toIsoTimestamp(leaseUntil) })
        .where('campaign_id', '=', chunk.campaignId)
        .where('chunk', '=', chunk.chunk)
        .where('status', '=', 'pending')
        .execute();
    },

    /**
     * Pending chunks of one running campaign, or of every running campaign: what BullMQ must
     * hold jobs for (re-added after Redis lost them).
     */
    async runningChunks(campaignId?: string): Promise<(Chunk & { runAt: string })[]> {
      let query = pendingOfRunning().selectAll('campaign_chunks');
      if (campaignId !== undefined) query = query.where('campaign_chunks.campaign_id', '=', campaignId);
      const rows = await query.orderBy('campaign_chunks.campaign_id').orderBy('campaign_chunks.chunk').execute();
      return rows.map((r) => ({ ...toChunk(r), runAt: r.run_at }));
    },

    /** Gives a chunk back without finishing it (the campaign was paused mid-chunk). */
    async releaseChunk(chunk: Chunk): Promise<void> {
      await db.updateTable('campaign_chunks').set({ lease_until: null }).where('campaign_id', '=', chunk.campaignId).where('chunk', '=', chunk.chunk).execute();
    },

    /** Marks the campaign completed once no chunk is pending. */
    async completeIfDone(id: string): Promise<boolean> {
      const pending = await db.selectFrom('campaign_chunks').select('chunk').where('campaign_id', '=', id).where('status', '=', 'pending').limit(1).executeTakeFirst();
      if (pending) return false;
      return this.setStatus(id, ['running'], 'completed');
    },

    async recipients(chunk: Chunk): Promise<Recipient[]> {
      const rows = await db
        .selectFrom('campaign_recipients')
        .select(['seq', 'customer_id', 'profile'])
        .where('campaign_id', '=', chunk.campaignId)
        .where('seq', '>=', chunk.firstSeq)
        .where('seq', '<=', chunk.lastSeq)
        .orderBy('seq')
        .execute();
      return rows.map((r) => ({ seq: r.seq, customerId: r.customer_id, profile: fromJsonText<Record<string, unknown>>(r.profile) }));
    },

    /** The delivery records of a chunk's recipients, by `customer|channel`. */
    async deliveries(chunk: Chunk): Promise<Map<string, DeliveryRow>> {
      const rows = await db
        .selectFrom('campaign_deliveries')
        .select(['customer_id', 'channel', 'status', 'claimed_until', 'not_before', 'attempts'])
        .where('campaign_id', '=', chunk.campaignId)
        .where('seq', '>=', chunk.firstSeq)
        .where('seq', '<=', chunk.lastSeq)
        .execute();
      return new Map(
        rows.map((r) => [
          deliveryKey(r.customer_id, r.channel),
          {
            customerId: r.customer_id,
            channel: r.channel as CampaignChannel,
            status: r.status as DeliveryStatus,
            attempts: r.attempts,
            ...(r.claimed_until ? { claimedUntil: r.claimed_until } : {}),
            ...(r.not_before ? { notBefore: r.not_before } : {}),
          },
        ]),
      );
    },

    /**
     * Claims campaign × customer × channel before the message is handed over. True when this
     * caller holds it: a new row, a deferred one that is due, or a `sending` claim whose lease
     * ran out (its worker died before recording the outcome). A final row is never claimed again.
     */
    async claim(campaignId: string, customerId: string, channel: CampaignChannel, seq: number, leaseUntil: Date): Promise<boolean> {
      const now = isoNow(clock);
      const until = toIsoTimestamp(leaseUntil);
      const inserted = await db
        .insertInto('campaign_deliveries')
        .values({ campaign_id: campaignId, customer_id: customerId, channel, seq, status: 'sending', reason: null, rendered: 0, attempts: 1, claimed_until: until, not_before: null, provider_id: null, delivered_at: null, created_at: now, updated_at: now })
        .onConflict((oc) => oc.columns(['campaign_id', 'customer_id', 'channel']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return true;
      const taken = await db
        .updateTable('campaign_deliveries')
        .set((eb) => ({ status: 'sending', claimed_until: until, attempts: eb('attempts', '+', 1), updated_at: now }))
        .where('campaign_id', '=', campaignId)
        .where('customer_id', '=', customerId)
        .where('channel', '=', channel)
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'deferred'), eb('not_before', '<=', now)]),
            eb.and([eb('status', '=', 'sending'), eb('claimed_until', '<', now)]),
          ]),
        )
        .executeTakeFirst();
      return Number(taken.numUpdatedRows) > 0;
    },

    /** Records the outcome of a claimed delivery. */
    async finish(campaignId: string, customerId: string, channel: CampaignChannel, outcome: DeliveryOutcome): Promise<void> {
      const now = isoNow(clock);
      await db
        .updateTable('campaign_deliveries')
        .set({
          status: outcome.status,
          reason: outcome.reason ?? null,
          rendered: outcome.rendered ? 1 : 0,
          provider_id: outcome.providerId ?? null,
          not_before: outcome.notBefore ?? null,
          delivered_at: outcome.status === 'delivered' ? now : null,
          claimed_until: null,
          updated_at: now,
        })
        .where('campaign_id', '=', campaignId)
        .where('customer_id', '=', customerId)
        .where('channel', '=', channel)
        .execute();
    },

    /** Customers among `customerIds` sent a message on `channel` since `since` by another campaign: the frequency cap. */
    async recentlyMessaged(customerIds: readonly string[], channel: CampaignChannel, since: Date, exceptCampaign: string, limit: number): Promise<Set<string>> {
      const capped = new Set<string>();
      if (customerIds.length === 0) return capped;
      for (const slice of chunks(customerIds, INSERT_ROWS)) {
        const rows = await db
          .selectFrom('campaign_deliveries')
          .select(['customer_id', (eb) => eb.fn.countAll<number>().as('n')])
          .where('customer_id', 'in', slice)
          .where('channel', '=', channel)
          .where('delivered_at', '>=', toIsoTimestamp(since))
          .where('campaign_id', '<>', exceptCampaign)
          .groupBy('customer_id')
          .execute();
        for (const r of rows) if (Number(r.n) >= limit) capped.add(r.customer_id);
      }
      return capped;
    },

    /**
     * WhatsApp's reach over all campaigns since `since`: how many distinct customers got a
     * message, the earliest of those sends (its 24 h run out first), and which of `customerIds`
     * are among them (messaging them again opens no new conversation against the tier).
     */
    async whatsappReach(customerIds: readonly string[], since: Date): Promise<{ users: number; oldest?: string; reached: Set<string> }> {
      const base = db.selectFrom('campaign_deliveries').where('channel', '=', 'whatsapp').where('delivered_at', '>=', toIsoTimestamp(since));
      const row = await base
        .select([(eb) => eb.fn.count<number>('customer_id').distinct().as('users'), (eb) => eb.fn.min('delivered_at').as('oldest')])
        .executeTakeFirst();
      const reached = new Set<string>();
      for (const slice of chunks(customerIds, INSERT_ROWS)) {
        for (const r of await base.select('customer_id').distinct().where('customer_id', 'in', slice).execute()) reached.add(r.customer_id);
      }
      return { users: Number(row?.users ?? 0), ...(row?.oldest ? { oldest: String(row.oldest) } : {}), reached };
    },

    async progress(campaignId: string): Promise<ProgressCounts[]> {
      const rows = await db
        .selectFrom('campaign_deliveries')
        .select(['status', 'reason', sql<number>`sum(rendered)`.as('rendered'), (eb) => eb.fn.countAll<number>().as('n')])
        .where('campaign_id', '=', campaignId)
        .groupBy(['status', 'reason'])
        .execute();
      return rows.map((r) => ({ status: r.status as DeliveryStatus, reason: r.reason, rendered: Number(r.rendered ?? 0), n: Number(r.n) }));
    },
  };
}

export function deliveryKey(customerId: string, channel: string): string {
  return `${customerId}\u0000${channel}`;
}

function toChunk(r: CampaignTables['campaign_chunks']): Chunk {
  return { campaignId: r.campaign_id, chunk: r.chunk, firstSeq: r.first_seq, lastSeq: r.last_seq, generation: r.generation };
}
