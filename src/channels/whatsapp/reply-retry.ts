/**
 * When a WhatsApp reply that could not be sent is tried again, and when it is given up: the one
 * place that decides, for a Twilio failure and a thrown error alike.
 *
 * Exponential backoff with "equal jitter" (half the delay fixed, half random;
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/): the random half
 * spreads the replies a Twilio outage failed together, and the fixed half keeps a retry from
 * coming right back. The first retry comes within 4 s, as a customer is waiting in the chat and
 * most Twilio 5xx pass in seconds; each later wait is three times longer, up to 2 minutes. With
 * 6 attempts in all, a reply is retried after 2–4 s, 6–12 s, 18–36 s, 54–108 s and 1–2 min, and
 * is given up after the sixth failure, 2 min 20 s to 4 min 40 s after the first: a chat reply
 * much later than that answers a question the customer has moved on from.
 *
 * The instance that holds the reply waits out the delay itself (whatsapp-routes.ts); the
 * periodic recovery only covers an instance that died meanwhile.
 *
 * @example
 * retryDelayMs(1, true, () => 0) // 2_000: the first retry, at the earliest
 * retryDelayMs(6, true)          // undefined: out of attempts, the reply is failed
 */
export const REPLY_ATTEMPTS = 6;
/** The longest first wait; half of it is the shortest. */
const FIRST_RETRY_MS = 4_000;
const BACKOFF_FACTOR = 3;
const MAX_RETRY_MS = 120_000;

/**
 * How long to wait after a reply's `attempts`-th failed attempt, or undefined when it must not
 * be tried again (out of attempts, or the failure will not change by waiting).
 * `random` returns a number in [0, 1), like Math.random.
 */
export function retryDelayMs(attempts: number, retryable: boolean, random: () => number = Math.random): number | undefined {
  if (!retryable || attempts >= REPLY_ATTEMPTS) return undefined;
  return equalJitter(Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * BACKOFF_FACTOR ** (attempts - 1)), random);
}

/** A wait of half `ceilingMs` plus a random part of the other half ("equal jitter", see above). */
export function equalJitter(ceilingMs: number, random: () => number = Math.random): number {
  return Math.round(ceilingMs / 2 + (random() * ceilingMs) / 2);
}

/** Runs `run` once, `ms` from now; the function it returns cancels that. */
export type Schedule = (run: () => void, ms: number) => () => void;

/** setTimeout that does not keep the process alive: a pending retry must not hold up shutdown. */
export const unrefTimeout: Schedule = (run, ms) => {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
};
