/** The DNS workload of a node: zone records, pdns.conf renderer and the PowerDNS driver. */
export {
  RECORD_TYPES,
  DEFAULT_TTL,
  MIN_TTL,
  MAX_TTL,
  validateZoneRecord,
  validateZoneRecords,
  defaultZoneRecords,
  checkOwnerName,
  quoteTxt,
  unquoteTxt,
  toPowerDnsContent,
  fromPowerDnsContent,
  type RecordType,
  type ZoneRecord,
  type DefaultZoneInput,
} from './zone-record.ts';
export { groupIntoRrsets, planRrsetChanges, type ApiRrset, type DesiredRrset } from './rrset-plan.ts';
export { renderPowerDnsConfig, type PowerDnsConfigInput } from './powerdns-config.ts';
export { PowerDnsDriver, PowerDnsApiError, type PowerDnsDriverOptions, type PutZoneResult } from './powerdns.driver.ts';
