import type Mail from 'nodemailer/lib/mailer/index.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { EmailParts } from '../../render/render-message.ts';

export interface EmlOptions {
  from: string;
  to: string;
  messageId?: string;
  headers?: Record<string, string>;
}

/**
 * Builds the RFC 5322 message. multipart/alternative in the order text/plain, text/x-amp-html,
 * text/html: clients show the last part they understand, so AMP must come before HTML
 * (amp-email-structure spec; Apple Mail renders the last alternative).
 */
export async function buildEml(parts: EmailParts, options: EmlOptions): Promise<Buffer> {
  // nodemailer folds headers with CRLF but keeps the parts' own LFs as they are; RFC 5322 wants
  // CRLF on every line. `newline` (read by MailComposer, missing from its types) converts the
  // whole stream after encoding: quoted-printable leaves LF unencoded as a hard line break, so
  // CRLF there means the same text, and base64 lines are already CRLF.
  const message: Mail.Options & { newline: 'windows' } = {
    newline: 'windows',
    from: options.from,
    to: options.to,
    subject: parts.subject,
    messageId: options.messageId,
    text: parts.text,
    amp: parts.amp,
    html: parts.html,
    headers: { ...unsubscribeHeaders(parts), ...options.headers },
    textEncoding: 'quoted-printable',
  };
  return new MailComposer(message).compile().build();
}

/**
 * A marketing message's own one-click unsubscribe (RFC 8058) comes with its parts. Prepared,
 * so the URL stays on one line: mail-composer would fold it, which some receivers' parsers of
 * List-Unsubscribe mishandle. The token is bounded, so the line stays far under 998 octets.
 */
function unsubscribeHeaders(parts: EmailParts): Record<string, { prepared: true; value: string }> {
  const headers: Record<string, { prepared: true; value: string }> = {};
  for (const [name, value] of Object.entries(parts.headers ?? {})) headers[name] = { prepared: true, value };
  return headers;
}
