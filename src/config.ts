import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { SigningKey } from './commerce/signed-token.ts';
import { segmentThresholdsSchema, VIP_MIN_SPENT_BY_CURRENCY, type SegmentThresholds } from './personalize/segment-thresholds.ts';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const csv = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** `SEK:11000,TRY:48000` → { SEK: 11000, TRY: 48000 }; entries that are not CODE:NUMBER come out as NaN for the schema to name. */
const currencyAmounts = (v: string): Record<string, number> =>
  Object.fromEntries(
    csv(v).map((pair) => {
      const at = pair.indexOf(':');
      return at < 0 ? [pair, Number.NaN] : [pair.slice(0, at).trim().toUpperCase(), pair.slice(at + 1).trim() === '' ? Number.NaN : Number(pair.slice(at + 1))];
    }),
  );
const seconds = (min: number, max: number, message: string) => z.coerce.number({ message }).int({ message }).min(min, { message }).max(max, { message });
const optionalNumber = z.preprocess((v) => (v === undefined || v === '' ? undefined : Number(v)), z.number().finite().optional());

/**
 * An http(s) URL that stands in for Twilio's API hosts, normalised without a trailing slash so
 * Twilio's paths can be appended (src/channels/whatsapp/twilio-base-url.ts). The value is never
 * echoed back: it might carry credentials.
 */
const twilioApiBaseUrl = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string()
    .transform((v, ctx) => {
      const fail = (why: string) => {
        ctx.addIssue({ code: 'custom', message: `TWILIO_API_BASE_URL ${why}: set it to an http(s) URL such as https://twilio-proxy.staging.example/twilio` });
        return z.NEVER;
      };
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        return fail('is not an absolute URL');
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail('is not http or https');
      // twilio-node sends the account SID and auth token as Basic auth on every call already.
      if (url.username || url.password) return fail('must not contain a user or password (the endpoint gets TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN as Basic auth)');
      if (url.search || url.hash) return fail('must not have a query string or fragment (Twilio\'s paths are appended to it)');
      return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    })
    .optional(),
);

/**
 * Every setting with its environment variable. Validated once at start; a bad value stops the
 * process with a message naming the variable and what it expects.
 */
const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  WORKERS: z
    .string()
    .regex(/^(auto|[1-9]\d{0,2})$/i, 'WORKERS is a number of worker processes (1 to 999) or auto (one per CPU)')
    .default('1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL')
    .optional(),
  DATA_DIR: z.string().default(join(PROJECT_ROOT, 'data')),
  TEMPLATES_DIR: z.string().default(join(PROJECT_ROOT, 'templates')),
  FIXTURES_DIR: z.string().default(join(PROJECT_ROOT, 'fixtures')),
  API_KEYS: z.string().optional(),
  PUBLIC_BASE_URL: z.url({ message: 'PUBLIC_BASE_URL must be an absolute URL such as https://mail.example.com' }).optional(),
  TOKEN_SECRETS: z
    .string()
    .regex(/^[\w-]+:[^,]{32,}(,[\w-]+:[^,]{32,})*$/, 'TOKEN_SECRETS is a comma-separated list of keyId:secret, each secret at least 32 characters')
    .optional(),
  TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  UNSUBSCRIBE_TTL_DAYS: z.coerce.number().int().min(30).max(3650).default(365),
  AMP_ALLOWED_SENDERS: z.string().optional(),
  JSON_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'JSON_BODY_LIMIT is a size such as 1mb or 512kb').default('1mb'),
  BATCH_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb|gb)$/i).default('512mb'),
  BATCH_THREADS: z
    .string()
    .regex(/^(auto|\d{1,2})$/i, 'BATCH_THREADS is a number of render threads per process (0 to 99; 0 renders on the request thread) or auto (one per CPU)')
    .default('auto'),
  PREVIEW: z.enum(['on', 'off']).optional(),
  PAYMENT_PROVIDER_URL: z.url({ message: 'PAYMENT_PROVIDER_URL must be the https URL of your payment provider\'s hosted checkout' }).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'TWILIO_ACCOUNT_SID starts with AC and has 34 characters').optional(),
  TWILIO_AUTH_TOKEN: z.string().min(16).optional(),
  TWILIO_WHATSAPP_FROM: z.string().regex(/^whatsapp:\+[1-9]\d{6,14}$/, 'TWILIO_WHATSAPP_FROM is whatsapp:+E164').optional(),
  TWILIO_MESSAGING_SERVICE_SID: z.string().regex(/^MG[0-9a-fA-F]{32}$/).optional(),
  TWILIO_API_BASE_URL: twilioApiBaseUrl,
  WHATSAPP_REPLY_LEASE_SECONDS: seconds(5, 3600, 'WHATSAPP_REPLY_LEASE_SECONDS is whole seconds from 5 to 3600: the lease must outlast the slowest send').default(60),
  WHATSAPP_REPLY_RECOVERY_SECONDS: seconds(1, 3600, 'WHATSAPP_REPLY_RECOVERY_SECONDS is whole seconds from 1 to 3600').default(30),
  WEBHOOK_URL: z.string().optional(),
  WEBHOOK_SECRET: z.string().min(24, 'WEBHOOK_SECRET must be at least 24 characters (a random string both sides keep secret, e.g. openssl rand -hex 32)').optional(),
  WEBHOOK_TIMEOUT_MS: z.coerce
    .number({ message: 'WEBHOOK_TIMEOUT_MS is whole milliseconds from 100 to 60000' })
    .int({ message: 'WEBHOOK_TIMEOUT_MS is whole milliseconds from 100 to 60000' })
    .min(100, { message: 'WEBHOOK_TIMEOUT_MS is whole milliseconds from 100 to 60000' })
    .max(60_000, { message: 'WEBHOOK_TIMEOUT_MS is whole milliseconds from 100 to 60000' })
    .default(10_000),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// or rediss:// URL').optional(),
  WORKER: z.enum(['on', 'off']).default('on'),
  CAMPAIGN_QUEUE_PREFIX: z.string().regex(/^[\w-]{1,64}$/, 'CAMPAIGN_QUEUE_PREFIX is 1–64 letters, digits, _ or -').default('inboxcart'),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'SMTP_URL must be an smtp:// or smtps:// URL').optional(),
  OUTPUT_DIR: z.string().optional(),
  DKIM_DOMAIN: z.string().min(1).optional(),
  DKIM_SELECTOR: z.string().min(1).optional(),
  DKIM_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  CAMPAIGN_CHUNK_SIZE: seconds(1, 10_000, 'CAMPAIGN_CHUNK_SIZE is a whole number of recipients per chunk job, 1 to 10000').default(500),
  CAMPAIGN_CONCURRENCY: seconds(1, 256, 'CAMPAIGN_CONCURRENCY is the number of chunk jobs one process runs at once, 1 to 256').default(2),
  CAMPAIGN_SEND_CONCURRENCY: seconds(1, 256, 'CAMPAIGN_SEND_CONCURRENCY is the number of messages one chunk has in flight, 1 to 256').default(8),
  CAMPAIGN_LEASE_SECONDS: seconds(2, 3600, 'CAMPAIGN_LEASE_SECONDS is whole seconds from 2 to 3600: how long a dead worker holds its chunk').default(30),
  CAMPAIGN_CHUNKS_PER_SECOND: optionalNumber,
  CAMPAIGN_EMAIL_PER_SECOND: optionalNumber,
  // Twilio's default per WhatsApp sender (/work/shared/facts: 80 MPS, text raisable to 400).
  CAMPAIGN_WHATSAPP_PER_SECOND: optionalNumber.default(80),
  // Meta's tiers are 250, 1000, 10000, 100000 or unlimited; any lower number keeps a margin below the account's tier.
  WHATSAPP_TIER: z.string().regex(/^(unlimited|[1-9]\d{0,8})$/, 'WHATSAPP_TIER is unique WhatsApp users per rolling 24 h (the Meta messaging tier, e.g. 1000) or unlimited').default('unlimited'),
  QUIET_HOURS: z
    .string()
    .regex(/^(off|([01]\d|2[0-3]):00-([01]\d|2[0-3]):00)$/, 'QUIET_HOURS is off or HH:00-HH:00 in the customer\'s local time, e.g. 21:00-08:00')
    .default('21:00-08:00'),
  FREQUENCY_CAP: z.string().regex(/^(off|[1-9]\d{0,2}\/[1-9]\d{0,3}h)$/, 'FREQUENCY_CAP is off or messages/hours, e.g. 1/24h').default('1/24h'),
  TRIGGERS: z.enum(['on', 'off']).default('on'),
  TRIGGERS_FILE: z.string().default(join(PROJECT_ROOT, 'triggers.json')),
  CART_ABANDON_HOURS: seconds(1, 720, 'CART_ABANDON_HOURS is whole hours from 1 to 720 a cart stays untouched before its reminder').default(4),
  TRIGGER_TICK_SECONDS: seconds(10, 86_400, 'TRIGGER_TICK_SECONDS is whole seconds from 10 to 86400 between two looks for abandoned carts, birthdays and lapsed customers').default(60),
  SEGMENT_VIP_TIERS: z.string().optional(),
  SEGMENT_VIP_MIN_ORDERS: optionalNumber,
  SEGMENT_VIP_MIN_SPENT: optionalNumber,
  SEGMENT_VIP_MIN_SPENT_BY_CURRENCY: z.string().optional(),
  SEGMENT_DISCOUNT_SEEKER_MIN: optionalNumber,
  SEGMENT_NEW_SUBSCRIBER_DAYS: optionalNumber,
  SEGMENT_AT_RISK_DAYS: optionalNumber,
});

export interface Config {
  env: string;
  production: boolean;
  port: number;
  host: string;
  /** HTTP worker processes sharing the port (node:cluster); 1 serves from the main process. */
  workers: number;
  databaseUrl?: string;
  dataDir: string;
  templatesDir: string;
  fixturesDir: string;
  templateCacheDir: string;
  apiKeys: string[];
  publicBaseUrl: string;
  tokenKeys: SigningKey[];
  tokenTtlDays: number;
  /** Lifetime of the unsubscribe link in an email (at least 30 days after sending, as CAN-SPAM asks). */
  unsubscribeTtlDays: number;
  ampAllowedSenders: string[];
  jsonBodyLimit: string;
  batchBodyLimit: string;
  /** Threads that render batch lines in parallel, per process; 0 renders them on the request thread. */
  batchThreads: number;
  previewEnabled: boolean;
  /** The payment provider's hosted checkout; the /pay page hands the customer over to it. */
  paymentProviderUrl?: string;
  logLevel: string;
  twilio: {
    accountSid?: string;
    authToken?: string;
    whatsappFrom?: string;
    messagingServiceSid?: string;
    /** Stands in for api.twilio.com and content.twilio.com (staging); unset = Twilio's own hosts. No trailing slash. */
    apiBaseUrl?: string;
  };
  /**
   * How long an instance holds the WhatsApp replies it is sending, and how often every instance
   * looks for replies nobody sent (their instance died): together they bound how late a reply
   * left behind by a crash goes out.
   */
  whatsappReplies: { leaseMs: number; recoveryEveryMs: number };
  /**
   * The shop's webhooks: every event goes to each URL, signed with the secret; an attempt
   * without an answer after `timeoutMs` is a failure and retried.
   */
  webhooks: { urls: string[]; secret?: string; timeoutMs: number };
  thresholds: SegmentThresholds;
  campaigns: CampaignConfig;
  /** Triggered journeys (src/triggers/): triggers.json, the cart reminder's delay, the scheduled tick. */
  triggers: { enabled: boolean; file: string; cartAbandonHours: number; tickMs: number };
  /** Notes for the start-up log (e.g. "API open: no API_KEYS"). */
  notices: string[];
}

export interface CampaignConfig {
  /** BullMQ on this Redis; without it campaigns run in-process on the store (embedded). */
  redisUrl?: string;
  /** This process runs campaign chunk jobs (`WORKER=on`, the default). */
  worker: boolean;
  /** BullMQ key prefix: instances sharing it share the campaigns' jobs. */
  queuePrefix: string;
  smtpUrl?: string;
  /** Where emails go as .eml files when no SMTP_URL is set. */
  outputDir: string;
  dkim?: { domainName: string; keySelector: string; privateKey: string };
  chunkSize: number;
  concurrency: number;
  sendConcurrency: number;
  leaseMs: number;
  /** BullMQ limiter over all workers: chunk jobs started per second (undefined: unlimited). */
  chunksPerSecond?: number;
  /** Messages per second per channel over all workers (no entry: unlimited). */
  perSecond: { email?: number; whatsapp?: number };
  /** Meta's messaging tier: unique WhatsApp users a rolling 24 h may reach; beyond, sends wait. */
  whatsappTier?: number;
  /** Local hours [start, end) in which marketing waits; undefined: off. */
  quietHours?: { start: number; end: number };
  /** At most `messages` per customer per channel in `hours`; undefined: off. */
  frequencyCap?: { messages: number; hours: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads configuration from the environment. Outside production, missing secrets get safe
 * local defaults (a token secret generated once into DATA_DIR) so `npm start` works on a
 * fresh clone; in production they are required.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const problems: string[] = [];
  const notices: string[] = [];

  const thresholds = segmentThresholdsSchema.safeParse({
    vipTiers: e.SEGMENT_VIP_TIERS ? csv(e.SEGMENT_VIP_TIERS) : undefined,
    vipMinOrders: e.SEGMENT_VIP_MIN_ORDERS,
    vipMinSpent: e.SEGMENT_VIP_MIN_SPENT,
    // Merged over the defaults: naming SEK does not drop the lira figure.
    vipMinSpentByCurrency:
      e.SEGMENT_VIP_MIN_SPENT_BY_CURRENCY === undefined ? undefined : { ...VIP_MIN_SPENT_BY_CURRENCY, ...currencyAmounts(e.SEGMENT_VIP_MIN_SPENT_BY_CURRENCY) },
    discountSeekerMinPromoSensitivity: e.SEGMENT_DISCOUNT_SEEKER_MIN,
    newSubscriberDays: e.SEGMENT_NEW_SUBSCRIBER_DAYS,
    atRiskDays: e.SEGMENT_AT_RISK_DAYS,
  });
  if (!thresholds.success) problems.push(...thresholds.error.issues.map((i) => `SEGMENT_* (${i.path.join('.')}): ${i.message}`));

  const apiKeys = csv(e.API_KEYS);
  if (apiKeys.some((k) => k.length < 16)) problems.push('API_KEYS: each key must be at least 16 characters');
  if (apiKeys.length === 0) {
    if (production) problems.push('API_KEYS: required when NODE_ENV=production');
    else notices.push('API_KEYS is not set: the /v1 API is open (embedded demo mode). Set API_KEYS to require a bearer key.');
  }

  let tokenKeys: SigningKey[];
  if (e.TOKEN_SECRETS) {
    tokenKeys = csv(e.TOKEN_SECRETS).map((pair) => {
      const at = pair.indexOf(':');
      return { id: pair.slice(0, at), secret: pair.slice(at + 1) };
    });
  } else if (production) {
    problems.push('TOKEN_SECRETS: required when NODE_ENV=production (keyId:secret with at least 32 characters)');
    tokenKeys = [];
  } else {
    tokenKeys = [{ id: 'dev', secret: localSecret(e.DATA_DIR) }];
    notices.push(`TOKEN_SECRETS is not set: using a local development secret stored in ${e.DATA_DIR}.`);
  }

  const publicBaseUrl = (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  if (production && !publicBaseUrl.startsWith('https://')) problems.push('PUBLIC_BASE_URL: must be https in production (AMP endpoints are https only)');

  if (e.TWILIO_API_BASE_URL) {
    if (production && !e.TWILIO_API_BASE_URL.startsWith('https://')) {
      problems.push('TWILIO_API_BASE_URL: must be https in production (every call carries the Twilio auth token)');
    }
    notices.push(`TWILIO_API_BASE_URL is set: WhatsApp sends and the Content API go to ${e.TWILIO_API_BASE_URL}, not to Twilio.`);
  }

  const webhookUrls = csv(e.WEBHOOK_URL);
  for (const url of webhookUrls) {
    const problem = webhookUrlProblem(url, production);
    if (problem) problems.push(`WEBHOOK_URL: ${problem}`);
  }
  if (webhookUrls.length > 0 && !e.WEBHOOK_SECRET) problems.push('WEBHOOK_SECRET: required with WEBHOOK_URL (receivers verify the Inboxcart-Signature header with it)');
  let dkim: CampaignConfig['dkim'];
  const dkimSet = [e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY_FILE].filter((v) => v !== undefined).length;
  if (dkimSet > 0 && dkimSet < 3) problems.push('DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE: set all three to sign campaign email, or none');
  else if (dkimSet === 3) {
    try {
      dkim = { domainName: e.DKIM_DOMAIN!, keySelector: e.DKIM_SELECTOR!, privateKey: readFileSync(e.DKIM_PRIVATE_KEY_FILE!, 'utf8') };
    } catch (err) {
      problems.push(`DKIM_PRIVATE_KEY_FILE: cannot read ${e.DKIM_PRIVATE_KEY_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (e.CAMPAIGN_CHUNKS_PER_SECOND !== undefined && !(e.CAMPAIGN_CHUNKS_PER_SECOND > 0)) problems.push('CAMPAIGN_CHUNKS_PER_SECOND: a number of chunk jobs per second above 0');
  if (e.CAMPAIGN_EMAIL_PER_SECOND !== undefined && !(e.CAMPAIGN_EMAIL_PER_SECOND > 0)) problems.push('CAMPAIGN_EMAIL_PER_SECOND: a number of emails per second above 0');
  if (!(e.CAMPAIGN_WHATSAPP_PER_SECOND > 0)) problems.push('CAMPAIGN_WHATSAPP_PER_SECOND: a number of WhatsApp messages per second above 0');
  const quiet = /^(\d\d):00-(\d\d):00$/.exec(e.QUIET_HOURS);
  const cap = /^(\d+)\/(\d+)h$/.exec(e.FREQUENCY_CAP);

  if (problems.length) throw new ConfigError(problems);
  return {
    env: e.NODE_ENV,
    production,
    port: e.PORT,
    host: e.HOST,
    workers: e.WORKERS.toLowerCase() === 'auto' ? availableParallelism() : Number(e.WORKERS),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    templatesDir: e.TEMPLATES_DIR,
    fixturesDir: e.FIXTURES_DIR,
    templateCacheDir: join(PROJECT_ROOT, '.cache', 'templates'),
    apiKeys,
    publicBaseUrl,
    tokenKeys,
    tokenTtlDays: e.TOKEN_TTL_DAYS,
    unsubscribeTtlDays: e.UNSUBSCRIBE_TTL_DAYS,
    ampAllowedSenders: csv(e.AMP_ALLOWED_SENDERS).map((s) => s.toLowerCase()),
    jsonBodyLimit: e.JSON_BODY_LIMIT,
    batchBodyLimit: e.BATCH_BODY_LIMIT,
    batchThreads: e.BATCH_THREADS.toLowerCase() === 'auto' ? availableParallelism() : Number(e.BATCH_THREADS),
    previewEnabled: e.PREVIEW ? e.PREVIEW === 'on' : !production,
    paymentProviderUrl: e.PAYMENT_PROVIDER_URL,
    logLevel: e.LOG_LEVEL,
    twilio: {
      accountSid: e.TWILIO_ACCOUNT_SID,
      authToken: e.TWILIO_AUTH_TOKEN,
      whatsappFrom: e.TWILIO_WHATSAPP_FROM,
      messagingServiceSid: e.TWILIO_MESSAGING_SERVICE_SID,
      ...(e.TWILIO_API_BASE_URL ? { apiBaseUrl: e.TWILIO_API_BASE_URL } : {}),
    },
    whatsappReplies: { leaseMs: e.WHATSAPP_REPLY_LEASE_SECONDS * 1000, recoveryEveryMs: e.WHATSAPP_REPLY_RECOVERY_SECONDS * 1000 },
    webhooks: { urls: [...new Set(webhookUrls)], ...(e.WEBHOOK_SECRET ? { secret: e.WEBHOOK_SECRET } : {}), timeoutMs: e.WEBHOOK_TIMEOUT_MS },
    thresholds: thresholds.data!,
    campaigns: {
      ...(e.REDIS_URL ? { redisUrl: e.REDIS_URL } : {}),
      worker: e.WORKER === 'on',
      queuePrefix: e.CAMPAIGN_QUEUE_PREFIX,
      ...(e.SMTP_URL ? { smtpUrl: e.SMTP_URL } : {}),
      outputDir: e.OUTPUT_DIR ?? join(e.DATA_DIR, 'outbox'),
      ...(dkim ? { dkim } : {}),
      chunkSize: e.CAMPAIGN_CHUNK_SIZE,
      concurrency: e.CAMPAIGN_CONCURRENCY,
      sendConcurrency: e.CAMPAIGN_SEND_CONCURRENCY,
      leaseMs: e.CAMPAIGN_LEASE_SECONDS * 1000,
      ...(e.CAMPAIGN_CHUNKS_PER_SECOND ? { chunksPerSecond: e.CAMPAIGN_CHUNKS_PER_SECOND } : {}),
      perSecond: { ...(e.CAMPAIGN_EMAIL_PER_SECOND ? { email: e.CAMPAIGN_EMAIL_PER_SECOND } : {}), whatsapp: e.CAMPAIGN_WHATSAPP_PER_SECOND },
      ...(e.WHATSAPP_TIER !== 'unlimited' ? { whatsappTier: Number(e.WHATSAPP_TIER) } : {}),
      ...(quiet ? { quietHours: { start: Number(quiet[1]), end: Number(quiet[2]) } } : {}),
      ...(cap ? { frequencyCap: { messages: Number(cap[1]), hours: Number(cap[2]) } } : {}),
    },
    triggers: { enabled: e.TRIGGERS === 'on', file: e.TRIGGERS_FILE, cartAbandonHours: e.CART_ABANDON_HOURS, tickMs: e.TRIGGER_TICK_SECONDS * 1000 },
    notices,
  };
}

/** Why a WEBHOOK_URL entry cannot be posted to, without echoing it (a query may carry the receiver's credentials). */
function webhookUrlProblem(value: string, production: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'an entry is not an absolute URL; give comma-separated http(s) URLs such as https://shop.example/hooks/inboxcart';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `an entry is ${url.protocol.slice(0, -1)}, not http(s)`;
  if (production && url.protocol !== 'https:') return `${url.origin} must be https in production (deliveries carry customers' orders and addresses)`;
  // fetch refuses URLs with credentials; the signature is how a receiver knows the sender.
  if (url.username || url.password) return `${url.host}: a user or password in the URL is not sent; receivers verify Inboxcart-Signature instead`;
  return undefined;
}

function localSecret(dataDir: string): string {
  const file = join(dataDir, 'dev-token-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}
