import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { buildEml } from '../../channels/email/build-eml.ts';
import { encodeRenderResult } from '../../render/encode-result.ts';
import { renderRequestSchema, type RenderRequest } from '../../render/render-input.ts';
import type { TemplateSet } from '../../templates/template-registry.ts';
import { joinChunks, negotiateEncoding } from '../compression/body-encoding.ts';
import { fieldsFromZod, HttpError, type FieldProblem } from '../http-error.ts';
import type { RenderFn } from '../render-service.ts';
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

/** POST /v1/render — JSON by default, the RFC 5322 message with `?format=eml`. */
export function renderRoute(o: { render: RenderFn; templates: TemplateSet; eml: EmlIdentity }) {
  return async (req: Request, res: Response): Promise<void> => {
    const format = req.query.format ?? 'json';
    if (format !== 'json' && format !== 'eml') {
      throw HttpError.invalidRequest([{ path: 'format', message: "the format query parameter is 'json' (default) or 'eml'" }], 'The query');
    }
    const request = parseRenderRequest(req.body);
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
    res.status(200);
    res.setHeader('Content-Type', 'message/rfc822');
    res.setHeader('Content-Disposition', `inline; filename="${result.id.replace(/[^\w.-]/g, '_')}.eml"`);
    res.end(eml);
  };
}
