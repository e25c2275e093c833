import type { WhatsappContentsRepository } from '../../store/whatsapp-contents-repository.ts';

export interface ContentSidCache {
  /** The recorded sid for a content key; synchronous, as renders are. */
  get(key: string): string | undefined;
  /** Reads the table again (after `twilio sync` in this process). */
  reload(): Promise<void>;
}

export interface ContentSidCacheOptions {
  /**
   * How old the copy may get before a lookup refreshes it in the background. `twilio sync` runs
   * as a separate command, possibly against instances already serving; they pick the new sids
   * up within this time without a restart. Default 60 s.
   */
  maxAgeMs?: number;
  now?: () => number;
  /** Background refresh failures (database unreachable): the old copy keeps serving. */
  onError?: (error: unknown) => void;
}

/**
 * Content sids in memory: renders need them per recipient and cannot wait on the database.
 * A lookup never blocks; a stale copy or a missing key starts one background reload at a time,
 * and a missing key triggers at most one reload per `maxAgeMs / 10` so an unsynced shape does
 * not turn every render into a query.
 *
 * @example
 * const sids = await loadContentSidCache(store.whatsappContents);
 * createRenderDeps({ …, contentSid: sids.get });
 */
export async function loadContentSidCache(repo: Pick<WhatsappContentsRepository, 'list'>, options: ContentSidCacheOptions = {}): Promise<ContentSidCache> {
  const maxAge = options.maxAgeMs ?? 60_000;
  const now = options.now ?? Date.now;
  let sids = new Map<string, string>();
  let loadedAt = 0;
  let missReloadAt = 0;
  let pending: Promise<void> | undefined;

  const reload = () =>
    (pending ??= repo
      .list()
      .then((rows) => {
        sids = new Map(rows.map((r) => [r.key, r.sid]));
        loadedAt = now();
      })
      .finally(() => {
        pending = undefined;
      }));

  const refreshInBackground = () => {
    reload().catch((error: unknown) => options.onError?.(error));
  };

  await reload();
  return {
    get(key) {
      const sid = sids.get(key);
      const t = now();
      if (t - loadedAt > maxAge) refreshInBackground();
      else if (sid === undefined && t - missReloadAt > maxAge / 10) {
        missReloadAt = t;
        refreshInBackground();
      }
      return sid;
    },
    reload,
  };
}
