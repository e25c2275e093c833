import { describe, expect, it } from 'vitest';
import { approvalProblems } from '../../src/channels/whatsapp/content-definitions.ts';
import { loadContentSidCache } from '../../src/channels/whatsapp/content-sid-cache.ts';
import { chatPayload, parseTap } from '../../src/channels/whatsapp/conversation-payloads.ts';
import { addressSummary } from '../../src/channels/whatsapp/conversation-engine.ts';
import { fold, keywordOf, matchLabel, numberOf } from '../../src/channels/whatsapp/conversation-text.ts';
import { signPayload } from '../../src/commerce/signed-token.ts';
import type { WhatsappContent } from '../../src/store/index.ts';

const KEYS = [{ id: 'k1', secret: 'test-secret-test-secret-test-secret-0001' }];

describe('free text', () => {
  it('folds case, accents, Turkish i and trailing punctuation', () => {
    expect(fold('  HAYIR! ')).toBe('hayir');
    expect(fold('Hjälp')).toBe('hjalp');
    expect(fold('İPTAL')).toBe('iptal');
    expect(fold('Evet.')).toBe('evet');
  });

  it('understands the keywords of every locale, typed with or without their letters', () => {
    expect(['yes', 'Evet', 'ja', 'JA!', 'ok'].map(keywordOf)).toEqual(['yes', 'yes', 'yes', 'yes', 'yes']);
    expect(['no', 'hayır', 'hayir', 'Nej'].map(keywordOf)).toEqual(['no', 'no', 'no', 'no']);
    expect(['cancel', 'iptal', 'İptal', 'avbryt'].map(keywordOf)).toEqual(['cancel', 'cancel', 'cancel', 'cancel']);
    expect(['STOP', 'unsubscribe', 'DUR', 'Avsluta'].map(keywordOf)).toEqual(['stop', 'stop', 'stop', 'stop']);
    expect(['START', 'BAŞLA', 'börja'].map(keywordOf)).toEqual(['start', 'start', 'start']);
    expect(['HELP', 'yardım', 'YARDIM', 'hjälp'].map(keywordOf)).toEqual(['help', 'help', 'help', 'help']);
    expect(['cart', 'sepet', 'Varukorg'].map(keywordOf)).toEqual(['cart', 'cart', 'cart']);
    expect(keywordOf('stop sending me pizza')).toBeUndefined();
  });

  it('reads quantities and matches sizes by name', () => {
    expect(['2', '2x', '3 adet', '1 st', ' 10 '].map(numberOf)).toEqual([2, 2, 3, 1, 10]);
    expect(numberOf('two')).toBeUndefined();
    expect(matchLabel('m', ['S', 'M', 'L'], (s) => s)).toBe('M');
    expect(matchLabel('30ML', ['30ml', '50ml'], (s) => s)).toBe('30ml');
  });

  it('summarises an address without spelling it out', () => {
    expect(addressSummary({ name: 'Rachel Hughes', line1: '22 Marine Parade', city: 'Brighton', postalCode: 'BN2 1TL', country: 'GB' })).toBe('Rachel H., 22 Mar…, Brighton');
    expect(addressSummary({ name: 'Cher', line1: 'Main 1', city: 'Oslo', postalCode: '0150', country: 'NO' })).toBe('Cher, Main 1, Oslo');
  });
});

describe('button payloads', () => {
  it('parses signed message and chat payloads and rejects edited ones', () => {
    expect(parseTap(signPayload('buy:NL-TOP-002:M:msg:1', KEYS), KEYS)).toEqual({ kind: 'buy', sku: 'NL-TOP-002', size: 'M', messageId: 'msg:1' });
    expect(parseTap(signPayload('picks:m-1|A|B', KEYS), KEYS)).toEqual({ kind: 'picks', messageId: 'm-1', skus: ['A', 'B'] });
    expect(parseTap(signPayload('picks:m-1', KEYS), KEYS)).toEqual({ kind: 'picks', messageId: 'm-1', skus: [] });
    expect(parseTap(chatPayload(KEYS, 'f1', 'size', '38'), KEYS)).toEqual({ kind: 'size', flowId: 'f1', size: '38' });
    expect(parseTap(chatPayload(KEYS, 'f1', 'qty', '2'), KEYS)).toEqual({ kind: 'quantity', flowId: 'f1', quantity: 2 });
    const yes = chatPayload(KEYS, 'f1', 'yes');
    expect(parseTap(yes.replace('f1', 'f2'), KEYS)).toBeUndefined();
    expect(parseTap('yes', KEYS)).toBeUndefined();
  });
});

describe('approval checks', () => {
  it('flags bodies WhatsApp rejects', () => {
    expect(approvalProblems('{{1}} is back')).toEqual(['the body starts with a variable; WhatsApp rejects such templates']);
    expect(approvalProblems('Your code is {{1}}.')).toEqual(['the body ends with a variable; WhatsApp rejects such templates']);
    expect(approvalProblems('Hi {{1}} {{2}} arrived, enjoy')).toEqual(['two variables stand next to each other; WhatsApp rejects such templates']);
    expect(approvalProblems('Order {{1}} is confirmed, total {{2}}. Thanks!')).toEqual([]);
  });
});

describe('content sid cache', () => {
  const row = (key: string, sid: string): WhatsappContent => ({ key, sid, friendlyName: key, fingerprint: 'f', updatedAt: '2026-01-01T00:00:00.000Z' });

  it('serves from memory, refreshes in the background when old or on a miss, at most once per interval', async () => {
    let rows = [row('session:quick-reply:1', 'HX1')];
    let reads = 0;
    let clock = 0;
    const cache = await loadContentSidCache({ list: async () => (reads++, rows) }, { maxAgeMs: 1_000, now: () => clock });
    expect(cache.get('session:quick-reply:1')).toBe('HX1');
    expect(reads).toBe(1);

    rows = [row('session:quick-reply:1', 'HX1'), row('session:quick-reply:2', 'HX2')];
    clock = 500;
    expect(cache.get('session:quick-reply:2')).toBeUndefined(); // a miss starts a reload…
    await new Promise((r) => setImmediate(r));
    expect(cache.get('session:quick-reply:2')).toBe('HX2'); // …that the next lookup sees
    expect(reads).toBe(2);
    cache.get('unknown');
    cache.get('unknown');
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(2); // misses within maxAge/10 do not query again

    rows = [row('session:quick-reply:1', 'HX9')];
    clock = 2_000;
    expect(cache.get('session:quick-reply:1')).toBe('HX1');
    await new Promise((r) => setImmediate(r));
    expect(cache.get('session:quick-reply:1')).toBe('HX9');
  });
});

describe('message payloads carry the offer the message showed', async () => {
  const { parseTap } = await import('../../src/channels/whatsapp/conversation-payloads.ts');
  const { signPayload } = await import('../../src/commerce/signed-token.ts');
  const keys = [{ id: 'k1', secret: 'a-test-secret-that-is-long-enough-000' }];
  it('parses percent and expiry after the message id, and ignores a malformed offer', () => {
    expect(parseTap(signPayload('buy:NL-TOP-002:M:msg-1!15!1764633599', keys), keys)).toEqual({
      kind: 'buy', sku: 'NL-TOP-002', size: 'M', messageId: 'msg-1', offer: { percentOff: 15, expiresAt: 1764633599 },
    });
    expect(parseTap(signPayload('picks:msg-2!20!|NL-TOP-001|NL-JNS-001', keys), keys)).toEqual({
      kind: 'picks', messageId: 'msg-2', skus: ['NL-TOP-001', 'NL-JNS-001'], offer: { percentOff: 20 },
    });
    expect(parseTap(signPayload('pick:NL-TOP-001:msg-3!99!', keys), keys)).toEqual({ kind: 'pick', sku: 'NL-TOP-001', messageId: 'msg-3' });
    // The offer is inside the signature: raising the percentage breaks it.
    const signed = signPayload('buy:NL-TOP-002:M:msg-1!15!', keys);
    expect(parseTap(signed.replace('!15!', '!90!'), keys)).toBeUndefined();
  });
});
