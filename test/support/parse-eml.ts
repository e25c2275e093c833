/**
 * Reads a built .eml back the way a strict receiver would: lines split on CRLF only, one
 * multipart/alternative level, quoted-printable and base64 decoded. No mail parser is a
 * dependency, and this is all the messages use. Throws on anything it cannot read.
 */
export interface EmlPart {
  headers: Map<string, string>;
  body: string;
}

export interface ParsedEml {
  headers: Map<string, string>;
  parts: EmlPart[];
}

/** LF not preceded by CR: RFC 5322 allows CR and LF only together, as CRLF. */
export function countBareLf(eml: string): number {
  return eml.match(/(?<!\r)\n/g)?.length ?? 0;
}

function splitEntity(entity: string): { headers: Map<string, string>; body: string } {
  const end = entity.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('no blank CRLF line after the headers');
  const headers = new Map<string, string>();
  for (const line of entity.slice(0, end).replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header line: ${JSON.stringify(line)}`);
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: entity.slice(end + 4) };
}

function decodeQuotedPrintable(body: string): Buffer {
  const bytes: number[] = [];
  const text = body.replace(/=\r\n/g, '');
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '=') {
      bytes.push(text.charCodeAt(i));
      continue;
    }
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9A-F]{2}$/.test(hex)) throw new Error(`bad quoted-printable escape '=${hex}'`);
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes);
}

function decodeBody(headers: Map<string, string>, body: string): string {
  const encoding = headers.get('content-transfer-encoding')?.toLowerCase() ?? '7bit';
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body).toString('utf8');
  if (encoding === 'base64') return Buffer.from(body.replace(/\r\n/g, ''), 'base64').toString('utf8');
  if (encoding === '7bit') return body;
  throw new Error(`unexpected Content-Transfer-Encoding '${encoding}'`);
}

export function parseEml(eml: string): ParsedEml {
  const root = splitEntity(eml);
  const type = root.headers.get('content-type') ?? '';
  const boundary = /^multipart\/alternative;\s*boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!boundary) throw new Error(`not multipart/alternative: ${type}`);
  const open = `--${boundary}\r\n`;
  const start = root.body.indexOf(open);
  const close = root.body.indexOf(`\r\n--${boundary}--`);
  if (start < 0 || close < start) throw new Error('the opening or closing boundary is missing');
  const sections = root.body.slice(start + open.length, close).split(`\r\n${open}`);
  const parts = sections.map((section) => {
    const { headers, body } = splitEntity(section);
    return { headers, body: decodeBody(headers, body) };
  });
  return { headers: root.headers, parts };
}
