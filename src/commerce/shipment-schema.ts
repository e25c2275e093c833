import { z } from 'zod';
import { dataText } from '../shared/data-text.ts';

/** Who carries a shipment, as the customer reads it ("PostNord"). */
export const carrierSchema = dataText().trim().min(1, 'carrier names the shipping company, e.g. PostNord').max(100);
/** Where the customer follows the parcel: https only, as it is sent to customers as a link. */
export const trackingUrlSchema = z.url({ protocol: /^https$/, message: 'trackingUrl must be an https URL, e.g. https://tracking.postnord.com/?id=…' }).max(2048);
