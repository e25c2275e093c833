import { sql, type Kysely } from 'kysely';

/**
 * The language the customer placed the order in (BCP 47, as the message had it), so pages
 * about the order — the payment page first — speak it and format its money for it. Orders
 * placed before this migration take the stored customer's locale; where there is none the
 * column stays null and readers fall back to English.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('orders').addColumn('locale', 'text').execute();
  await sql`update orders set locale = (select c.locale from customers c where c.id = orders.customer_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('orders').dropColumn('locale').execute();
}
