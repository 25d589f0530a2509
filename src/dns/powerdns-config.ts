/**
 * pdns.conf for one node's PowerDNS instance, as a pure function. Each instance has its own
 * config-dir, database, socket-dir and listeners on the node address, so several can share a machine.
 */
import { ValidationError } from '../core/errors.ts';
import { assertValid, checkIpv4, checkIpv6, checkNetwork, checkPort, checkSafePath } from '../core/grammar.ts';

export interface PowerDnsConfigInput {
  address: string;
  dnsPort: number;
  apiPort: number;
  apiKey: string;
  /** Networks allowed to use the HTTP API (the agent on the node itself). */
  apiAllowFrom: string[];
  database: string;
  socketDir: string;
}

/** sun_path is 108 bytes including the terminating NUL. */
const UNIX_SOCKET_PATH_LIMIT = 107;
export const CONTROL_SOCKET_NAME = 'pdns.controlsocket';

export const checkApiKey = (value: string): string | null => (/^[A-Za-z0-9_-]{16,128}$/.test(value) ? null : 'must be 16 to 128 characters of A-Z, a-z, 0-9, _ and -');

export function renderPowerDnsConfig(input: PowerDnsConfigInput): string {
  assertValid('address', input.address, (v) => (checkIpv4(v) === null || checkIpv6(v) === null ? null : 'must be an IPv4 or IPv6 address'));
  assertValid('dnsPort', String(input.dnsPort), checkPort);
  assertValid('apiPort', String(input.apiPort), checkPort);
  assertValid('apiKey', input.apiKey, checkApiKey);
  input.apiAllowFrom.forEach((network, index) => assertValid(`apiAllowFrom[${index}]`, network, checkNetwork));
  assertValid('database', input.database, checkSafePath);
  assertValid('socketDir', input.socketDir, checkSafePath);
  const controlSocket = `${input.socketDir}/${CONTROL_SOCKET_NAME}`;
  if (controlSocket.length > UNIX_SOCKET_PATH_LIMIT) {
    throw new ValidationError({ message: `the PowerDNS control socket path ${controlSocket} is longer than ${UNIX_SOCKET_PATH_LIMIT} bytes; use a shorter node root` });
  }
  return [
    '# Written by the Fleetpanel agent; changes here are overwritten.',
    'launch=gsqlite3',
    `gsqlite3-database=${input.database}`,
    'gsqlite3-pragma-foreign-keys=yes',
    `local-address=${input.address}`,
    `local-port=${input.dnsPort}`,
    // Authoritative only for its own zones; the agent changes them through the API.
    'primary=no',
    'secondary=no',
    'api=yes',
    `api-key=${input.apiKey}`,
    'webserver=yes',
    `webserver-address=${input.address}`,
    `webserver-port=${input.apiPort}`,
    `webserver-allow-from=${input.apiAllowFrom.join(',')}`,
    'webserver-loglevel=none',
    `socket-dir=${input.socketDir}`,
    // The agent starts the process itself and keeps its PID, so no fork and no guardian.
    'daemon=no',
    'guardian=no',
    'disable-syslog=yes',
    'loglevel=4',
    // Small footprint: the local cluster runs one instance per node on one machine.
    'receiver-threads=1',
    'distributor-threads=1',
    'reuseport=no',
    '',
  ].join('\n');
}
