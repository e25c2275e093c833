/** Row types of migrations/0010_triggers.ts (read through `db.withTables<TriggerTables>()`). */
export type TriggerTables = {
  customer_events: {
    event_id: string;
    customer_id: string;
    type: string;
    sku: string | null;
    size: string | null;
    occurred_at: string;
    /** JSON: the event as it was accepted. */
    data: string;
    body_hash: string;
    received_at: string;
  };
  trigger_fires: {
    id: string;
    trigger: string;
    cause_key: string;
    /** What the cause is about, for lookups: `sku|size`, `sku|currency` or a customer id. */
    subject: string;
    /** JSON: the cause, as the runs endpoint shows it. */
    cause: string;
    status: string;
    /** JSON array of the campaign ids the fire made. */
    campaign_ids: string;
    recipients: number;
    fired_at: string;
    dispatched_at: string | null;
  };
  trigger_settings: { name: string; settings: string; updated_at: string };
};
