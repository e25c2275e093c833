import type { Logger } from 'pino';
import type { CampaignConfig } from '../config.ts';
import type { CampaignsRepository, Chunk } from './campaigns-repository.ts';
import type { ChunkRunner } from './chunk-runner.ts';

export interface EmbeddedRunner extends ChunkRunner {
  /** Runs every chunk that is due now, to the end (tests and the CLI wait on it instead of on timers). */
  drain(): Promise<void>;
}

/** The longest the runner sleeps before looking for chunks again (another process's lease may run out). */
const MAX_SLEEP_MS = 5_000;

/**
 * Chunk jobs without Redis: chunks are leased from the store (campaign_chunks.lease_until), so
 * several processes on one SQLite file or PostgreSQL share them, and a chunk whose process died
 * is taken again when its lease runs out. The same `processChunk` as the BullMQ worker runs them.
 */
export function createEmbeddedRunner(o: {
  config: Pick<CampaignConfig, 'concurrency' | 'leaseMs'>;
  repo: CampaignsRepository;
  processChunk: (chunk: Chunk) => Promise<unknown>;
  now: () => Date;
  logger: Pick<Logger, 'error'>;
}): EmbeddedRunner {
  let started = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let pumping: Promise<void> | undefined;
  const inFlight = new Set<Promise<void>>();
  const leaseUntil = () => new Date(o.now().getTime() + o.config.leaseMs);

  async function runOne(chunk: Chunk): Promise<void> {
    const renew = setInterval(() => void o.repo.renewChunk(chunk, leaseUntil()).catch(() => {}), Math.max(1000, o.config.leaseMs / 3));
    renew.unref();
    try {
      await o.processChunk(chunk);
    } catch (err) {
      // The lease runs out and the chunk is taken again; what was delivered is skipped then.
      o.logger.error({ err, campaign: chunk.campaignId, chunk: chunk.chunk }, 'campaign chunk failed; it is retried when its lease runs out');
    } finally {
      clearInterval(renew);
    }
  }

  /** Claims due chunks up to the concurrency; resolves when none is left to claim right now. */
  async function pump(): Promise<void> {
    while (!closed) {
      while (inFlight.size >= o.config.concurrency) await Promise.race(inFlight);
      const chunk = await o.repo.claimDueChunk(leaseUntil());
      if (!chunk) break;
      const run = runOne(chunk).finally(() => inFlight.delete(run));
      inFlight.add(run);
    }
  }

  function wake(): void {
    if (!started || closed) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    pumping ??= pump()
      .catch((err: unknown) => o.logger.error({ err }, 'could not claim campaign chunks; trying again'))
      .finally(() => {
        pumping = undefined;
        void sleepUntilNext();
      });
  }

  async function sleepUntilNext(): Promise<void> {
    if (closed || pumping) return;
    let delay = MAX_SLEEP_MS;
    try {
      const next = await o.repo.nextRunAt();
      if (next !== undefined) delay = Math.min(MAX_SLEEP_MS, Math.max(100, Date.parse(next) - o.now().getTime()));
    } catch {
      // The store is away for a moment: look again after the longest sleep.
    }
    if (closed || pumping) return;
    if (inFlight.size > 0) delay = Math.min(delay, 1000);
    timer = setTimeout(wake, delay);
    timer.unref();
  }

  return {
    async enqueue() {
      wake();
    },
    startWorker() {
      started = true;
      wake();
    },
    async drain() {
      for (;;) {
        const chunk = await o.repo.claimDueChunk(leaseUntil());
        if (!chunk) break;
        await runOne(chunk);
      }
      await Promise.all(inFlight);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await pumping;
      await Promise.all(inFlight);
    },
  };
}
