/**
 * The contract every system-data driver on a node offers. The agent's HTTP surface and the
 * parent's synchronizers only ever see this, so a driver can be replaced by a fake in tests.
 */
import { digest } from './digest.ts';
import type { SystemDataItem, SystemDataType } from '../protocol/sysdata-items.ts';

export interface SystemDataDriver<T extends SystemDataType> {
  readonly type: T;
  /**
   * Makes the node hold exactly `items` (already validated): render, write or apply, then read
   * back and compare, throwing when the node does not hold what was asked for.
   */
  apply(items: readonly SystemDataItem<T>[]): Promise<void>;
  /**
   * What the node holds now, parsed from the real thing (nft ruleset, cron file, Postfix maps).
   * Entries made by hand come back with ids containing ':' so they never match the parent's.
   */
  read(): Promise<SystemDataItem<T>[]>;
}

/** The digest of what a node holds now; compared with the parent's digest by the synchronizer. */
export async function nodeDigest<T extends SystemDataType>(driver: SystemDataDriver<T>): Promise<string> {
  return digest(await driver.read());
}

/** Thrown by apply() when reading back does not give what was written: something else interferes. */
export class VerificationError extends Error {
  constructor(type: SystemDataType, expected: string, actual: string) {
    super(`${type}: after applying, the node holds digest ${actual.slice(0, 12)} instead of ${expected.slice(0, 12)}`);
    this.name = 'VerificationError';
  }
}

export async function verifyApplied<T extends SystemDataType>(driver: SystemDataDriver<T>, items: readonly SystemDataItem<T>[]): Promise<void> {
  const expected = digest(items);
  const actual = await nodeDigest(driver);
  if (actual !== expected) throw new VerificationError(driver.type, expected, actual);
}
