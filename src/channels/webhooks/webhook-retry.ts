import { equalJitter } from '../whatsapp/reply-retry.ts';

/**
 * When a webhook delivery that failed is tried again: exponential backoff with equal jitter
 * (half of each wait fixed, half random, as for WhatsApp replies), so the deliveries one outage
 * failed together do not come back together. The first retry comes after 10–20 s, each later
 * wait is three times longer, up to 30–60 min, until a day after the event (WEBHOOK_RETRY_FOR_MS):
 * about 30 attempts in all, most of a receiver's outage covered. A shop's order system that is
 * down for a deploy gets its orders within a minute of coming back.
 *
 * @example
 * webhookRetryDelayMs(1, () => 0) // 10_000
 * webhookRetryDelayMs(9, () => 1) // 3_600_000
 */
const FIRST_RETRY_MS = 20_000;
const BACKOFF_FACTOR = 3;
const MAX_RETRY_MS = 3_600_000;

export function webhookRetryDelayMs(attempts: number, random: () => number = Math.random): number {
  return equalJitter(Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * BACKOFF_FACTOR ** (attempts - 1)), random);
}

/**
 * Whether a receiver's answer is worth another attempt: timeouts, network errors (no status),
 * 5xx, 408 and 429 may pass; any other answer (a 4xx, a redirect) says the receiver will not
 * take this delivery as it is, and waiting does not change it: it is failed at once, for an
 * operator to retry (POST /v1/webhooks/deliveries/:id/retry) once the receiver is fixed.
 */
export function retryableStatus(status: number | undefined): boolean {
  return status === undefined || status >= 500 || status === 408 || status === 429;
}
