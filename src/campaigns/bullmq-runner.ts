import { Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { CampaignConfig } from '../config.ts';
import type { CampaignsRepository, Chunk } from './campaigns-repository.ts';
import type { ChunkRunner } from './chunk-runner.ts';

export const CHUNK_QUEUE = 'campaign-chunks';

interface ChunkJob {
  campaignId: string;
  chunk: number;
  generation: number;
}

/** Deterministic, so adding a chunk's job twice (a retried request, the reconciler) is a no-op in BullMQ. */
export function chunkJobId(c: Pick<Chunk, 'campaignId' | 'chunk' | 'generation'>): string {
  return `${c.campaignId}__${c.chunk}__${c.generation}`;
}

/**
 * Chunk jobs on BullMQ: any number of workers on any machines take them. The store stays the
 * truth (which chunks are pending, which recipients are through), Redis only says who works on
 * what: a job whose chunk is done or has moved on to another generation is dropped, and every
 * worker re-adds the jobs of pending chunks now and then, so a Redis that lost its data (a
 * restart without persistence) loses no campaign.
 */
export function createBullmqRunner(o: {
  config: Pick<CampaignConfig, 'redisUrl' | 'concurrency' | 'leaseMs' | 'chunksPerSecond'>;
  repo: CampaignsRepository;
  processChunk: (chunk: Chunk) => Promise<{ again?: Chunk & { runAt: string } }>;
  now: () => Date;
  logger: Pick<Logger, 'error' | 'warn'>;
  prefix: string;
}): ChunkRunner & { queue: Queue } {
  // Workers block on Redis; ioredis must keep retrying rather than fail their commands (BullMQ docs, "Connections").
  const connection = { url: o.config.redisUrl!, maxRetriesPerRequest: null };
  const queue = new Queue<ChunkJob>(CHUNK_QUEUE, {
    connection,
    prefix: o.prefix,
    // Removed when finished, so the store (not a job kept in Redis) decides whether a chunk runs again.
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true, attempts: 5, backoff: { type: 'exponential', delay: 1000 } },
  });
  queue.on('error', (err) => o.logger.warn({ err }, 'campaign queue: Redis error'));
  let worker: Worker<ChunkJob> | undefined;
  let reconcile: NodeJS.Timeout | undefined;

  async function enqueue(chunks: readonly (Chunk & { runAt: string })[]): Promise<void> {
    if (chunks.length === 0) return;
    const at = o.now().getTime();
    await queue.addBulk(
      chunks.map((c) => ({
        name: 'chunk',
        data: { campaignId: c.campaignId, chunk: c.chunk, generation: c.generation },
        opts: { jobId: chunkJobId(c), delay: Math.max(0, Date.parse(c.runAt) - at) },
      })),
    );
  }

  async function readd(): Promise<void> {
    try {
      await enqueue(await o.repo.runningChunks());
    } catch (err) {
      o.logger.warn({ err }, 'could not re-add pending campaign chunks; trying again later');
    }
  }

  return {
    queue,
    enqueue,
    startWorker() {
      if (worker) return;
      worker = new Worker<ChunkJob>(
        CHUNK_QUEUE,
        async (job) => {
          const chunk = await o.repo.chunk(job.data.campaignId, job.data.chunk);
          if (!chunk || chunk.status !== 'pending' || chunk.generation !== job.data.generation) return 'stale';
          const { again } = await o.processChunk(chunk);
          if (again) await enqueue([again]);
          return 'done';
        },
        {
          connection,
          prefix: o.prefix,
          concurrency: o.config.concurrency,
          // A killed worker's chunk goes back to the queue once its lock runs out.
          lockDuration: o.config.leaseMs,
          stalledInterval: Math.max(1000, Math.floor(o.config.leaseMs / 2)),
          maxStalledCount: 10,
          ...(o.config.chunksPerSecond ? { limiter: { max: o.config.chunksPerSecond, duration: 1000 } } : {}),
        },
      );
      worker.on('error', (err) => o.logger.warn({ err }, 'campaign worker: Redis error'));
      worker.on('failed', (job, err) => o.logger.error({ err, job: job?.id }, 'campaign chunk failed; BullMQ retries it'));
      void readd();
      reconcile = setInterval(() => void readd(), Math.max(5_000, o.config.leaseMs));
      reconcile.unref();
    },
    async close() {
      if (reconcile) clearInterval(reconcile);
      await worker?.close();
      await queue.close();
    },
  };
}
