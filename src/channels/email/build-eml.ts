import type Mail from 'nodemailer/lib/mailer/index.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { EmailParts } from '../../render/render-message.ts';

export interface EmlOptions {
  from: string;
  to: string;
  messageId?: string;
  headers?: Record<string, string>;
  /**
   * The unsubscribe URL of a marketing message: sent as List-Unsubscribe with one-click
   * List-Unsubscribe-Post (RFC 8058), which Gmail and Yahoo require of bulk senders.
   */
  listUnsubscribe?: string;
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
    headers: {
      ...(options.listUnsubscribe
        ? { 'List-Unsubscribe': `<${options.listUnsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
        : {}),
      ...options.headers,
    },
    textEncoding: 'quoted-printable',
  };
  return new MailComposer(message).compile().build();
}
