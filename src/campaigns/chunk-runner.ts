import type { Chunk } from './campaigns-repository.ts';

/** Where chunk jobs run: BullMQ on Redis, or in-process on the store (embedded). */
export interface ChunkRunner {
  /** Makes the chunks' jobs known (idempotent: a chunk's job id is campaign × chunk × generation). */
  enqueue(chunks: readonly (Chunk & { runAt: string })[]): Promise<void>;
  /** Starts taking jobs in this process. */
  startWorker(): void;
  close(): Promise<void>;
}
