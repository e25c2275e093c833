import type twilio from 'twilio';
import type { ContentCreateRequest, ContentUpdateRequest } from 'twilio/lib/rest/content/v1/content.js';
import type { ContentApprovalRequest } from 'twilio/lib/rest/content/v1/content/approvalCreate.js';
import type { WhatsappContentsRepository } from '../../store/whatsapp-contents-repository.ts';
import { approvalName, definitionFingerprint, type ContentDefinition } from './content-definitions.ts';
import { toSendError } from './twilio-sender.ts';

export interface SyncReport {
  created: string[];
  updated: string[];
  unchanged: string[];
  /** Approved templates submitted to WhatsApp in this run, with the status Twilio answered. */
  submitted: { key: string; name: string; status: string }[];
  failed: { key: string; message: string }[];
  warnings: { key: string; message: string }[];
}


/**
 * Creates or updates the Content API definitions and records their sids, through twilio-node:
 * `content.v1.contents.create` for new definitions, `contents(sid).update` for a changed
 * session shape, and `contents(sid).approvalCreate.create` to submit approved templates to
 * WhatsApp (POST /v1/Content/{sid}/ApprovalRequests/whatsapp).
 *
 * A changed approved template becomes a new Content resource with a new WhatsApp name rather
 * than an edit: WhatsApp reviews a template's exact text, and the old approved version keeps a
 * valid record at Twilio. Definitions whose fingerprint is unchanged cost no API call, so the
 * command is cheap to run on every deploy. One failing definition does not stop the others.
 */
export async function syncContent(
  /** Without a client nothing is sent or written: the report says what would change (dry run). */
  client: twilio.Twilio | undefined,
  contents: WhatsappContentsRepository,
  definitions: readonly ContentDefinition[],
): Promise<SyncReport> {
  const report: SyncReport = { created: [], updated: [], unchanged: [], submitted: [], failed: [], warnings: [] };
  for (const d of definitions) {
    for (const message of d.warnings) report.warnings.push({ key: d.key, message });
    const fingerprint = definitionFingerprint(d);
    const recorded = await contents.get(d.key);
    if (recorded?.fingerprint === fingerprint) {
      report.unchanged.push(d.key);
      continue;
    }
    if (!client) {
      (recorded ? report.updated : report.created).push(d.key);
      continue;
    }
    // Twilio's API takes the snake_case JSON as is: twilio-node 6.2 posts `params` unchanged
    // (content.js `data = params`), while its TypeScript class names the fields in camelCase.
    const body = { friendly_name: d.friendly_name, language: d.language, variables: d.variables, types: d.types };
    try {
      let sid: string | undefined;
      let approvalStatus: string | undefined;
      if (recorded && !d.approval) {
        try {
          sid = (await client.content.v1.contents(recorded.sid).update(body as unknown as ContentUpdateRequest)).sid;
          report.updated.push(d.key);
        } catch (error) {
          // Deleted in the console since the last sync: create it again below.
          if (toSendError(error).httpStatus !== 404) throw error;
        }
      }
      if (!sid) {
        sid = (await client.content.v1.contents.create(body as unknown as ContentCreateRequest)).sid;
        (recorded ? report.updated : report.created).push(d.key);
      }
      if (d.approval) {
        const name = approvalName(d);
        const request: ContentApprovalRequest = { name, category: d.approval.category } as ContentApprovalRequest;
        const approval = await client.content.v1.contents(sid).approvalCreate.create(request);
        approvalStatus = approval.status || 'received';
        report.submitted.push({ key: d.key, name, status: approvalStatus });
      }
      await contents.upsert({ key: d.key, sid, friendlyName: d.friendly_name, fingerprint, ...(approvalStatus ? { approvalStatus } : {}) });
    } catch (error) {
      const e = toSendError(error);
      report.failed.push({ key: d.key, message: `${e.message}${typeof e.code === 'number' ? ` (Twilio error ${e.code})` : ''}` });
    }
  }
  return report;
}
