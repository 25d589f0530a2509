/**
 * Every grammar a protocol schema can name as a JSON-schema format: the core grammars plus the
 * ones only parent and agent exchange. Both sides register this same table, so a value means the
 * same on either end of the wire.
 */
import { checkIpv4, checkIpv6, FORMATS, type Checker } from '../core/grammar.ts';
import { checkCronCommand, checkCronSchedule } from './cron-grammar.ts';
import { checkCanonicalNetwork, checkItemId, checkRuleComment, checkSenderValue, checkUnixUser } from './item-grammar.ts';
import { checkRecordName } from './record-grammar.ts';

/** A node's address as another node reaches it. */
export const checkNodeAddress: Checker = (value) =>
  checkIpv4(value) === null || checkIpv6(value) === null ? null : 'must be an IPv4 or IPv6 address';

export const PROTOCOL_FORMATS: Record<string, Checker> = {
  ...FORMATS,
  'fp-node-address': checkNodeAddress,
  'fp-item-id': checkItemId,
  'fp-rule-comment': checkRuleComment,
  'fp-unix-user': checkUnixUser,
  'fp-canonical-network': checkCanonicalNetwork,
  'fp-sender': checkSenderValue,
  'fp-cron-schedule': checkCronSchedule,
  'fp-cron-command': checkCronCommand,
  'fp-record-name': checkRecordName,
};
