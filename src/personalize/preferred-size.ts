import type { Profile } from './profile-schema.ts';

/**
 * The size a customer buys most in a category, or undefined when there is no history.
 * Ties go to the size listed first, so the answer is stable for the same profile.
 */
export function preferredSize(profile: Profile, category: string | undefined): string | undefined {
  if (!category) return undefined;
  const counts = profile.orders?.sizesBought?.[category];
  if (!counts) return undefined;
  let best: string | undefined;
  let bestCount = 0;
  for (const [size, count] of Object.entries(counts)) {
    if (count > bestCount) {
      best = size;
      bestCount = count;
    }
  }
  return best;
}
