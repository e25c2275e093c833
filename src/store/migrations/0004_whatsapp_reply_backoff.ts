import type { Kysely } from 'kysely';

/**
 * When a queued WhatsApp reply may be tried again. A failed send backs off (see
 * channels/whatsapp/reply-retry.ts) instead of being retried by every recovery pass; null means no
 * retry is pending, so rows written before this migration stay due as they were.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('whatsapp_replies').addColumn('next_attempt_at', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('whatsapp_replies').dropColumn('next_attempt_at').execute();
}
