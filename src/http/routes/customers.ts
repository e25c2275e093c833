import type { Request, Response } from 'express';
import { consentsInputSchema, customerBatchSchema, customerOutput, toCustomer } from '../../shop/customer-schema.ts';
import { createConsentsRepository } from '../../store/consents-repository.ts';
import { createCustomersRepository } from '../../store/customers-repository.ts';
import type { Store } from '../../store/index.ts';
import { fieldsFromZod, HttpError } from '../http-error.ts';

/**
 * PUT /v1/customers and GET /v1/customers/:id: campaign systems register who may buy from an
 * email or a chat — delivery address, a payment provider's token, market and the profile.
 */
export function customerRoutes(o: { store: Store }) {
  return {
    /**
     * Validates the whole list, then writes it in one transaction: a bad customer anywhere
     * stores nothing, and the 400 names its index and field (`2.phone`). Each customer is
     * replaced as sent; preferences from quizzes and WhatsApp timestamps are kept.
     */
    upsert: async (req: Request, res: Response) => {
      const parsed = customerBatchSchema.safeParse(req.body);
      if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error), 'The customer list');
      const customers = parsed.data.map(toCustomer);
      await o.store.db.transaction().execute(async (trx) => {
        const repo = createCustomersRepository(trx, o.store.now);
        for (const c of customers) await repo.upsert(c);
      });
      res.json({ count: customers.length, ids: customers.map((c) => c.id) });
    },

    /** The payment token is write-only: the answer names the method (type, last 4) but never returns it. */
    get: async (req: Request<{ id: string }>, res: Response) => {
      const customer = await o.store.customers.get(req.params.id);
      if (!customer) {
        throw new HttpError(404, 'unknown_customer', `No customer with id '${req.params.id}'. PUT /v1/customers registers it.`);
      }
      const [preferences, consents] = await Promise.all([o.store.customers.getPreferences(customer.id), o.store.consents.list(customer.id)]);
      res.json(customerOutput(customer, preferences, { email: consents.email, whatsapp: consents.whatsapp }));
    },

    /**
     * Records consent decisions the campaign system learned elsewhere. Like an unsubscribe link
     * or a STOP, they override the profile; the customer need not be registered (emails go to
     * campaign recipients inboxcart may never have stored).
     */
    setConsents: async (req: Request<{ id: string }>, res: Response) => {
      const id = req.params.id;
      if (id.length > 128) throw HttpError.invalidRequest([{ path: 'id', message: 'a customer id has at most 128 characters' }], 'The path');
      const parsed = consentsInputSchema.safeParse(req.body);
      if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error), 'The consents');
      const { source, ...channels } = parsed.data;
      await o.store.db.transaction().execute(async (trx) => {
        const repo = createConsentsRepository(trx);
        for (const channel of ['email', 'whatsapp'] as const) {
          const granted = channels[channel];
          if (granted !== undefined) await repo.set(id, channel, granted, `api:${source}`);
        }
      });
      const consents = await o.store.consents.list(id);
      res.json({ id, consents: { email: consents.email, whatsapp: consents.whatsapp } });
    },
  };
}
