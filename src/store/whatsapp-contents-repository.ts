import type { Selectable } from 'kysely';
import type { Executor, WhatsappContentsTable } from './database-schema.ts';
import { isoNow, systemClock, type Clock } from './timestamps.ts';

/** One Twilio Content API definition as `inboxcart twilio sync` recorded it. */
export interface WhatsappContent {
  /** `session:quick-reply:2`, `session:list-picker:7`, `template:<approved name>:<locale>`. */
  key: string;
  /** Twilio's Content SID (HX…). */
  sid: string;
  friendlyName: string;
  /** Hash of the definition sent to Twilio; unchanged definitions are not sent again. */
  fingerprint: string;
  /** WhatsApp approval status for approved templates; undefined for session shapes. */
  approvalStatus?: string;
  updatedAt: string;
}

export interface WhatsappContentsRepository {
  /** Every recorded definition, ordered by key. */
  list(): Promise<WhatsappContent[]>;
  get(key: string): Promise<WhatsappContent | undefined>;
  /** Records (or replaces) the definition stored under `key`. */
  upsert(content: Omit<WhatsappContent, 'updatedAt'>): Promise<void>;
}

export function createWhatsappContentsRepository(db: Executor, clock: Clock = systemClock): WhatsappContentsRepository {
  return {
    async list() {
      const rows = await db.selectFrom('whatsapp_contents').selectAll().orderBy('key').execute();
      return rows.map(toContent);
    },

    async get(key) {
      const row = await db.selectFrom('whatsapp_contents').selectAll().where('key', '=', key).executeTakeFirst();
      return row && toContent(row);
    },

    async upsert(c) {
      if (!/^HX[0-9a-fA-F]{32}$/.test(c.sid)) throw new RangeError(`content sid must look like HX + 32 hex digits, got ${JSON.stringify(c.sid)}`);
      const now = isoNow(clock);
      await db
        .insertInto('whatsapp_contents')
        .values({
          key: c.key,
          sid: c.sid,
          friendly_name: c.friendlyName,
          fingerprint: c.fingerprint,
          approval_status: c.approvalStatus ?? null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet((eb) => ({
            sid: eb.ref('excluded.sid'),
            friendly_name: eb.ref('excluded.friendly_name'),
            fingerprint: eb.ref('excluded.fingerprint'),
            approval_status: eb.ref('excluded.approval_status'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    },
  };
}

function toContent(row: Selectable<WhatsappContentsTable>): WhatsappContent {
  return {
    key: row.key,
    sid: row.sid,
    friendlyName: row.friendly_name,
    fingerprint: row.fingerprint,
    ...(row.approval_status === null ? {} : { approvalStatus: row.approval_status }),
    updatedAt: row.updated_at,
  };
}
