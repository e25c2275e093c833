import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../../src/commerce/hmac-sha256.ts';
import { signPayload, signToken, verifyPayload, verifyToken } from '../../src/commerce/signed-token.ts';
import { seededRandom } from '../support/seeded-random.ts';

const nodeMac = (key: Uint8Array, message: string) => createHmac('sha256', key).update(message).digest('base64url');

// Code points from every UTF-8 length, a lone surrogate (encoded as U+FFFD by both) and the
// characters payloads and tokens are made of.
const ALPHABET = ['a', 'Z', '0', ':', '|', '~', '!', '.', '-', '_', 'é', 'ş', 'Ö', '€', '中', '😀', '\uD800', '\u0000', '\u007F', '\u0080'];

function randomText(next: (n: number) => number, length: number): string {
  let out = '';
  while (out.length < length) out += ALPHABET[next(ALPHABET.length)]!;
  return out;
}

describe('HMAC-SHA256 signer', () => {
  it('matches RFC 4231 test case 2 and node:crypto on a 131-byte key (hashed first)', () => {
    const rfc = new HmacSha256(Buffer.from('Jefe'));
    expect(Buffer.from(rfc.macBytes('what do ya want for nothing?')).toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    const longKey = Buffer.alloc(131, 0xaa);
    expect(new HmacSha256(longKey).macText('Test Using Larger Than Block-Size Key - Hash Key First')).toBe(nodeMac(longKey, 'Test Using Larger Than Block-Size Key - Hash Key First'));
  });

  it('equals createHmac for every message length from 0 to 200 bytes, ASCII and not', () => {
    const key = Buffer.from('a configured TOKEN_SECRETS value');
    const signer = new HmacSha256(key);
    for (let n = 0; n <= 200; n++) {
      const ascii = 'x'.repeat(n);
      expect(signer.macText(ascii), `${n} ASCII bytes`).toBe(nodeMac(key, ascii));
      const wide = '€'.repeat(Math.ceil(n / 3));
      expect(signer.macText(wide), `${wide.length} three-byte characters`).toBe(nodeMac(key, wide));
    }
  });

  it('equals createHmac for random keys and messages, with one instance reused', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const next = seededRandom(seed);
      const key = Buffer.from(Array.from({ length: 1 + next(100) }, () => next(256)));
      const signer = new HmacSha256(key);
      for (let i = 0; i < 25; i++) {
        const message = randomText(next, next(i % 5 === 0 ? 2_000 : 150));
        expect(signer.macText(message), `seed ${seed}, message ${i}`).toBe(nodeMac(key, message));
      }
    }
  });
});

describe('tokens and payloads signed with it', () => {
  const keys = [{ id: 'k1', secret: 'secret-one-0123456789abcdef' }];

  it('verify with createHmac, and an edited one does not', () => {
    const token = signToken({ sub: 'sophie', exp: 4_102_444_800 }, keys);
    expect(verifyToken(token, keys, new Date('2026-11-22T00:00:00Z'))).toEqual({ ok: true, claims: { sub: 'sophie', exp: 4_102_444_800 } });
    const [kid, payload, signature] = token.split('.') as [string, string, string];
    expect(signature).toBe(nodeMac(Buffer.from(keys[0]!.secret), `${kid}.${payload}`));
    const edited = `${kid}.${Buffer.from(JSON.stringify({ sub: 'anna', exp: 4_102_444_800 })).toString('base64url')}.${signature}`;
    expect(verifyToken(edited, keys, new Date('2026-11-22T00:00:00Z'))).toEqual({ ok: false, reason: 'bad_signature' });

    const tap = signPayload('buy:NL-TOP-002:M:msg-1!15!1764633599', keys);
    expect(tap).toBe(`buy:NL-TOP-002:M:msg-1!15!1764633599~k1~${nodeMac(Buffer.from(keys[0]!.secret), 'buy:NL-TOP-002:M:msg-1!15!1764633599').slice(0, 16)}`);
    expect(verifyPayload(tap, keys)).toBe('buy:NL-TOP-002:M:msg-1!15!1764633599');
    expect(verifyPayload(tap.replace('M:', 'L:'), keys)).toBeUndefined();
  });
});
