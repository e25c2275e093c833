/** The markers a cohort view has in place of per-recipient values (cohort-cache.ts). */

/** U+E000 is private-use: never produced by our templates, and checked for in data. */
export const MARK = '\uE000';

export const MARKERS = {
  firstName: `${MARK}n`,
  profileId: `${MARK}p`,
  messageId: `${MARK}m`,
  token: `${MARK}t`,
  unsubscribe: `${MARK}u`,
} as const;
