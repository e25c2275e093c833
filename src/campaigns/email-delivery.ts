import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { parseConnectionUrl } from 'nodemailer/lib/shared/index.js';
import type { CampaignConfig } from '../config.ts';

export interface OutgoingEmail {
  /** Envelope sender and recipient (MAIL FROM / RCPT TO). */
  from: string;
  to: string;
  /** The whole RFC 5322 message (channels/email/build-eml.ts). */
  raw: Buffer;
  /** A file name for it, unique per campaign × recipient: the same message always lands on the same file. */
  fileName: string;
}

export interface EmailDelivery {
  /** Resolves with the receiving side's id once it has taken the message; throws when it refused. */
  send(email: OutgoingEmail): Promise<string>;
  close(): void;
}

/**
 * SMTP through nodemailer when SMTP_URL is set (pooled connections, DKIM-signed when
 * configured), otherwise one .eml file per message in OUTPUT_DIR, for a laptop run or a
 * pick-up directory of an MTA.
 */
export function createEmailDelivery(config: Pick<CampaignConfig, 'smtpUrl' | 'outputDir' | 'dkim' | 'sendConcurrency'>): EmailDelivery {
  if (config.smtpUrl) {
    // Parsed here: given `url`, createTransport reads nothing else of its options (nodemailer.js),
    // so the pool and DKIM settings would be dropped.
    const transport = nodemailer.createTransport({
      ...parseConnectionUrl(config.smtpUrl),
      pool: true,
      maxConnections: config.sendConcurrency,
      // One connection sends many messages; the default 100 per connection means reconnecting often at campaign volume.
      maxMessages: Infinity,
      ...(config.dkim ? { dkim: config.dkim } : {}),
    } as nodemailer.TransportOptions);
    return {
      async send(email) {
        const info = (await transport.sendMail({ envelope: { from: email.from, to: email.to }, raw: email.raw })) as { response?: string; messageId?: string };
        return info.response ?? info.messageId ?? 'accepted';
      },
      close: () => transport.close(),
    };
  }
  const dir = config.outputDir;
  let made: Promise<unknown> | undefined;
  return {
    async send(email) {
      made ??= mkdir(dir, { recursive: true });
      await made;
      const path = join(dir, email.fileName);
      // Written aside and renamed: a reader (or a crash) never sees half a message, and a retry overwrites the same file.
      const part = `${path}.${process.pid}.part`;
      await writeFile(part, email.raw);
      await rename(part, path);
      return path;
    },
    close() {},
  };
}
