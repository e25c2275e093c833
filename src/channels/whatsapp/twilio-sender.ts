import { randomUUID } from 'node:crypto';
import twilio from 'twilio';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { maskPhone } from '../../shared/mask-phone.ts';
import { MESSAGE_STATUSES, type MessageStatus, type MessagesRepository } from '../../store/messages-repository.ts';
import type { MessageCreateParams } from '../../render/whatsapp/render-whatsapp.ts';
import { rebasedHttpClient, type TwilioHttpClient } from './twilio-base-url.ts';

export type { TwilioHttpClient };


export interface TwilioClientOptions {
  httpClient?: TwilioHttpClient;
}

export class TwilioNotConfiguredError extends Error {
  constructor(missing: string[]) {
    super(`Twilio is not configured: set ${missing.join(' and ')} (see README, "WhatsApp").`);
    this.name = 'TwilioNotConfiguredError';
  }
}

/**
 * A twilio-node client for the configured account. Credentials come from config only, never
 * from the library's own TWILIO_* fallbacks, so what `loadConfig` validated is what is used.
 * With TWILIO_API_BASE_URL its calls go there instead of Twilio (twilio-base-url.ts); the sender
 * and `inboxcart twilio sync` both get their client here.
 */
export function createTwilioClient(config: Pick<Config, 'twilio'>, options: TwilioClientOptions = {}): twilio.Twilio {
  const { accountSid, authToken, apiBaseUrl } = config.twilio;
  const missing = [...(accountSid ? [] : ['TWILIO_ACCOUNT_SID']), ...(authToken ? [] : ['TWILIO_AUTH_TOKEN'])];
  if (missing.length) throw new TwilioNotConfiguredError(missing);
  // twilio()'s timeout and retry options only configure the RequestClient it would build
  // itself (BaseTwilio.ts `get httpClient`), so the transport is built here, where a base URL can wrap it.
  const transport =
    options.httpClient ??
    new twilio.RequestClient({
      // The library retries only HTTP 429 (RequestClient.ts); 63018 and other errors come back to us.
      autoRetry: true,
      maxRetries: 2,
      // Inbound webhooks wait on these calls; Twilio gives a webhook 15 s in total (facts §1).
      timeout: 10_000,
    });
  const httpClient = apiBaseUrl ? rebasedHttpClient(apiBaseUrl, transport) : transport;
  return twilio(accountSid, authToken, { httpClient: httpClient as twilio.RequestClient });
}

export interface SendMeta {
  customerId?: string;
  /** What is being sent, for the message log: 'reply', 'template', 'order-confirmation'… */
  kind: string;
  template?: string;
}

export type SendErrorCode =
  /** A Twilio error code from the REST API, e.g. 63016, 63018, 21610. */
  | number
  /** Twilio could not be reached, or answered without a Twilio error body. */
  | 'network'
  /** Refused before calling Twilio: the 24-hour window is closed and the message is no approved template. */
  | 'outside_window'
  | 'opted_out'
  | 'no_consent'
  | 'no_phone'
  /** The approved template has no contentSid yet: run `inboxcart twilio sync`. */
  | 'not_synced'
  | 'not_configured';

export interface SendError {
  code: SendErrorCode;
  message: string;
  /** True when the same send may succeed later (rate limits, network, Twilio 5xx). */
  retryable: boolean;
  httpStatus?: number;
  moreInfo?: string;
  /** The message row that records the failure (`failed-…`; Twilio gave no sid). */
  recordedAs?: string;
}

export type SendResult = { ok: true; sid: string; status: MessageStatus } | { ok: false; error: SendError };

export interface WhatsAppSender {
  send(message: MessageCreateParams, meta: SendMeta): Promise<SendResult>;
}

/**
 * Twilio errors worth retrying later. 63018: rate or messaging-tier limit
 * (https://www.twilio.com/docs/errors/63018); 20429: too many concurrent requests; 63017:
 * account above its MPS. 63016 (outside the window) is not: only an approved template helps.
 */
const RETRYABLE_CODES = new Set([63018, 20429, 63017]);

export interface SenderDeps {
  messages: Pick<MessagesRepository, 'recordOutbound' | 'updateStatus'>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  httpClient?: TwilioHttpClient;
  /** A client built elsewhere (tests, the sync command); otherwise one is created from config. */
  client?: twilio.Twilio;
  /** When a failed send is recorded as failed. Default: the system clock. */
  now?: () => Date;
}

/**
 * Sends WhatsApp messages with twilio-node's `messages.create`, from the configured sender, with
 * the status callback pointing at `/whatsapp/v1/status`. Every outcome is recorded in the
 * message log; errors come back as a typed result, never as a throw, so a webhook can answer
 * Twilio whatever happened to its replies.
 *
 * @example
 * const sender = createTwilioSender(config, { messages: store.messages, logger });
 * const result = await sender.send({ to: 'whatsapp:+46701234567', body: 'Hej!' }, { kind: 'reply' });
 * if (!result.ok && result.error.code === 63016) // outside the window: send the approved template
 */
export function createTwilioSender(config: Pick<Config, 'twilio' | 'publicBaseUrl'>, deps: SenderDeps): WhatsAppSender {
  const { whatsappFrom, messagingServiceSid } = config.twilio;
  let client = deps.client;
  const statusCallback = `${config.publicBaseUrl}/whatsapp/v1/status`;

  async function recordFailure(message: MessageCreateParams, meta: SendMeta, error: SendError): Promise<SendError> {
    const sid = `failed-${randomUUID()}`;
    try {
      // updateStatus inserts the unknown row with the error code; recordOutbound then fills in
      // who and what, keeping the final 'failed'.
      await deps.messages.updateStatus(sid, 'failed', String(error.code), deps.now?.() ?? new Date());
      await deps.messages.recordOutbound({ sid, customerId: meta.customerId, to: message.to, kind: meta.kind, template: meta.template, status: 'failed' });
    } catch (dbError) {
      deps.logger.error({ err: dbError, to: maskPhone(message.to) }, 'could not record a failed WhatsApp send');
      return error;
    }
    return { ...error, recordedAs: sid };
  }

  return {
    async send(message, meta) {
      if (!whatsappFrom && !messagingServiceSid) {
        return { ok: false, error: await recordFailure(message, meta, notConfigured('TWILIO_WHATSAPP_FROM or TWILIO_MESSAGING_SERVICE_SID')) };
      }
      try {
        client ??= createTwilioClient(config, { httpClient: deps.httpClient });
      } catch (error) {
        if (error instanceof TwilioNotConfiguredError) return { ok: false, error: await recordFailure(message, meta, { code: 'not_configured', message: error.message, retryable: false }) };
        throw error;
      }
      let created: { sid: string; status: string };
      try {
        created = await client.messages.create({
          to: message.to,
          ...(whatsappFrom ? { from: whatsappFrom } : {}),
          ...(messagingServiceSid ? { messagingServiceSid } : {}),
          ...(message.contentSid ? { contentSid: message.contentSid } : {}),
          ...(message.contentVariables ? { contentVariables: message.contentVariables } : {}),
          // With a ContentSid, Body and MediaUrl are left out: the content supersedes them, and a
          // template sent with Body fails outside the window (error 63016 since April 2025;
          // https://www.twilio.com/docs/content-api/send-templates-created-with-content-api).
          ...(!message.contentSid && message.body !== undefined ? { body: message.body } : {}),
          ...(!message.contentSid && message.mediaUrl?.length ? { mediaUrl: message.mediaUrl } : {}),
          statusCallback,
        });
      } catch (raw) {
        const error = toSendError(raw);
        deps.logger.warn(
          { to: maskPhone(message.to), code: error.code, httpStatus: error.httpStatus, kind: meta.kind, template: meta.template },
          `WhatsApp send failed: ${error.message}`,
        );
        return { ok: false, error: await recordFailure(message, meta, error) };
      }
      const status = (MESSAGE_STATUSES as readonly string[]).includes(created.status) ? (created.status as MessageStatus) : 'queued';
      try {
        await deps.messages.recordOutbound({ sid: created.sid, customerId: meta.customerId, to: message.to, kind: meta.kind, template: meta.template, status });
      } catch (dbError) {
        // The message is on its way; a missing log row must not turn that into a failure.
        deps.logger.error({ err: dbError, sid: created.sid }, 'could not record a sent WhatsApp message');
      }
      deps.logger.info({ sid: created.sid, to: maskPhone(message.to), kind: meta.kind, template: meta.template, status }, 'WhatsApp message sent');
      return { ok: true, sid: created.sid, status };
    },
  };
}

function notConfigured(what: string): SendError {
  return { code: 'not_configured', message: `Twilio is not configured: set ${what}.`, retryable: false };
}

/** RestException carries Twilio's error `code` (https://www.twilio.com/docs/api/errors); anything else is transport. */
export function toSendError(raw: unknown): SendError {
  if (raw instanceof twilio.RestException) {
    const code = typeof raw.code === 'number' ? raw.code : undefined;
    return {
      code: code ?? 'network',
      message: raw.message,
      retryable: code !== undefined ? RETRYABLE_CODES.has(code) || raw.status >= 500 : raw.status >= 500,
      httpStatus: raw.status,
      ...(raw.moreInfo ? { moreInfo: raw.moreInfo } : {}),
    };
  }
  const message = raw instanceof Error ? raw.message : String(raw);
  return { code: 'network', message: `Twilio could not be reached: ${message}`, retryable: true };
}
