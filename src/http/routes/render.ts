import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildEml } from '../../channels/email/build-eml.ts';
import { encodeRenderResult } from '../../render/encode-result.ts';
import { renderRequestSchema, type RenderRequest } from '../../render/render-input.ts';
import type { TemplateSet } from '../../templates/template-registry.ts';
import { joinChunks, negotiateEncoding } from '../compression/body-encoding.ts';
import { sendError } from '../error-middleware.ts';
import { fieldsFromZod, HttpError, type FieldProblem } from '../http-error.ts';
import type { ReadJsonBody } from '../json-body.ts';
import type { Logger } from '../logger.ts';
import type { RenderFn } from '../../render-service/render-service.ts';
import { trackRequest } from '../request-logging.ts';
import type { ServiceRenderResult } from '../../render/render-message.ts';

/** Parses a render request, naming every wrong field. */
export function parseRenderRequest(body: unknown, what?: string): RenderRequest {
  const parsed = renderRequestSchema.safeParse(body);
  if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error), what);
  return parsed.data;
}

/** Sender identity for `?format=eml`: the brand's name at the shop's domain. */
export interface EmlIdentity {
  from: string;
  domain: string;
}

/** A render result as the 200 JSON response, gzip-encoded when the client accepts it. */
export function sendRenderResult(req: IncomingMessage, res: ServerResponse, result: ServiceRenderResult): void {
  const encoded = encodeRenderResult(result);
  const encoding = negotiateEncoding(req, res);
  const body = joinChunks([...encoding.write(encoded.pieces, encoded.shared, encoded.contexts), ...encoding.end()]);
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
}

export interface RenderEndpointOptions {
  render: RenderFn;
  templates: TemplateSet;
  eml: EmlIdentity;
  /** The /v1 API key check (api-key-auth.ts); undefined when the API runs open. */
  checkKey: ((authorization: string | undefined) => void) | undefined;
  /** The JSON body reader of every JSON route (json-body.ts), at JSON_BODY_LIMIT. */
  readBody: ReadJsonBody;
  logger: Logger;
  /** The access logger (logger.ts `accessLogger`). */
  access: Logger;
}

const ROUTE = 'POST /v1/render';

/**
 * POST /v1/render, the whole request: request id and access line, API key, JSON body, format,
 * render, response or error. It takes Node's plain request and response, so the Express app
 * and the dispatch in front of it (render-fast-path.ts) run this one function, and their
 * answers, headers and log lines cannot drift apart.
 */
export function renderEndpoint(o: RenderEndpointOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const id = trackRequest(req, res, o.access);
    serve(req, res, o).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, err, o.logger.child({ reqId: id }));
    });
  };
}

/** JSON by default, the RFC 5322 message with `?format=eml`. */
async function serve(req: IncomingMessage, res: ServerResponse, o: RenderEndpointOptions): Promise<void> {
  o.checkKey?.(req.headers.authorization);
  const body = await o.readBody(req, res, ROUTE);
  const format = formatOf(req.url ?? '');
  const request = parseRenderRequest(body);
  if (format === 'json') return sendRenderResult(req, res, await o.render(request));

  const manifest = o.templates.templates.get(request.template)?.manifest;
  if (manifest && !manifest.channels.includes('email')) {
    throw new HttpError(422, 'no_email_part', `Template '${request.template}' has no email channel, so there is no message to return as eml. Drop ?format=eml to get its ${manifest.channels.join(' and ')} part.`);
  }
  const problems: FieldProblem[] = [];
  if (request.channels && !request.channels.includes('email')) problems.push({ path: 'channels', message: "format=eml renders the email part; include 'email' or leave channels out" });
  if (!request.profile.email) problems.push({ path: 'profile.email', message: 'format=eml needs the recipient address for the To header' });
  if (problems.length) throw HttpError.invalidRequest(problems);

  const result = await o.render({ ...request, channels: ['email'] });
  if (result.email && 'suppressed' in result.email) {
    throw new HttpError(422, 'unsubscribed', `Customer ${request.profile.id} unsubscribed from marketing email, so template '${request.template}' has no message to send.`);
  }
  if (!result.email) throw new HttpError(422, 'no_email_part', `Template '${request.template}' rendered no email part.`);
  const eml = await buildEml(result.email, {
    from: o.eml.from,
    to: request.profile.email!,
    messageId: `<${result.id}@${o.eml.domain}>`,
  });
  res.statusCode = 200;
  res.setHeader('Content-Type', 'message/rfc822');
  res.setHeader('Content-Disposition', `inline; filename="${result.id.replace(/[^\w.-]/g, '_')}.eml"`);
  res.end(eml);
}

function formatOf(url: string): 'json' | 'eml' {
  const q = url.indexOf('?');
  const given = q < 0 ? [] : new URLSearchParams(url.slice(q + 1)).getAll('format');
  if (given.length === 0) return 'json';
  if (given.length === 1 && (given[0] === 'json' || given[0] === 'eml')) return given[0];
  throw HttpError.invalidRequest([{ path: 'format', message: "the format query parameter is 'json' (default) or 'eml'" }], 'The query');
}
