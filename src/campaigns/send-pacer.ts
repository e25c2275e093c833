import { Redis } from 'ioredis';
import type { CampaignChannel } from './campaign-schema.ts';

/** Waits until a channel may take its next message: `perSecond` messages a second, evenly spaced. */
export interface SendPacer {
  wait(channel: CampaignChannel): Promise<void>;
  close(): Promise<void>;
}

/** When the next message may go (ms since the epoch), given the channel's next free slot. */
type TakeSlot = (channel: CampaignChannel, at: number, stepMs: number) => Promise<number>;

// Atomic take of the next slot; the key expires once the slot is in the past, so an idle channel costs nothing.
const TAKE_SLOT_LUA = `
local next = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local at = math.max(next, now)
redis.call('SET', KEYS[1], at + tonumber(ARGV[2]), 'PX', math.ceil(at + tonumber(ARGV[2]) - now) + 1000)
return at`;

/**
 * Each send takes the channel's next free slot (never earlier than now) and moves it on by
 * 1000 / perSecond ms, so sends are spaced rather than bursting at each second's start. The slot
 * lives in Redis when there is one (every worker on every machine shares the channel's limit:
 * BullMQ's limiter counts jobs per queue, not messages per channel), else in this process.
 */
export function createSendPacer(o: {
  perSecond: Partial<Record<CampaignChannel, number>>;
  now: () => Date;
  /** Real timers in production; tests pass one that moves their clock on instead. */
  sleep?: (ms: number) => Promise<void>;
  redisUrl?: string;
  prefix?: string;
}): SendPacer {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let redis: Redis | undefined;
  let take: TakeSlot;
  if (o.redisUrl) {
    redis = new Redis(o.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    const r = redis;
    take = async (channel, at, stepMs) => Number(await r.eval(TAKE_SLOT_LUA, 1, `${o.prefix ?? 'inboxcart'}:send-slot:${channel}`, String(at), String(stepMs)));
  } else {
    const next = new Map<CampaignChannel, number>();
    take = async (channel, at, stepMs) => {
      const slot = Math.max(next.get(channel) ?? 0, at);
      next.set(channel, slot + stepMs);
      return slot;
    };
  }
  return {
    async wait(channel) {
      const perSecond = o.perSecond[channel];
      if (!perSecond) return;
      const at = o.now().getTime();
      const slot = await take(channel, at, 1000 / perSecond);
      if (slot > at) await sleep(slot - at);
    },
    async close() {
      redis?.disconnect();
    },
  };
}
