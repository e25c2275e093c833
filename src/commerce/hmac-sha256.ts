import { hash } from 'node:crypto';

/**
 * HMAC-SHA256 for signing short messages many times with one key, in plain JavaScript.
 *
 * Why not `createHmac`: every recipient's message is signed up to ten times (the AMP token and
 * the WhatsApp button payloads), and `createHmac` builds a key object, a native context and a
 * stream wrapper per call, ~2–4 µs on the bench machine: a fifth of a render. HMAC hashes the
 * key's inner and outer pads first, and those two states never change for a key, but Node offers
 * no way to keep them (`Hash.copy()` costs as much as it saves). Here they are computed once,
 * so a message under 56 bytes costs two SHA-256 compressions.
 *
 * This signs only: tokens and payloads are verified with `createHmac` (signed-token.ts), and a
 * test compares this code with it over random keys and messages of every length around the
 * block boundaries, so a fault here shows as a token that fails to verify, never as a weak one.
 * The compression function uses only additions, rotations and bitwise operations, with no
 * branch or table lookup that depends on the key or message, like the reference implementations.
 */
export class HmacSha256 {
  private readonly innerState: Int32Array;
  private readonly outerState: Int32Array;
  /** Working memory, reused: signing is synchronous, so one instance never signs twice at once. */
  private readonly state = new Int32Array(8);
  private readonly w = new Int32Array(64);
  private bytes = new Uint8Array(256);
  private readonly digestBytes = new Uint8Array(32);

  constructor(key: Uint8Array) {
    // RFC 2104: a key longer than the block is hashed first, a shorter one padded with zeros.
    const block = new Uint8Array(64);
    block.set(key.length > 64 ? hash('sha256', key, 'buffer') : key);
    const pad = new Uint8Array(64);
    for (let i = 0; i < 64; i++) pad[i] = block[i]! ^ 0x36;
    this.innerState = this.initialState(pad);
    for (let i = 0; i < 64; i++) pad[i] = block[i]! ^ 0x5c;
    this.outerState = this.initialState(pad);
  }

  /** The 32-byte MAC of `message` (UTF-8), in a buffer that the next call overwrites. */
  macBytes(message: string): Uint8Array {
    const n = this.encode(message);
    // Inner hash: the ipad block is already in innerState, so 64 bytes precede the message.
    this.state.set(this.innerState);
    this.finish(n, 64 + n);
    const inner = this.bytes;
    writeState(this.state, inner, 0);
    // Outer hash over the 32-byte inner digest, after the opad block.
    this.state.set(this.outerState);
    this.finish(32, 96);
    writeState(this.state, this.digestBytes, 0);
    return this.digestBytes;
  }

  /** The MAC as base64url text without padding (43 characters), as `digest('base64url')` writes it. */
  macText(message: string): string {
    return base64url(this.macBytes(message));
  }

  private initialState(padBlock: Uint8Array): Int32Array {
    this.state.set(H0);
    this.compress(padBlock, 0);
    return Int32Array.from(this.state);
  }

  /** Puts the message's UTF-8 bytes at the start of `bytes`, growing it when needed; returns their count. */
  private encode(message: string): number {
    // Room for the bytes plus padding: at most 3 bytes per UTF-16 unit, plus 72.
    const need = message.length * 3 + 72;
    if (this.bytes.length < need) this.bytes = new Uint8Array(need * 2);
    const bytes = this.bytes;
    let n = 0;
    for (let i = 0; i < message.length; i++) {
      const c = message.charCodeAt(i);
      if (c >= 0x80) return textEncoder.encodeInto(message, bytes).written;
      bytes[n++] = c;
    }
    return n;
  }

  /** Pads the first `n` bytes of `bytes` (the end of a message `total` bytes long) and hashes them into `state`. */
  private finish(n: number, total: number): void {
    const bytes = this.bytes;
    const padded = ((n + 8) >> 6) * 64 + 64;
    bytes[n] = 0x80;
    bytes.fill(0, n + 1, padded - 4);
    // The bit length: messages here are far below 2^29 bytes, so the top 36 bits are zero.
    const bits = total * 8;
    bytes[padded - 4] = bits >>> 24;
    bytes[padded - 3] = bits >>> 16;
    bytes[padded - 2] = bits >>> 8;
    bytes[padded - 1] = bits;
    for (let at = 0; at < padded; at += 64) this.compress(bytes, at);
  }

  private compress(bytes: Uint8Array, at: number): void {
    const w = this.w;
    for (let i = 0; i < 16; i++) {
      const j = at + i * 4;
      w[i] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!;
      const b = w[i - 2]!;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    const s = this.state;
    let a = s[0]!;
    let b = s[1]!;
    let c = s[2]!;
    let d = s[3]!;
    let e = s[4]!;
    let f = s[5]!;
    let g = s[6]!;
    let h = s[7]!;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    s[0] = (s[0]! + a) | 0;
    s[1] = (s[1]! + b) | 0;
    s[2] = (s[2]! + c) | 0;
    s[3] = (s[3]! + d) | 0;
    s[4] = (s[4]! + e) | 0;
    s[5] = (s[5]! + f) | 0;
    s[6] = (s[6]! + g) | 0;
    s[7] = (s[7]! + h) | 0;
  }
}

function writeState(state: Int32Array, out: Uint8Array, at: number): void {
  for (let i = 0; i < 8; i++) {
    const v = state[i]!;
    out[at + i * 4] = v >>> 24;
    out[at + i * 4 + 1] = v >>> 16;
    out[at + i * 4 + 2] = v >>> 8;
    out[at + i * 4 + 3] = v;
  }
}

const textEncoder = new TextEncoder();

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function base64url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + ALPHABET[(v >>> 6) & 63]! + ALPHABET[v & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const v = bytes[i]!;
    out += ALPHABET[v >>> 2]! + ALPHABET[(v & 3) << 4]!;
  } else if (rest === 2) {
    const v = (bytes[i]! << 8) | bytes[i + 1]!;
    out += ALPHABET[v >>> 10]! + ALPHABET[(v >>> 4) & 63]! + ALPHABET[(v & 15) << 2]!;
  }
  return out;
}

const H0 = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
