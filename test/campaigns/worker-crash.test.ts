import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCampaignFleet, type CampaignFleet } from '../support/campaign-fleet.ts';
import { picks } from '../http/helpers.ts';

const RECIPIENTS = 10_000;
const CHUNK = 250;
const SEND_CONCURRENCY = 8;
const CONCURRENCY = 2;
let fleet: CampaignFleet;

beforeAll(async () => {
  fleet = await openCampaignFleet({ chunkSize: CHUNK, sendConcurrency: SEND_CONCURRENCY, concurrency: CONCURRENCY, leaseSeconds: 3 });
  await fleet.seedCustomers(RECIPIENTS);
}, 120_000);

afterAll(async () => {
  await fleet?.close();
});

describe('a campaign worker killed with SIGKILL mid-campaign', () => {
  it('leaves no recipient without its message and none with two different ones; the counts add up', async () => {
    const created = await fleet.campaigns.create({
      id: 'crash-1',
      template: 'win-back',
      audience: { segments: ['coast'] },
      channels: ['email'],
      recommendations: picks('winback') as never,
    });
    expect(created.kind).toBe('created');

    const first = fleet.startWorker();
    // Some chunks through, others in the middle: then the process dies without any shutdown hook.
    await first.chunksDone(6);
    await first.kill();
    const sentBeforeKill = fleet.sink.received.length;
    expect(sentBeforeKill).toBeGreaterThan(0);
    expect(sentBeforeKill).toBeLessThan(RECIPIENTS);

    const second = fleet.startWorker();
    await fleet.completed('crash-1');
    await second.stop();

    const progress = await fleet.campaigns.progress('crash-1');
    expect(progress).toMatchObject({ status: 'completed', recipients: RECIPIENTS, total: RECIPIENTS, queued: 0, delivered: RECIPIENTS, failed: { total: 0 }, suppressed: { total: 0 } });

    const byRecipient = new Map<string, Set<string>>();
    for (const m of fleet.sink.received) {
      const set = byRecipient.get(m.to[0]!) ?? new Set<string>();
      set.add(m.messageId!);
      byRecipient.set(m.to[0]!, set);
    }
    expect(byRecipient.size).toBe(RECIPIENTS);
    // One message per recipient: a resend can only be the same message, under the same Message-ID.
    expect([...byRecipient.values()].filter((ids) => ids.size !== 1)).toEqual([]);
    // A resend happens only for a message SMTP took in the instant before the kill, before its
    // outcome was written: at most the messages the dead worker had in flight.
    const resent = fleet.sink.received.length - RECIPIENTS;
    expect(resent).toBeLessThanOrEqual(SEND_CONCURRENCY * CONCURRENCY);
    const rows = await fleet.store.db
      .withTables<{ campaign_deliveries: { campaign_id: string; attempts: number } }>()
      .selectFrom('campaign_deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('campaign_id', '=', 'crash-1')
      .executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe(RECIPIENTS);
  }, 600_000);
});
