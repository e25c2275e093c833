import type { Config } from '../config.ts';
import { latestInbound } from '../render/whatsapp/render-whatsapp.ts';
import { createRenderDeps } from '../render/create-renderer.ts';
import type { RenderRequest } from '../render/render-input.ts';
import type { ClickLink } from '../commerce/click-token.ts';
import { renderMessage, type ServiceRenderResult } from '../render/render-message.ts';
import { loadContentSidCache, type ContentSidCache } from '../channels/whatsapp/content-sid-cache.ts';
import type { ConsentsRepository, CustomersRepository, Store } from '../store/index.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import { CatalogCache } from './catalog-cache.ts';
import { clickUrl, signClickToken } from '../commerce/click-token.ts';

export type RenderFn = (request: RenderRequest) => Promise<ServiceRenderResult>;

/**
 * The render core wired for the service. Dependencies are built once; per request the only
 * extra work is one consent lookup for marketing templates: an unsubscribe or a STOP recorded
 * in the consent store overrides the campaign system's profile, which may be stale.
 */
export function createRenderFn(o: {
  config: Config;
  templates: TemplateSet;
  catalog: CatalogCache;
  consents: Pick<ConsentsRepository, 'optedOutChannels'>;
  /** Content API sids recorded by `inboxcart twilio sync` (channels/whatsapp/content-sid-cache.ts). */
  contentSid?: (key: string) => string | undefined;
  /** Where inbound WhatsApp messages record the 24-hour window the campaign system cannot know. */
  customers?: Pick<CustomersRepository, 'get'>;
  /** Token expiry and the render's "now" when the request gives none. */
  now?: () => Date;
}): RenderFn {
  const plain = createRenderDeps({ config: o.config, templates: o.templates, catalog: (sku) => o.catalog.get(sku), contentSid: o.contentSid, now: o.now });
  // The product links of a campaign's message are tracked (/c/<token>, commerce/click-token.ts):
  // only a request naming both its campaign and its message has one to count clicks for, so
  // every other render keeps its direct links, byte for byte.
  const tracked = { ...plain, trackedLink: (link: ClickLink, issuedAt: Date) => clickUrl(o.config.publicBaseUrl, signClickToken(link, issuedAt, o.config.tokenKeys)) };
  const optedOut = { plain: { ...plain, whatsappOptedOut: () => true }, tracked: { ...tracked, whatsappOptedOut: () => true } };
  return async (request) => {
    const campaign = request.context.campaignId !== undefined && request.context.messageId !== undefined;
    const deps = campaign ? tracked : plain;
    const optedOutDeps = campaign ? optedOut.tracked : optedOut.plain;
    const compiled = o.templates.templates.get(request.template);
    if (!compiled) return renderMessage(request, deps);
    const channels = (request.channels ?? compiled.manifest.channels).filter((c) => compiled.manifest.channels.includes(c));
    const whatsapp = compiled.whatsapp !== undefined && request.profile.phone !== undefined && channels.includes('whatsapp');
    // An unsubscribe or a STOP withholds marketing; an order confirmation the customer caused
    // still goes (Meta's marketing opt-out leaves utility messages alone, facts §5).
    const marketing = compiled.manifest.category === 'marketing';
    if (!whatsapp && !(marketing && channels.includes('email'))) return renderMessage(request, deps);
    const [optedOutChannels, stored] = await Promise.all([
      marketing ? o.consents.optedOutChannels(request.profile.id) : NONE,
      whatsapp ? o.customers?.get(request.profile.id) : undefined,
    ]);
    const windowed = withStoredWindow(request, stored?.lastInboundAt);
    const result: ServiceRenderResult = renderMessage(windowed, optedOutChannels.has('whatsapp') ? optedOutDeps : deps);
    // Rendered all the same, so the data is checked and segments and locale are reported.
    if (result.email && optedOutChannels.has('email')) result.email = { suppressed: true, reason: 'unsubscribed' };
    return result;
  };
}

const NONE: ReadonlySet<string> = new Set();

/** The window opens on the profile's or the stored last inbound time, whichever is later. */
function withStoredWindow(request: RenderRequest, stored: string | undefined): RenderRequest {
  const lastInboundAt = latestInbound(request.profile.whatsapp?.lastInboundAt, stored);
  if (lastInboundAt === request.profile.whatsapp?.lastInboundAt) return request;
  return { ...request, profile: { ...request.profile, whatsapp: { ...request.profile.whatsapp, lastInboundAt } } };
}

/**
 * The render path over a store: catalog copy, WhatsApp content sids and the render function,
 * loaded and wired the same way for the app (create-app.ts) and each batch render thread.
 * Background refresh failures keep the previous copy and are reported through `warn`.
 */
export async function storeRender(o: {
  config: Config;
  templates: TemplateSet;
  store: Store;
  now?: () => Date;
  warn: (message: string, error: unknown) => void;
}): Promise<{ catalog: CatalogCache; contentSids: ContentSidCache; render: RenderFn }> {
  const { config, templates, store } = o;
  const catalog = new CatalogCache(store.products, { onError: (err) => o.warn('could not refresh the catalog cache; using the previous copy', err) });
  await catalog.reload();
  const contentSids = await loadContentSidCache(store.whatsappContents, { onError: (err) => o.warn('could not refresh WhatsApp content sids; using the previous copy', err) });
  const render = createRenderFn({ config, templates, catalog, consents: store.consents, contentSid: contentSids.get, customers: store.customers, now: o.now ?? store.now });
  return { catalog, contentSids, render };
}
