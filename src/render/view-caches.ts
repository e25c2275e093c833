/**
 * The memos of the view step (build-view.ts), in one place. A campaign shows the same few
 * products, links, segments and carts to millions of recipients in a handful of locales and
 * sizes, so their views are made once per combination and shared (frozen). Identity matters
 * for some: a shared object stands for its content in cohort keys (interned.ts, object-serial.ts).
 * Everything here exists for speed; clearing any of it changes no output.
 */
import type { AmpMessageContent } from '../commerce/amp-claims.ts';
import type { CartView, MessageProductBase, ProductView } from '../commerce/message-product-view.ts';
import type { SharedAmpContent } from '../commerce/amp-content.ts';
import type { SegmentName, Segments } from '../personalize/segments.ts';
import type { Product } from '../personalize/recommendations-schema.ts';
import type { Brand } from '../templates/brand.ts';
import type { CampaignParams } from '../shared/safe-url.ts';
import { Memo } from '../shared/memo.ts';
import { InternTable } from './interned.ts';

/** Checked, tagged links by raw URL and campaign parameters (URL parsing costs microseconds a call). */
export const links = new Memo<string>(20_000);

/**
 * Message product bases (prices, text, links) by product (its serial: catalog objects are
 * immutable snapshots), market, offer, campaign and channel: ~1 KB each. A campaign needs one
 * per product × market × offer × channel (4,800 in the personal benchmark), whatever its
 * recipients' sizes and reasons.
 */
export const productBases = new Memo<MessageProductBase>(8_000);

/** Cart lines' product views by base (its serial) and preferred size (list items are made with their list). */
export const productViews = new Memo<ProductView>(2_000);

/**
 * Whole product lists (frozen; their identity stands for their content in cohort keys). A
 * campaign that shares lists has a few per locale and offer; with personal lists 3.5 % of
 * lookups hit (the cohort path's second view of the same recipient), so few are kept.
 */
export const productLists = new Memo<readonly ProductView[]>(500);
/** Lists whose data contains the cohort marker character: such a list is not shared (cohort-cache.ts). */
export const listsWithMarks = new WeakSet<readonly ProductView[]>();
/** A shared list's total, once per list (its key includes the locale). */
export const listTotals = new WeakMap<readonly ProductView[], string | undefined>();

/** What is wrong with a catalog product's URLs, worked out once per product object. */
export const problemsByProduct = new WeakMap<Product, readonly string[]>();

/**
 * The AMP content (and its claims' JSON) by product list (its serial), offer, market and cart.
 * One memo for all lists: a memo per list cost an lru-cache (and its arrays) per recipient
 * when every recipient has a list of their own. Such lists hit 6 % of lookups (3.6 MB for 5,000),
 * so no more are kept than lists.
 */
export const ampContents = new Memo<SharedAmpContent>(500);
export type { AmpMessageContent };

// Parts of a view that repeat for every recipient of a campaign, interned (interned.ts).
/** Per brand, by campaign parameters and service URL: campaign parameters, links and a cohort view's endpoints (build-view.ts campaignContext). */
export const contextsByBrand = new WeakMap<Brand, InternTable<CampaignContext>>();

type Links = { shop: string; preferences: string; unsubscribe: string };
type AmpUrls = { offers: string; cart: string; checkout: string; survey: string };
export interface CampaignContext {
  campaignParams: CampaignParams;
  links: Links;
  /** A cohort view's links: the unsubscribe link with the token's marker. */
  markerLinks: Links;
  /** A cohort view's AMP endpoints, with the token's marker, and without a token. */
  ampMarkerUrls: AmpUrls;
  ampUntokenedUrls: AmpUrls;
}
export const segmentsTable = new InternTable<Segments>(1_000);
export const segmentLists = new WeakMap<Segments, SegmentName[]>();
/**
 * Carts by lines and market. A cart holds its lines' product views (~3 KB together: 14.6 MB for
 * 5,000), and carts are personal (4 % of lookups hit in the personal benchmark), so few are kept.
 */
export const cartViews = new InternTable<CartView>(500);
