/**
 * The digest of a desired state made of keyed items (a node's sites, its proxied host names), as
 * both sides of a delta push compute it: the XOR of each item's SHA-256. Order does not matter,
 * and one item put, changed or removed changes the digest by that item's hash alone, so the parent
 * and the agent keep it up to date without going over the other items. It detects drift (an agent
 * that restarted, a push whose outcome is unknown), not an attacker: both sides are trusted.
 */
import { createHash } from 'node:crypto';

const DIGEST_BYTES = 32;

/** The digest of a state with no items. */
export const EMPTY_STATE_DIGEST = '0'.repeat(DIGEST_BYTES * 2);

export class StateDigest {
  private readonly value: Buffer;

  constructor(hex: string = EMPTY_STATE_DIGEST) {
    this.value = Buffer.from(hex, 'hex');
    if (this.value.length !== DIGEST_BYTES || this.value.toString('hex') !== hex.toLowerCase()) throw new Error(`not a state digest: '${hex}'`);
  }

  static of(items: Iterable<string>): StateDigest {
    const digest = new StateDigest();
    for (const item of items) digest.toggle(item);
    return digest;
  }

  /** Adds the item when it is not counted, takes it out when it is (XOR is its own inverse). */
  toggle(item: string): this {
    const hash = createHash('sha256').update(item).digest();
    for (let i = 0; i < DIGEST_BYTES; i++) this.value[i]! ^= hash[i]!;
    return this;
  }

  /** From the item `before` (undefined: absent) to `after` (undefined: removed). */
  replace(before: string | undefined, after: string | undefined): this {
    if (before === after) return this;
    if (before !== undefined) this.toggle(before);
    if (after !== undefined) this.toggle(after);
    return this;
  }

  copy(): StateDigest {
    return new StateDigest(this.hex());
  }

  hex(): string {
    return this.value.toString('hex');
  }
}
