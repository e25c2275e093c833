import type { Address } from '../../src/store/customers-repository.ts';
import type { ProductInput } from '../../src/commerce/product-schema.ts';
import type { PlaceOrderInput } from '../../src/store/place-order.ts';
import { uid } from './backends.ts';

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

/** An order of one M of `sku` under a fresh idempotency key. */
export function orderInput(sku: string, overrides: Partial<PlaceOrderInput> = {}): PlaceOrderInput {
  return {
    idempotencyKey: uid('key'),
    customerId: 'cust-sophie',
    channel: 'email',
    currency: 'EUR',
    lines: [{ sku, size: 'M', quantity: 1, unitPriceMinor: 4995, title: 'Linen shirt' }],
    shippingAddress: address,
    ...overrides,
  };
}
