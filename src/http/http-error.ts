import { ZodError } from 'zod';
import { fieldsFromZod, type FieldProblem } from '../shared/field-problems.ts';
import { TemplateDataError } from '../render/build-view.ts';
import { UnknownTemplateError } from '../render/render-message.ts';
import { WhatsAppLimitError } from '../templates/whatsapp-limits.ts';

// Routes name request problems through the HTTP layer; the shared module lets non-HTTP code
// (trigger settings files) name them too without importing the HTTP layer.
export { fieldsFromZod, type FieldProblem };

export interface ErrorBody {
  error: { code: string; message: string; fields?: FieldProblem[] };
}

/**
 * The one error type of the HTTP layer. It knows its status and renders its own body, so the
 * error middleware and the batch route (which reports errors per line) produce the same shape.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: FieldProblem[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.fields?.length ? { fields: this.fields } : {}) } };
  }

  static invalidRequest(fields: FieldProblem[], what = 'The request'): HttpError {
    const names = fields.map((f) => f.path).join(', ');
    return new HttpError(400, 'invalid_request', `${what} has ${fields.length} invalid field(s): ${names}. See 'fields' for what each must be.`, fields);
  }
}

/** body-parser marks its errors with a `type`; see https://github.com/expressjs/body-parser#errors */
function bodyParserError(err: unknown): { type: string; message: string; limit?: number; status?: number } | undefined {
  if (typeof err !== 'object' || err === null || !('type' in err) || typeof err.type !== 'string') return undefined;
  return err as { type: string; message: string; limit?: number; status?: number };
}

/**
 * Maps anything thrown below the HTTP layer to an HttpError. Unknown errors become a 500
 * whose message reveals nothing of the internals (the cause is logged with the request id).
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ZodError) return HttpError.invalidRequest(fieldsFromZod(err));
  if (err instanceof TemplateDataError) {
    return new HttpError(400, 'invalid_request', `The data does not satisfy the template: ${err.message}.`, err.fields);
  }
  if (err instanceof UnknownTemplateError) {
    return new HttpError(404, 'unknown_template', `${err.message} GET /v1/templates lists them.`, [{ path: 'template', message: 'no such template' }]);
  }
  if (err instanceof WhatsAppLimitError) {
    return new HttpError(
      422,
      'whatsapp_limit_exceeded',
      `${err.message} Shorten the data that feeds it (product titles, first name) or render without the whatsapp channel.`,
    );
  }
  // A compressed body that does not decompress: body-parser passes zlib's error on untyped.
  if (err instanceof Error && ((err as NodeJS.ErrnoException).code ?? '').startsWith('Z_')) {
    return new HttpError(400, 'invalid_body', `The request body could not be decoded (${err.message}).`);
  }
  const parser = bodyParserError(err);
  if (parser) {
    switch (parser.type) {
      case 'entity.parse.failed':
        return new HttpError(400, 'invalid_json', `The request body is not valid JSON (${parser.message}). Send one JSON document with Content-Type: application/json.`);
      case 'entity.too.large':
        return payloadTooLarge(parser.limit);
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return new HttpError(415, 'unsupported_media_type', `${parser.message}. Send UTF-8 JSON, optionally gzip- or deflate-encoded.`);
      case 'request.aborted':
        return new HttpError(400, 'request_aborted', 'The client closed the connection before the body was complete.');
    }
    // Other body-parser refusals (e.g. parameters.too.many, 413) carry their own 4xx status:
    // the client's mistake, not a server fault.
    if (parser.status !== undefined && parser.status >= 400 && parser.status < 500) {
      return new HttpError(parser.status, 'invalid_body', `The request body was refused: ${parser.message}.`);
    }
  }
  return new HttpError(500, 'internal_error', 'The server failed to handle the request. Retry later; if it persists, report the x-request-id of this response.');
}

export function payloadTooLarge(limitBytes: number | undefined, what = 'The request body'): HttpError {
  const limit = limitBytes === undefined ? 'the configured limit' : `${limitBytes} bytes`;
  return new HttpError(413, 'payload_too_large', `${what} is larger than ${limit}. Split it into smaller requests (or use POST /v1/render/batch for many recipients).`);
}
