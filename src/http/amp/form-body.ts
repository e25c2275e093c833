import type { Readable } from 'node:stream';
import busboy, { type Busboy } from 'busboy';
import express, { type NextFunction, type Request, type Response } from 'express';
import { HttpError } from '../http-error.ts';

/** Form fields by name, every value kept: checkbox groups send one name several times. */
export type FormFields = Map<string, string[]>;

declare module 'express-serve-static-core' {
  interface Request {
    /** Parsed by `formBody` on AMP form routes. */
    form?: FormFields;
  }
}

const MAX_FIELDS = 100;

/**
 * Reads an AMP form post: `application/x-www-form-urlencoded` (what Gmail always sends,
 * whatever the form's enctype) or `multipart/form-data` (other clients, and amp-form's
 * default in browsers). Bodies beyond `limit` are refused before they are buffered whole.
 */
export function formBody(limit: string) {
  const raw = express.raw({ type: () => true, limit });
  const parse = async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const type = req.headers['content-type'] ?? '';
    // Not req.is(): it answers null for an empty body, and an empty form is still a form.
    const media = type.split(';')[0]!.trim().toLowerCase();
    if (body.length === 0 && type === '') req.form = new Map();
    else if (media === 'application/x-www-form-urlencoded') req.form = parseUrlEncoded(body);
    else if (media === 'multipart/form-data') req.form = await parseMultipart(body, type);
    else {
      throw new HttpError(415, 'unsupported_media_type', `Forms are posted as application/x-www-form-urlencoded or multipart/form-data${type ? ` (got ${type})` : ''}.`);
    }
    next();
  };
  return [raw, parse];
}

export function parseUrlEncoded(body: Buffer): FormFields {
  const fields: FormFields = new Map();
  let count = 0;
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) {
    if (++count > MAX_FIELDS) throw tooManyFields();
    add(fields, name, value);
  }
  return fields;
}

/**
 * multipart/form-data (RFC 7578) for text fields, read by busboy. File parts are refused: AMP
 * for Email bans file inputs, so one can only come from something that is not a mail client.
 * Parts without `Content-Disposition: form-data` are skipped (busboy's reading of RFC 7578 §4.2).
 */
export function parseMultipart(body: Buffer, contentType: string): Promise<FormFields> {
  return new Promise((resolve, reject) => {
    let parser: Busboy;
    try {
      // Field names are UTF-8 (WHATWG HTML §4.10.21.8), not busboy's latin1 default.
      parser = busboy({ headers: { 'content-type': contentType }, defParamCharset: 'utf8', limits: { fields: MAX_FIELDS } });
    } catch {
      return reject(malformed('Content-Type has no boundary parameter'));
    }
    const fields: FormFields = new Map();
    let refusal: HttpError | undefined;
    const refuse = (error: HttpError) => (refusal ??= error);
    parser.on('field', (name: string | undefined, value: string) => {
      if (name === undefined) refuse(malformed('a part has no field name'));
      else add(fields, unescapeName(name), value);
    });
    parser.on('file', (name: string | undefined, file: Readable) => {
      file.resume();
      const path = unescapeName(name ?? '(root)');
      refuse(new HttpError(400, 'invalid_request', 'File uploads are not accepted here.', [{ path, message: 'files are not accepted' }]));
    });
    parser.on('fieldsLimit', () => refuse(tooManyFields()));
    parser.on('error', (err: Error) => reject(refusal ?? malformed(err.message === 'Unexpected end of form' ? 'the closing boundary is missing' : err.message.toLowerCase())));
    parser.on('close', () => (refusal ? reject(refusal) : resolve(fields)));
    parser.end(body);
  });
}

/** Browsers percent-encode quotes and line breaks inside a quoted field name (WHATWG HTML §4.10.21.8). */
function unescapeName(name: string): string {
  return name.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
}

function add(fields: FormFields, name: string, value: string): void {
  const list = fields.get(name);
  if (list) list.push(value);
  else fields.set(name, [value]);
}

function malformed(why: string): HttpError {
  return new HttpError(400, 'invalid_request', `The form data could not be read: ${why}.`);
}

function tooManyFields(): HttpError {
  return new HttpError(413, 'payload_too_large', `The form has more than ${MAX_FIELDS} fields.`);
}
