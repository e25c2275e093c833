import type { Kysely } from 'kysely';

/**
 * WhatsApp replies waiting to be sent. A reply is written here, with the inbound message that
 * caused it, before Twilio's webhook is answered, and removed from the queue once Twilio has
 * taken it: a process that dies in between leaves the reply for another instance (or its own
 * restart) to send, instead of losing it. `seq` keeps a conversation's replies in order;
 * `claimed_until` is the lease of the instance sending a row.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('whatsapp_replies')
    .addColumn('event_key', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('customer_id', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('meta', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('claimed_until', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('whatsapp_replies_pkey', ['event_key', 'seq'])
    .execute();
  await db.schema.createIndex('whatsapp_replies_status_created').on('whatsapp_replies').columns(['status', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('whatsapp_replies').execute();
}
