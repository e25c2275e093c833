import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A shop's webhook receiver on loopback, as the README tells one to be written: it checks
 * `Inboxcart-Signature` over the raw body with the shared secret (and the timestamp against its
 * clock, five minutes either way), and answers as the test scripts it: 2xx, 500, or nothing at
 * all until the sender gives up (a timeout). It keeps every request as it arrived.
 */
export interface ReceivedRequest {
  /** The event id of the body (undefined if the body was not JSON). */
  id?: string;
  type?: string;
  body: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
  raw: string;
  headers: IncomingMessage['headers'];
  /** The signature matched the body and the secret, and its timestamp was within the tolerance. */
  verified: boolean;
  /** How this request was answered. */
  answer: Answer;
  /** Nth request carrying this event id (1 for the first). */
  attempt: number;
}

export type Answer = number | 'hang';

export interface WebhookReceiver {
  url: string;
  secret: string;
  requests: ReceivedRequest[];
  /** The requests answered 2xx, in order: what the shop's system took in. */
  accepted(): ReceivedRequest[];
  /** Decides each answer; default 200. */
  respond: (request: Omit<ReceivedRequest, 'answer'>) => Answer;
  /** Requests held open without an answer right now. */
  hanging(): number;
  /** Resolves once `test` holds after a request (or now); rejects after `withinMs`. */
  waitFor(test: () => boolean, what: string, withinMs?: number): Promise<void>;
  close(): Promise<void>;
}

const TOLERANCE_S = 300;

/** The receiver's check, written as README "Webhooks" shows it. */
export function verifySignature(secret: string, header: string | undefined, raw: string, nowS: number): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowS - t) > TOLERANCE_S || !parts.v1) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startWebhookReceiver(options: { secret: string; now: () => Date }): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const held = new Set<ServerResponse>();
  const waiters = new Set<() => void>();
  const seen = new Map<string, number>();
  const receiver: WebhookReceiver = {
    url: '',
    secret: options.secret,
    requests,
    accepted: () => requests.filter((r) => typeof r.answer === 'number' && r.answer >= 200 && r.answer < 300),
    respond: () => 200,
    hanging: () => held.size,
    waitFor(test, what, withinMs = 10_000) {
      if (test()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!test()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`webhook receiver: ${what} did not happen within ${withinMs} ms; got ${JSON.stringify(requests.map((r) => [r.type, r.id, r.answer]))}`));
        }, withinMs);
        timer.unref();
        waiters.add(check);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: ReceivedRequest['body'];
      try {
        body = JSON.parse(raw) as ReceivedRequest['body'];
      } catch {
        body = { id: '', type: '', createdAt: '', data: {} };
      }
      const attempt = (seen.get(body.id) ?? 0) + 1;
      seen.set(body.id, attempt);
      const verified = verifySignature(options.secret, req.headers['inboxcart-signature'] as string | undefined, raw, Math.floor(options.now().getTime() / 1000));
      const base = { id: body.id || undefined, type: body.type || undefined, body, raw, headers: req.headers, verified, attempt };
      const answer = receiver.respond(base);
      requests.push({ ...base, answer });
      if (answer === 'hang') {
        held.add(res);
        res.on('close', () => held.delete(res));
      } else {
        res.writeHead(answer, { 'content-type': 'text/plain' });
        res.end(answer >= 200 && answer < 300 ? 'ok' : `receiver says ${answer}`);
      }
      for (const w of [...waiters]) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/inboxcart`;
  return receiver;
}
