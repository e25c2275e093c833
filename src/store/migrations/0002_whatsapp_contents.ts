import type { Kysely } from 'kysely';

/**
 * The Twilio Content API definitions `inboxcart twilio sync` created, by content key
 * (`session:quick-reply:2`, `template:inboxcart_price_drop:sv`). Renders look the contentSid
 * up here: Twilio sends rich WhatsApp messages only by ContentSid, and the sid is per account,
 * so it cannot live in the templates.
 *
 * `fingerprint` is a hash of the definition that was sent, so a sync only talks to Twilio for
 * definitions whose text changed. `approval_status` is null for session shapes (they need no
 * WhatsApp approval) and the status Twilio answered for approved templates.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('whatsapp_contents')
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('sid', 'text', (c) => c.notNull())
    .addColumn('friendly_name', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('approval_status', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('whatsapp_contents_pkey', ['key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('whatsapp_contents').execute();
}
