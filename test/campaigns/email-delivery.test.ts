import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEml } from '../../src/channels/email/build-eml.ts';
import { createEmailDelivery } from '../../src/campaigns/email-delivery.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await startSmtpSink();
});
afterAll(async () => {
  await sink.close();
});

describe('campaign email over SMTP', () => {
  it('signs with DKIM when configured, with the envelope given apart from the headers', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const delivery = createEmailDelivery({
      smtpUrl: sink.url,
      outputDir: '/nonexistent',
      sendConcurrency: 1,
      dkim: { domainName: 'shop.example', keySelector: 's1', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    });
    try {
      const raw = await buildEml({ subject: 'Hej', preheader: '', html: '<p>Hej</p>', text: 'Hej' }, { from: '"Shop" <noreply@shop.example>', to: 'a@example.com', messageId: '<c.1@shop.example>' });
      await delivery.send({ from: 'bounces@shop.example', to: 'a@example.com', raw, fileName: 'c.1.eml' });
    } finally {
      delivery.close();
    }
    expect(sink.received).toHaveLength(1);
    const got = sink.received[0]!;
    expect(got.from).toBe('bounces@shop.example');
    expect(got.to).toEqual(['a@example.com']);
    expect(got.mail.messageId).toBe('<c.1@shop.example>');
    const signature = got.mail.headerLines.find((h) => h.key === 'dkim-signature')?.line.replace(/\r\n\s+/g, ' ');
    expect(signature).toMatch(/\bd=shop\.example;/);
    expect(signature).toMatch(/\bs=s1;/);
    expect(signature).toMatch(/\bbh=[A-Za-z0-9+/=]+;/);
  });
});
