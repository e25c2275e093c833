/**
 * When a WhatsApp reply that could not be sent is tried again, and when it is given up: the one
 * place that decides, for a Twilio failure and a thrown error alike.
 *
 * Exponential backoff with "equal jitter" (half the delay fixed, half random;
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/): the random half
 * spreads the replies a Twilio outage failed together, and the fixed half keeps a retry from
 * coming right back. With 5 attempts in all, a reply is retried after 15–30 s, 30–60 s,
 * 1–2 min and 2–4 min (then, the recovery pass runs every 30 s), and is given up after the
 * fifth failure, at most about 7.5 minutes after the first: a chat reply much later than that
 * answers a question the customer has moved on from.
 *
 * @example
 * retryDelayMs(1, true, () => 0) // 15_000: the first retry, at the earliest
 * retryDelayMs(5, true)          // undefined: out of attempts, the reply is failed
 */
export const REPLY_ATTEMPTS = 5;
const FIRST_RETRY_MS = 30_000;

/**
 * How long to wait after a reply's `attempts`-th failed attempt, or undefined when it must not
 * be tried again (out of attempts, or the failure will not change by waiting).
 * `random` returns a number in [0, 1), like Math.random.
 */
export function retryDelayMs(attempts: number, retryable: boolean, random: () => number = Math.random): number | undefined {
  if (!retryable || attempts >= REPLY_ATTEMPTS) return undefined;
  const ceiling = FIRST_RETRY_MS * 2 ** (attempts - 1);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
