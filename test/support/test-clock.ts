/**
 * The date every test runs on: the fixtures are written for it (segments, birthdays, the
 * WhatsApp window, offers), so no test depends on the day the suite runs.
 */
export const NOW = '2026-11-22T10:00:00Z';

export interface TestClock {
  now(): Date;
  /** Moves the clock on, for tests that need time to pass (a lease running out, a later write). */
  advance(ms: number): void;
}

/**
 * A clock that starts at `start` and moves on with the real elapsed time, so rows written one
 * after the other still order, while the date stays the test date whatever the system clock says.
 */
export function createTestClock(start: string = NOW): TestClock {
  const origin = performance.now();
  let skipped = 0;
  return {
    now: () => new Date(Date.parse(start) + (performance.now() - origin) + skipped),
    advance(ms) {
      skipped += ms;
    },
  };
}

/** The clock test stores and apps run on (one per test file: each file runs in its own fork). */
export const testClock = createTestClock();

export interface ManualClock extends TestClock {
  /** Moves the clock to `iso` (forwards or back). */
  set(iso: string): void;
}

/**
 * A clock that stands still until moved, for tests that assert the exact timestamps rows
 * record (price history): every write between two moves is stamped with the same instant.
 */
export function createManualClock(start: string = NOW): ManualClock {
  let at = Date.parse(start);
  return {
    now: () => new Date(at),
    advance(ms) {
      at += ms;
    },
    set(iso) {
      at = Date.parse(iso);
    },
  };
}
