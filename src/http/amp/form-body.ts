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
  const parse = (req: Request, _res: Response, next: NextFunction): void => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const type = req.headers['content-type'] ?? '';
    // Not req.is(): it answers null for an empty body, and an empty form is still a form.
    const media = type.split(';')[0]!.trim().toLowerCase();
    if (body.length === 0 && type === '') req.form = new Map();
    else if (media === 'application/x-www-form-urlencoded') req.form = parseUrlEncoded(body);
    else if (media === 'multipart/form-data') req.form = parseMultipart(body, type);
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

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * multipart/form-data (RFC 7578) for text fields. File parts are refused: AMP for Email bans
 * file inputs, so one can only come from something that is not a mail client.
 */
export function parseMultipart(body: Buffer, contentType: string): FormFields {
  const boundary = boundaryOf(contentType);
  const delimiter = Buffer.from(`--${boundary}`);
  const fields: FormFields = new Map();

  // The first delimiter may follow a preamble; every later one is preceded by CRLF (RFC 2046 §5.1.1).
  let at = body.indexOf(delimiter);
  if (at < 0) throw malformed('the body does not contain the boundary');
  for (let parts = 0; ; parts++) {
    let cursor = at + delimiter.length;
    if (body[cursor] === 0x2d && body[cursor + 1] === 0x2d) return fields; // "--": the close delimiter
    // Transport padding (spaces, tabs) may follow a delimiter before its CRLF.
    while (body[cursor] === 0x20 || body[cursor] === 0x09) cursor++;
    if (!body.subarray(cursor, cursor + 2).equals(CRLF)) throw malformed('a boundary line is not followed by CRLF');
    cursor += 2;
    if (parts >= MAX_FIELDS) throw tooManyFields();

    const next = body.indexOf(Buffer.concat([CRLF, delimiter]), cursor);
    if (next < 0) throw malformed('the closing boundary is missing');
    const headersEnd = body.indexOf(HEADER_END, cursor);
    if (headersEnd < 0 || headersEnd > next) throw malformed('a part has no blank line after its headers');
    const headerText = body.subarray(cursor, headersEnd).toString('utf8');
    const value = body.subarray(headersEnd + HEADER_END.length, next);
    const disposition = headerValue(headerText, 'content-disposition');
    if (!disposition || !/^form-data\b/i.test(disposition)) throw malformed('a part lacks Content-Disposition: form-data');
    const name = dispositionParam(disposition, 'name');
    if (name === undefined) throw malformed('a part has no field name');
    if (dispositionParam(disposition, 'filename') !== undefined || dispositionParam(disposition, 'filename*') !== undefined) {
      throw new HttpError(400, 'invalid_request', 'File uploads are not accepted here.', [{ path: name, message: 'files are not accepted' }]);
    }
    add(fields, name, value.toString('utf8'));
    at = next + CRLF.length;
  }
}

function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw malformed('Content-Type has no boundary parameter');
  return boundary;
}

/** Header lines of one part; folded (obsolete) continuation lines are joined. */
function headerValue(headers: string, name: string): string | undefined {
  for (const line of headers.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** name="x" or name=x; browsers percent-encode quotes and line breaks inside the quoted form (WHATWG HTML §4.10.21.8). */
function dispositionParam(disposition: string, param: string): string | undefined {
  const escaped = param.replace(/[*]/g, '\\*');
  const m = new RegExp(`;\\s*${escaped}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, 'i').exec(disposition);
  if (!m) return undefined;
  if (m[1] !== undefined) {
    return m[1].replace(/\\(.)/g, '$1').replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
  }
  return m[2];
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
