/**
 * `npm run bench:campaign`: a campaign of BENCH_RECIPIENTS (default 100,000) stored customers
 * sent by SMTP to a local sink (smtp-server on loopback), first with one worker process, then
 * with two, on BullMQ (Redis at REDIS_URL / 127.0.0.1:6379) and PostgreSQL
 * (INBOXCART_TEST_DATABASE_URL / postgres://postgres@127.0.0.1:5432/test, in a schema of its
 * own, dropped afterwards). Timed from the campaign's creation, with the workers already
 * started, to its completion; prints recipients/s for each and the ratio.
 */
import { picks } from '../http/helpers.ts';
import { openCampaignFleet } from '../support/campaign-fleet.ts';

const recipients = Number(process.env.BENCH_RECIPIENTS ?? 100_000);
const fleet = await openCampaignFleet({ chunkSize: 500 });
try {
  const seeded = performance.now();
  await fleet.seedCustomers(recipients);
  console.log(`seeded ${recipients} customers in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);
  const rates: number[] = [];
  for (const workerCount of [1, 2]) {
    const workers = Array.from({ length: workerCount }, () => fleet.startWorker());
    await Promise.all(workers.map((w) => w.ready));
    const id = `bench-${workerCount}`;
    const before = fleet.sink.received.length;
    const started = performance.now();
    const created = await fleet.campaigns.create({ id, template: 'win-back', audience: { segments: ['coast'] }, channels: ['email'], recommendations: picks('winback') as never });
    if (created.kind !== 'created') throw new Error(`campaign ${id}: ${created.kind}`);
    const createdMs = performance.now() - started;
    await fleet.completed(id);
    const seconds = (performance.now() - started) / 1000;
    const progress = await fleet.campaigns.progress(id);
    const arrived = fleet.sink.received.length - before;
    if (progress?.delivered !== recipients || arrived < recipients) throw new Error(`campaign ${id}: delivered ${progress?.delivered}, the sink got ${arrived}`);
    rates.push(recipients / seconds);
    console.log(`${workerCount} worker${workerCount > 1 ? 's' : ' '}: ${recipients} recipients in ${seconds.toFixed(1)} s (creation ${(createdMs / 1000).toFixed(1)} s) = ${(recipients / seconds).toFixed(0)} recipients/s`);
    await Promise.all(workers.map((w) => w.stop()));
  }
  console.log(`2 workers / 1 worker: ${(rates[1]! / rates[0]!).toFixed(2)}x`);
} finally {
  await fleet.close();
}
