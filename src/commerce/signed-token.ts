import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * Compact HMAC-SHA256 tokens: `<kid>.<payload>.<signature>`, base64url, no cookies needed.
 * The key id lets operators rotate secrets: new tokens are signed with the first key, and
 * tokens signed with any configured key still verify until they expire.
 */
export interface SigningKey {
  id: string;
  secret: string;
}

export type VerifyResult<T> = { ok: true; claims: T } | { ok: false; reason: 'malformed' | 'unknown_key' | 'bad_signature' | 'expired' };

// A KeyObject per configured key: HMAC with a prepared key costs about half of one that
// converts a string secret on every call.
const keyObjects = new WeakMap<SigningKey, KeyObject>();

function keyObject(key: SigningKey): KeyObject {
  let k = keyObjects.get(key);
  if (!k) {
    k = createSecretKey(Buffer.from(key.secret, 'utf8'));
    keyObjects.set(key, k);
  }
  return k;
}

function mac(key: SigningKey, data: string): Buffer {
  return createHmac('sha256', keyObject(key)).update(data).digest();
}

/** The signature as base64url text. */
function macText(key: SigningKey, data: string): string {
  return createHmac('sha256', keyObject(key)).update(data).digest('base64url');
}

export function signToken(claims: object, keys: readonly SigningKey[]): string {
  return signTokenJson(JSON.stringify(claims), keys);
}

/** `signToken` for claims already serialised (amp-claims.ts writes them from shared parts). */
export function signTokenJson(claimsJson: string, keys: readonly SigningKey[]): string {
  const key = keys[0];
  if (!key) throw new Error('No signing key configured: set TOKEN_SECRETS.');
  const payload = Buffer.from(claimsJson).toString('base64url');
  const data = `${key.id}.${payload}`;
  return `${data}.${macText(key, data)}`;
}

/** Verifies signature and `exp` (seconds since epoch). */
export function verifyToken<T extends { exp: number }>(token: string, keys: readonly SigningKey[], now: Date): VerifyResult<T> {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => p.length === 0) || token.length > 4096) return { ok: false, reason: 'malformed' };
  const [kid, payload, signature] = parts as [string, string, string];
  const key = keys.find((k) => k.id === kid);
  if (!key) return { ok: false, reason: 'unknown_key' };
  const expected = mac(key, `${kid}.${payload}`);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  let claims: T;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}

/**
 * Short signed ids for WhatsApp button and list payloads (≤ 200 characters): the data stays
 * readable for support, the 96-bit tag makes a forged or edited payload detectable.
 */
export function signPayload(data: string, keys: readonly SigningKey[]): string {
  const key = keys[0];
  if (!key) throw new Error('No signing key configured: set TOKEN_SECRETS.');
  // 12 bytes are exactly 16 base64url characters, so the text prefix is the truncated tag.
  return `${data}~${key.id}~${macText(key, data).slice(0, 16)}`;
}

export function verifyPayload(value: string, keys: readonly SigningKey[]): string | undefined {
  const m = /^(.*)~([^~]+)~([A-Za-z0-9_-]{16})$/.exec(value);
  if (!m) return undefined;
  const [, data, kid, tag] = m as unknown as [string, string, string, string];
  const key = keys.find((k) => k.id === kid);
  if (!key) return undefined;
  const expected = mac(key, data).subarray(0, 12);
  const given = Buffer.from(tag, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected) ? data : undefined;
}
