import type { Address } from '../../src/store/customers-repository.ts';
import type { ProductInput } from '../../src/commerce/product-schema.ts';

export function product(sku: string, overrides: Partial<ProductInput> = {}): ProductInput {
  return {
    sku,
    title: `Linen shirt ${sku}`,
    price: 49.95,
    currency: 'EUR',
    url: `https://shop.example/p/${sku}`,
    sizes: [
      { size: 'S', stock: 3 },
      { size: 'M', stock: 5 },
    ],
    tags: [],
    newArrival: false,
    ...overrides,
  };
}

export const address: Address = {
  name: 'Ingrid Berg',
  line1: 'Storgatan 1',
  line2: 'lgh 1102',
  city: 'Stockholm',
  postalCode: '111 22',
  country: 'SE',
};
