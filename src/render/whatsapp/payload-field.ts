/**
 * Free-text fields (SKU, size) inside a signed WhatsApp payload. Payloads separate their fields
 * with `:`, `|`, `!` and `~` (conversation-payloads.ts), so those characters, and `%` itself,
 * are percent-encoded in a field: a SKU like `NL:TOP|1` or a size like `EU 38:W` cannot shift
 * the fields after it (before this, a buy tap could name the wrong product). SKUs and sizes
 * without them are written as they are, so payloads already sent read the same.
 *
 * @example
 * payloadField('NL:TOP|1'); // 'NL%3ATOP%7C1'
 * fromPayloadField('NL%3ATOP%7C1'); // 'NL:TOP|1'
 */
export function payloadField(value: string): string {
  return DELIMITER.test(value) ? value.replace(DELIMITERS, (c) => ENCODED[c]!) : value;
}

export function fromPayloadField(value: string): string {
  return value.includes('%') ? value.replace(/%(25|3A|7C|21|7E)/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))) : value;
}

const DELIMITER = /[%:|!~]/;
const DELIMITERS = /[%:|!~]/g;
const ENCODED: Record<string, string> = { '%': '%25', ':': '%3A', '|': '%7C', '!': '%21', '~': '%7E' };
