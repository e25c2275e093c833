import type { Logger } from 'pino';
import { unrefTimeout, type Schedule } from '../whatsapp/reply-retry.ts';
import type { AttemptOutcome, ClaimedDelivery, WebhooksRepository } from '../../store/webhooks-repository.ts';
import { retryableStatus, webhookRetryDelayMs } from './webhook-retry.ts';
import { SIGNATURE_HEADER, webhookSignature } from './webhook-signature.ts';

export interface WebhookDispatcherDeps {
  webhooks: Pick<WebhooksRepository, 'claimDue' | 'finish' | 'nextAttemptAt' | 'onRecorded'>;
  /** WEBHOOK_SECRET: signs every delivery. */
  secret: string;
  /** An attempt that has no answer after this long is a failure (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  now: () => Date;
  userAgent: string;
  /** Runs the next pass (a retry time, the periodic look). Tests drive it. Default: an unref'd setTimeout. */
  schedule?: Schedule;
  /** Ends an attempt after `timeoutMs`. Tests drive it. Default: an unref'd setTimeout. */
  scheduleTimeout?: Schedule;
  /** How long an instance holds a delivery it is sending before another may take it over. Default: the timeout and 10 s. */
  leaseMs?: number;
  /** How often each instance looks for deliveries nobody is sending (their instance died). Default 30 s. */
  pollMs?: number;
  random?: () => number;
}

export interface WebhookDispatcher {
  /** Starts sending every delivery that is due now; resolves once they are out (idle() waits for their answers). */
  run(): Promise<void>;
  /** Resolves when no pass and no attempt is running (tests, shutdown). */
  idle(): Promise<void>;
  /** No new passes; attempts in flight finish (await idle()). What is left stays queued for the next instance. */
  close(): void;
}

/** Attempts an instance has out at once; each is the next event of a different order (or customer) and URL. */
const MAX_IN_FLIGHT = 16;
const POLL_MS = 30_000;
/** Kept of a receiver's answer for `last_error`: enough to see what it said. */
const SNIPPET_BYTES = 300;

type PostResult = { ok: true; status: number } | { ok: false; status?: number; error: string };

/**
 * Sends the shop's webhook deliveries from the outbox (store/webhooks-repository.ts), at least
 * once each and, for each receiver, the events of one order in the order they happened.
 *
 * A pass leases what is due and posts it (signed, JSON, no redirects followed); each answer is
 * recorded as it comes: 2xx delivered; a timeout, a network error, 5xx, 408 or 429 retried with
 * backoff (webhook-retry.ts) until a day after the event, then failed; any other answer failed
 * at once. Passes run when this process commits an event, when an attempt ends, at the next
 * retry time or lease end, and every `pollMs` for what an instance that died left behind.
 * Several instances share the work through the leases; none holds the database while a request
 * is out.
 */
export function createWebhookDispatcher(deps: WebhookDispatcherDeps): WebhookDispatcher {
  const { webhooks, logger, now } = deps;
  const schedule = deps.schedule ?? unrefTimeout;
  const scheduleTimeout = deps.scheduleTimeout ?? unrefTimeout;
  // The attempt ends with the timeout; the rest covers recording its outcome.
  const leaseMs = deps.leaseMs ?? deps.timeoutMs + 10_000;
  const pollMs = deps.pollMs ?? POLL_MS;

  let closed = false;
  let running: Promise<void> | undefined;
  const inFlight = new Set<Promise<void>>();
  let again = false;
  let cancelWake: (() => void) | undefined;

  async function post(url: string, body: string, sentAt: Date, eventId: string, type: string): Promise<PostResult> {
    const controller = new AbortController();
    const cancel = scheduleTimeout(() => controller.abort(), deps.timeoutMs);
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        redirect: 'manual',
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': deps.userAgent,
          [SIGNATURE_HEADER]: webhookSignature(deps.secret, body, sentAt),
          'inboxcart-event-id': eventId,
          'inboxcart-event-type': type,
        },
      });
      // The status is the answer; a 2xx body is not read, so a slow one cannot turn it into a timeout.
      if (res.status >= 200 && res.status < 300) {
        void res.body?.cancel().catch(() => undefined);
        return { ok: true, status: res.status };
      }
      const said = await snippet(res);
      const redirect = res.status >= 300 && res.status < 400 ? ' (redirects are not followed: set WEBHOOK_URL to the final URL)' : '';
      return { ok: false, status: res.status, error: `HTTP ${res.status}${redirect}${said ? `: ${said}` : ''}` };
    } catch (error) {
      if (controller.signal.aborted) return { ok: false, error: `no answer within ${deps.timeoutMs} ms` };
      return { ok: false, error: `could not reach the receiver: ${describe(error)}` };
    } finally {
      cancel();
    }
  }

  async function attempt(claim: ClaimedDelivery): Promise<void> {
    const { event } = claim;
    const body = JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt, data: event.data });
    const result = await post(claim.url, body, now(), event.id, event.type);
    const at = now();
    const attempts = claim.attempts + 1;
    let outcome: AttemptOutcome;
    if (result.ok) outcome = { state: 'delivered', status: result.status };
    else {
      const retryAt = retryableStatus(result.status) ? new Date(at.getTime() + webhookRetryDelayMs(attempts, deps.random)) : undefined;
      const status = result.status === undefined ? {} : { status: result.status };
      if (retryAt && retryAt.getTime() <= Date.parse(claim.giveUpAt)) outcome = { state: 'pending', error: result.error, retryAt, ...status };
      else outcome = { state: 'failed', error: retryAt ? `${result.error} (given up: not delivered by ${claim.giveUpAt})` : result.error, ...status };
    }
    const where = { eventId: event.id, type: event.type, deliveryId: claim.id, url: printable(claim.url), attempts };
    if (!(await webhooks.finish(claim, outcome, at))) {
      logger.warn(where, 'webhook attempt outlived its lease: another instance has taken the delivery over, this outcome is not recorded');
      return;
    }
    if (outcome.state === 'delivered') logger.debug(where, 'webhook delivered');
    else if (outcome.state === 'pending') logger.warn({ ...where, retryAt: outcome.retryAt.toISOString() }, `webhook not delivered, will retry: ${outcome.error}`);
    else logger.error(where, `webhook delivery failed: ${outcome.error}`);
  }

  /**
   * Leases what is due, up to MAX_IN_FLIGHT attempts at a time, and starts them without waiting:
   * a receiver that takes its time on one delivery holds up only that order's later events.
   * Each attempt that ends runs a pass again (its order's next event may be due now).
   */
  async function claimDue(): Promise<void> {
    while (!closed && inFlight.size < MAX_IN_FLIGHT) {
      const claims = await webhooks.claimDue(MAX_IN_FLIGHT - inFlight.size, leaseMs, now());
      if (claims.length === 0) return;
      for (const claim of claims) {
        // A throw here (the database) leaves the delivery leased; it is tried again once the lease runs out.
        const work: Promise<void> = attempt(claim)
          .catch((err: unknown) => logger.error({ err, deliveryId: claim.id }, 'webhook attempt could not be recorded'))
          .finally(() => {
            inFlight.delete(work);
            void run();
          });
        inFlight.add(work);
      }
    }
  }

  /** The next pass: at the earliest retry time, and at least every `pollMs`. */
  async function planWake(): Promise<void> {
    if (closed) return;
    const next = await webhooks.nextAttemptAt();
    // Something due that this pass could not lease (another instance is taking it) is looked at again in a second.
    const wait = next === undefined ? pollMs : Math.min(pollMs, Math.max(1_000, next.getTime() - now().getTime()));
    wake(wait);
  }

  function wake(ms: number): void {
    cancelWake?.();
    cancelWake = schedule(() => {
      cancelWake = undefined;
      void run();
    }, ms);
  }

  async function pass(): Promise<void> {
    try {
      do {
        again = false;
        await claimDue();
      } while (again && !closed);
      await planWake();
    } catch (err) {
      logger.warn({ err }, 'could not send webhooks now; they stay queued');
      if (!closed) wake(pollMs);
    }
  }

  /** One pass at a time; a commit during a pass makes it go round once more. */
  function run(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    again = false;
    running = pass().finally(() => {
      running = undefined;
      if (again && !closed) void run();
    });
    return running;
  }

  const unsubscribe = webhooks.onRecorded(() => void run());
  // What an earlier process left queued goes first.
  wake(0);

  return {
    run,
    async idle() {
      while (running || inFlight.size) await Promise.all([running, ...inFlight]);
    },
    close() {
      closed = true;
      unsubscribe();
      cancelWake?.();
    },
  };
}

async function snippet(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < SNIPPET_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, SNIPPET_BYTES).replace(/\s+/g, ' ').trim();
}

/** `fetch failed` says nothing: the cause (ECONNREFUSED, ENOTFOUND…) does. */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** Logs name the receiver without the query string, which may carry its credentials. */
export function printable(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
