/**
 * Who the brand's email comes from: its name at the shop's domain (`"Nordlys" <noreply@shop…>`),
 * for `?format=eml` and campaign sends alike. `address` is the bare address, the SMTP envelope sender.
 */
export function brandSender(brand: { name: string; shopUrl: string }): { from: string; address: string; domain: string } {
  const domain = new URL(brand.shopUrl).hostname;
  const address = `noreply@${domain}`;
  return { from: `"${brand.name.replace(/["\\]/g, '')}" <${address}>`, address, domain };
}
