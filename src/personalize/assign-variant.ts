import { hash } from 'node:crypto';

export interface VariantSpec {
  id: string;
  weight: number;
}

/**
 * Deterministic A/B assignment: the same profile and template always land in the same
 * variant (across processes and restarts), and weights split the audience proportionally.
 */
export function assignVariant(profileId: string, templateName: string, variants: readonly VariantSpec[]): string | undefined {
  if (variants.length === 0) return undefined;
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  // Hex, not a Buffer: allocating the Buffer cost as much as the hash, and this runs per recipient.
  const digest = hash('sha256', `${templateName}\u0000${profileId}`, 'hex');
  // 48 bits of the digest are plenty for an even split and stay exact in a double.
  const bucket = (Number.parseInt(digest.slice(0, 12), 16) / 2 ** 48) * total;
  let acc = 0;
  for (const v of variants) {
    acc += v.weight;
    if (bucket < acc) return v.id;
  }
  return variants[variants.length - 1]!.id;
}
