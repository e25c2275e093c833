// The product contract lives in src/commerce/product-schema.ts; this path keeps store imports short.
export { productSchema, productBatchSchema, type Product, type ProductInput } from '../commerce/product-schema.ts';
