/**
 * my.cnf of one node's MariaDB server, as a pure function of validated input. The instance is
 * started with --defaults-file, so it reads this file only: nothing of /etc/mysql (nor the
 * machine's own MariaDB) is shared, and every path it writes lies under the node's root.
 */
import { ValidationError } from '../core/errors.ts';
import { assertValid, checkSafePath } from '../core/grammar.ts';
import { checkNodeAddress } from '../protocol/formats.ts';

export interface MariadbPaths {
  configFile: string;
  dataDir: string;
  socket: string;
  pidFile: string;
  errorLog: string;
}

export interface MariadbConfigInput {
  address: string;
  port: number;
  paths: MariadbPaths;
  /** The system user mariadbd switches to when started as root. */
  user?: string;
}

export function renderMariadbConfig(input: MariadbConfigInput): string {
  const { paths } = input;
  assertValid('address', input.address, checkNodeAddress);
  for (const [name, path] of Object.entries(paths)) assertValid(`paths.${name}`, path, checkSafePath);
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw new ValidationError('port', `${input.port} is not a port`);
  if (input.user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(input.user)) throw new ValidationError('user', `'${input.user}' is not a system user name`);
  return [
    '# Written by the Fleetpanel agent; changes here are overwritten.',
    '[mariadbd]',
    ...(input.user ? [`user = ${input.user}`] : []),
    `datadir = ${paths.dataDir}`,
    `socket = ${paths.socket}`,
    `pid-file = ${paths.pidFile}`,
    `log-error = ${paths.errorLog}`,
    // Bound to the node's address only: the machine may run other MariaDB servers on :3306 of other addresses.
    `bind-address = ${input.address}`,
    `port = ${input.port}`,
    // Grants name the web node by address; a reverse lookup would make them depend on DNS.
    'skip-name-resolve',
    'character-set-server = utf8mb4',
    'collation-server = utf8mb4_unicode_ci',
    // Sized for many small customer databases per node, several nodes per machine in the local cluster.
    'innodb_buffer_pool_size = 32M',
    'innodb_log_file_size = 16M',
    'performance_schema = OFF',
    'max_connections = 200',
    '',
    '[client]',
    `socket = ${paths.socket}`,
    '',
  ].join('\n');
}
