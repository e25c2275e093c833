import type { Schedule } from '../../src/channels/whatsapp/reply-retry.ts';

export interface ManualSchedule {
  schedule: Schedule;
  /** The delays asked for by the runs still pending, in the order they were scheduled. */
  pendingMs(): number[];
  /**
   * Runs the runs pending now (ones they schedule wait for the next call) and returns how many
   * ran. Move the clock by their delay first: that is the time they were meant for.
   */
  runPending(): number;
}

/** A `Schedule` that runs nothing by itself, so tests move time instead of sleeping. */
export function createManualSchedule(): ManualSchedule {
  const pending: { run: () => void; ms: number }[] = [];
  return {
    schedule(run, ms) {
      const entry = { run, ms };
      pending.push(entry);
      return () => {
        const i = pending.indexOf(entry);
        if (i >= 0) pending.splice(i, 1);
      };
    },
    pendingMs: () => pending.map((p) => p.ms),
    runPending() {
      const due = pending.splice(0);
      for (const p of due) p.run();
      return due.length;
    },
  };
}
