import type { Config } from '../config.ts';
import type { CatalogEntry } from './build-view.ts';
import { ampClaimsJson } from '../commerce/amp-claims.ts';
import { signPayload, signTokenJson } from '../commerce/signed-token.ts';
import { signUnsubscribeToken } from '../commerce/unsubscribe-token.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import { CohortCache } from './cohort-cache.ts';
import { FragmentCache } from './fragment-cache.ts';
import type { RenderDeps } from './render-message.ts';

export interface RendererOptions {
  config: Pick<Config, 'publicBaseUrl' | 'tokenKeys' | 'tokenTtlDays' | 'unsubscribeTtlDays' | 'thresholds'>;
  templates: TemplateSet;
  /** Catalog products with the reference prices the store derived from their price history. */
  catalog: (sku: string) => CatalogEntry | undefined;
  contentSid?: (key: string) => string | undefined;
  whatsappOptedOut?: (customerId: string) => boolean;
  now?: () => Date;
}

/** Wires configuration (keys, base URL, thresholds) into the render core's dependencies. */
export function createRenderDeps(o: RendererOptions): RenderDeps {
  const now = o.now ?? (() => new Date());
  const ttlSeconds = o.config.tokenTtlDays * 86_400;
  const unsubscribeTtlMs = o.config.unsubscribeTtlDays * 86_400_000;
  return {
    templates: o.templates,
    thresholds: o.config.thresholds,
    catalog: o.catalog,
    publicBaseUrl: o.config.publicBaseUrl,
    signAmpToken: (who, content, contentJson) => signTokenJson(ampClaimsJson(who, content, Math.floor(now().getTime() / 1000) + ttlSeconds, contentJson), o.config.tokenKeys),
    signPayload: (data) => signPayload(data, o.config.tokenKeys),
    signUnsubscribeToken: (who, issuedAt) => signUnsubscribeToken(who, new Date(issuedAt.getTime() + unsubscribeTtlMs), o.config.tokenKeys),
    contentSid: o.contentSid,
    whatsappOptedOut: o.whatsappOptedOut,
    now,
    cohorts: new CohortCache(),
    fragments: new FragmentCache(),
  };
}
