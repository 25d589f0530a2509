/**
 * Webhook signatures: HMAC-SHA256 over "<unix seconds>.<body>" with the shared secret, sent as
 * `X-Fleetpanel-Signature: sha256=<hex>` beside `X-Fleetpanel-Timestamp`. The timestamp inside the
 * signed text lets a receiver refuse a replayed old request.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-fleetpanel-signature';
export const TIMESTAMP_HEADER = 'x-fleetpanel-timestamp';
export const EVENT_HEADER = 'x-fleetpanel-event';

export function sign(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** For receivers (and the tests): the signature matches and the request is no older than maxAgeSeconds. */
export function verify(secret: string, timestamp: number, body: string, signature: string, nowSeconds: number, maxAgeSeconds = 300): boolean {
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > maxAgeSeconds) return false;
  const expected = Buffer.from(sign(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
