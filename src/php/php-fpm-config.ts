/**
 * php-fpm configuration of one node: a master of its own (`php-fpm8.2 --fpm-config`, so several
 * nodes share one machine) and one pool per account, each running as the account's own system
 * user, listening on a UNIX socket only the node's nginx may use, confined by open_basedir to the
 * account's home. Pure functions of validated input.
 */
import { assertValid, checkSafePath, checkUsername } from '../core/grammar.ts';

export interface PhpMasterPaths {
  configFile: string;
  poolDir: string;
  pidFile: string;
  errorLog: string;
}

export interface PhpPoolInput {
  account: string;
  /** the account's system user (and group of the same name) */
  user: string;
  /** the account's home: www/<account> under the node root */
  home: string;
  socket: string;
  /** who may connect to the socket: nginx's worker user */
  listenOwner?: string;
}

const checkSystemUser = (value: string): string | null => (/^[a-z_][a-z0-9_-]{0,31}$/.test(value) ? null : 'must be a system user name');

/**
 * How long a master's workers may finish the requests under way when it re-executes (a pool
 * added, removed or changed on the same master). Without it php-fpm ends them at once, so every
 * account creation on a node cut the requests in flight of every other account of its master
 * (their visitors got 502). Meanwhile new requests wait in the sockets' backlog for the new
 * workers; a request that runs longer is ended, as all were before.
 */
export const PHP_REQUEST_GRACE_SECONDS = 10;

export function renderPhpMaster(paths: PhpMasterPaths): string {
  for (const [name, path] of Object.entries(paths)) assertValid(`paths.${name}`, path, checkSafePath);
  return [
    '; Written by the Fleetpanel agent; changes here are overwritten.',
    '[global]',
    `pid = ${paths.pidFile}`,
    `error_log = ${paths.errorLog}`,
    'daemonize = yes',
    `process_control_timeout = ${PHP_REQUEST_GRACE_SECONDS}s`,
    // A pool that dies repeatedly takes the master down instead of looping.
    'emergency_restart_threshold = 10',
    'emergency_restart_interval = 1m',
    `include = ${paths.poolDir}/*.conf`,
    '',
  ].join('\n');
}

/** Functions that start programs: with them a script could step outside open_basedir. */
const DISABLED_FUNCTIONS = ['exec', 'passthru', 'shell_exec', 'system', 'proc_open', 'popen', 'pcntl_exec'];

export function renderPhpPool(input: PhpPoolInput): string {
  const account = assertValid('account', input.account, checkUsername);
  const user = assertValid('user', input.user, checkSystemUser);
  const home = assertValid('home', input.home, checkSafePath);
  const socket = assertValid('socket', input.socket, checkSafePath);
  const owner = input.listenOwner === undefined ? undefined : assertValid('listenOwner', input.listenOwner, checkSystemUser);
  return [
    `; PHP of account ${account}`,
    `[${account}]`,
    `user = ${user}`,
    `group = ${user}`,
    `listen = ${socket}`,
    ...(owner ? [`listen.owner = ${owner}`, `listen.group = ${owner}`] : []),
    'listen.mode = 0660',
    // Workers only while requests come: a node holds many accounts, most of them idle.
    'pm = ondemand',
    'pm.max_children = 8',
    'pm.process_idle_timeout = 20s',
    'pm.max_requests = 500',
    `chdir = ${home}`,
    'catch_workers_output = yes',
    'security.limit_extensions = .php',
    `php_admin_value[open_basedir] = ${home}/`,
    `php_admin_value[upload_tmp_dir] = ${home}/tmp`,
    `php_admin_value[sys_temp_dir] = ${home}/tmp`,
    `php_admin_value[session.save_path] = ${home}/tmp`,
    `php_admin_value[error_log] = ${home}/logs/php-error.log`,
    'php_admin_flag[log_errors] = on',
    'php_admin_flag[display_errors] = off',
    'php_admin_flag[allow_url_include] = off',
    `php_admin_value[disable_functions] = ${DISABLED_FUNCTIONS.join(',')}`,
    '',
  ].join('\n');
}
