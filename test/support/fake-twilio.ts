import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { rebaseTwilioUri } from '../../src/channels/whatsapp/twilio-base-url.ts';
import type { TwilioHttpClient } from '../../src/channels/whatsapp/twilio-sender.ts';

/**
 * A local stand-in for Twilio's REST API (api.twilio.com and content.twilio.com) that the real
 * twilio-node library talks to. It records every request as it arrived — method, path, the
 * Twilio host the library meant, Basic auth, form fields (repeated ones kept) or JSON — and
 * answers in Twilio's snake_case JSON. Only the library's transport is redirected (through the
 * documented `httpClient` option, or TWILIO_API_BASE_URL set to `baseUrl`), never the library itself.
 */
export interface RecordedRequest {
  method: string;
  /** As received, path prefix included. */
  path: string;
  /** The host twilio-node addressed before the redirect (through `httpClient` only): api.twilio.com, content.twilio.com. */
  twilioHost: string;
  auth?: { username: string; password: string };
  contentType: string;
  /** Form fields; a repeated field (MediaUrl) has several values. */
  form: Record<string, string[]>;
  json?: unknown;
}

export interface SentMessage {
  sid: string;
  To: string;
  From?: string;
  MessagingServiceSid?: string;
  Body?: string;
  MediaUrl?: string[];
  ContentSid?: string;
  ContentVariables?: Record<string, string>;
  StatusCallback?: string;
}

export interface FakeContent {
  sid: string;
  friendly_name: string;
  language: string;
  variables: Record<string, string>;
  types: Record<string, unknown>;
  approval?: { name: string; category: string };
}

export interface FakeTwilio {
  port: number;
  /** Where it serves Twilio's paths, its path prefix included: a value for TWILIO_API_BASE_URL. */
  baseUrl: string;
  accountSid: string;
  authToken: string;
  requests: RecordedRequest[];
  /** Messages.json creations that succeeded, in order. */
  sent: SentMessage[];
  contents: Map<string, FakeContent>;
  /** The next `messages.create` fails with this Twilio error code (HTTP 400 unless given). */
  failNextSend(code: number, message?: string, status?: number): void;
  /** twilio-node `httpClient` that sends every call here. */
  httpClient: TwilioHttpClient;
  /** Resolves once `count` messages were sent (or rejects after `timeoutMs`). */
  waitForSent(count: number, timeoutMs?: number): Promise<SentMessage[]>;
  close(): Promise<void>;
}

const ACCOUNT_SID = `AC${'a1'.repeat(16)}`;
const AUTH_TOKEN = 'fake-auth-token-0123456789abcdef';

const hex32 = () => randomBytes(16).toString('hex');

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** `pathPrefix` serves the API under a prefix, as a staging proxy may (`/twilio`); anything outside it is 404. */
export async function startFakeTwilio(options: { pathPrefix?: string } = {}): Promise<FakeTwilio> {
  const prefix = options.pathPrefix ?? '';
  // TWILIO_EDGE / TWILIO_REGION would rewrite the hosts twilio-node builds (facts §4).
  delete process.env.TWILIO_EDGE;
  delete process.env.TWILIO_REGION;
  const requests: RecordedRequest[] = [];
  const sent: SentMessage[] = [];
  const contents = new Map<string, FakeContent>();
  const failures: { code: number; message: string; status: number }[] = [];
  const waiters: { count: number; resolve: (m: SentMessage[]) => void }[] = [];

  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const received = new URL(req.url ?? '/', 'http://fake');
    // Routed on Twilio's own path; a request outside the prefix matches no route.
    const url = new URL(`${received.pathname.startsWith(`${prefix}/`) ? received.pathname.slice(prefix.length) : '/outside-the-prefix'}${received.search}`, received);
    const contentType = String(req.headers['content-type'] ?? '');
    const form: Record<string, string[]> = {};
    let json: unknown;
    if (contentType.includes('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(raw)) (form[k] ??= []).push(v);
    } else if (raw) {
      json = JSON.parse(raw);
    }
    const authHeader = String(req.headers.authorization ?? '');
    const decoded = authHeader.startsWith('Basic ') ? Buffer.from(authHeader.slice(6), 'base64').toString('utf8') : undefined;
    const auth = decoded ? { username: decoded.slice(0, decoded.indexOf(':')), password: decoded.slice(decoded.indexOf(':') + 1) } : undefined;
    requests.push({ method: req.method ?? 'GET', path: received.pathname, twilioHost: String(req.headers['x-twilio-host'] ?? ''), auth, contentType, form, json });

    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (auth?.username !== ACCOUNT_SID || auth.password !== AUTH_TOKEN) {
      return reply(401, { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    }

    const messages = /^\/2010-04-01\/Accounts\/(AC\w+)\/Messages\.json$/.exec(url.pathname);
    if (messages && req.method === 'POST') {
      const failure = failures.shift();
      if (failure) {
        return reply(failure.status, { code: failure.code, message: failure.message, more_info: `https://www.twilio.com/docs/errors/${failure.code}`, status: failure.status });
      }
      const one = (k: string) => form[k]?.[0];
      const sid = `SM${hex32()}`;
      const message: SentMessage = {
        sid,
        To: one('To')!,
        ...(one('From') ? { From: one('From') } : {}),
        ...(one('MessagingServiceSid') ? { MessagingServiceSid: one('MessagingServiceSid') } : {}),
        ...(one('Body') !== undefined ? { Body: one('Body') } : {}),
        ...(form.MediaUrl ? { MediaUrl: form.MediaUrl } : {}),
        ...(one('ContentSid') ? { ContentSid: one('ContentSid') } : {}),
        ...(one('ContentVariables') ? { ContentVariables: JSON.parse(one('ContentVariables')!) as Record<string, string> } : {}),
        ...(one('StatusCallback') ? { StatusCallback: one('StatusCallback') } : {}),
      };
      sent.push(message);
      for (const w of [...waiters]) {
        if (sent.length >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve([...sent]);
        }
      }
      const now = new Date().toUTCString();
      return reply(201, {
        sid,
        account_sid: messages[1],
        api_version: '2010-04-01',
        to: message.To,
        from: message.From ?? null,
        messaging_service_sid: message.MessagingServiceSid ?? null,
        body: message.Body ?? '',
        status: 'queued',
        num_media: String(message.MediaUrl?.length ?? 0),
        num_segments: '1',
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        price: null,
        price_unit: null,
        date_created: now,
        date_updated: now,
        date_sent: null,
        uri: `/2010-04-01/Accounts/${messages[1]}/Messages/${sid}.json`,
        subresource_uris: {},
      });
    }

    if (url.pathname === '/v1/Content' && req.method === 'POST') {
      const body = json as Omit<FakeContent, 'sid'>;
      const sid = `HX${hex32()}`;
      contents.set(sid, { sid, friendly_name: body.friendly_name, language: body.language, variables: body.variables, types: body.types });
      return reply(201, contentResource(contents.get(sid)!));
    }
    const approval = /^\/v1\/Content\/(HX\w+)\/ApprovalRequests\/whatsapp$/.exec(url.pathname);
    if (approval && req.method === 'POST') {
      const content = contents.get(approval[1]!);
      if (!content) return reply(404, { code: 20404, message: 'The requested resource was not found', status: 404 });
      const body = json as { name: string; category: string };
      content.approval = { name: body.name, category: body.category };
      return reply(201, { name: body.name, category: body.category, content_type: Object.keys(content.types)[0], status: 'received', rejection_reason: '', allow_category_change: true });
    }
    const one = /^\/v1\/Content\/(HX\w+)$/.exec(url.pathname);
    if (one && req.method === 'PUT') {
      const content = contents.get(one[1]!);
      if (!content) return reply(404, { code: 20404, message: 'The requested resource was not found', status: 404 });
      const body = json as Partial<FakeContent>;
      Object.assign(content, { friendly_name: body.friendly_name ?? content.friendly_name, language: body.language ?? content.language, variables: body.variables ?? content.variables, types: body.types ?? content.types });
      return reply(200, contentResource(content));
    }
    return reply(404, { code: 20404, message: `The requested resource ${received.pathname} was not found`, status: 404 });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}${prefix}`;
  const inner = new twilio.RequestClient();

  return {
    port,
    baseUrl,
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    requests,
    sent,
    contents,
    failNextSend(code, message = `Twilio error ${code}`, status = 400) {
      failures.push({ code, message, status });
    },
    httpClient: {
      async request(opts) {
        return inner.request({ ...opts, uri: rebaseTwilioUri(opts.uri, baseUrl), headers: { ...opts.headers, 'X-Twilio-Host': new URL(opts.uri).host } });
      },
    },
    waitForSent(count, timeoutMs = 5_000) {
      if (sent.length >= count) return Promise.resolve([...sent]);
      return new Promise((resolve, reject) => {
        const waiter = { count, resolve };
        waiters.push(waiter);
        setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`expected ${count} sent messages, got ${sent.length}: ${JSON.stringify(sent.map((m) => m.Body ?? m.ContentSid))}`));
          }
        }, timeoutMs).unref();
      });
    },
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

function contentResource(c: FakeContent) {
  const now = new Date().toUTCString();
  return {
    sid: c.sid,
    account_sid: ACCOUNT_SID,
    friendly_name: c.friendly_name,
    language: c.language,
    variables: c.variables,
    types: c.types,
    url: `https://content.twilio.com/v1/Content/${c.sid}`,
    links: {
      approval_fetch: `https://content.twilio.com/v1/Content/${c.sid}/ApprovalRequests`,
      approval_create: `https://content.twilio.com/v1/Content/${c.sid}/ApprovalRequests/whatsapp`,
    },
    date_created: now,
    date_updated: now,
  };
}
