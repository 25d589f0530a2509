/**
 * Where one node's mail instances keep their files, derived from its NodeLayout only, so the
 * renderers (pure) and the drivers (I/O) can never disagree about a path.
 */
import type { NodeLayout } from '../agent/node-layout.ts';
import { tlsFilePaths } from '../agent/tls-files.ts';

export interface DovecotPaths {
  configDir: string;
  configFile: string;
  /** root:dovecot 0750: the auth process runs as dovecot and reads the passwd-files lazily. */
  authDir: string;
  /** One passwd-file per domain (passdbFileOf), found by Dovecot through %d in the passdb's path. */
  passdbDir: string;
  /** One passwd-file per domain (userdbFileOf), as for the passdb. */
  userdbDir: string;
  proxyDomainsFile: string;
  /** Read by Dovecot's config process (root) through `doveadm_password = <file`, so it stays 0600. */
  doveadmPasswordFile: string;
  certificate: string;
  certificateKey: string;
  baseDir: string;
  stateDir: string;
  pidFile: string;
  logFile: string;
  mailRoot: string;
  /** `local_name` blocks of the node's domain certificates (agent/tls-files.ts), included when present */
  tlsLocalNames: string;
}

export interface PostfixPaths {
  configDir: string;
  mainCf: string;
  masterCf: string;
  virtualDomains: string;
  virtualMailboxes: string;
  virtualAliases: string;
  relayDomains: string;
  transport: string;
  internalRecipients: string;
  /** Rendered by the sysdata driver (whitelist/blacklist); created empty here, never overwritten. */
  clientAccess: string;
  senderAccess: string;
  /** Source of tls_server_sni_maps (agent/tls-files.ts); `postmap -F` builds its .db */
  tlsSniMap: string;
  queueDir: string;
  dataDir: string;
  pidFile: string;
  logFile: string;
}

export interface MailPaths {
  dovecot: DovecotPaths;
  postfix: PostfixPaths;
  /** The last state applied, so start() after a restart renders the same files again. */
  appliedState: string;
}

/**
 * The suffix keeps a login without a domain (%d empty) away from the folder itself: it names a
 * file that does not exist, which Dovecot answers as an unknown user.
 */
const AUTH_FILE_SUFFIX = '.passwd';

/** The passdb file of one domain; the same path with `%Ld` for the domain is what Dovecot is given. */
export function passdbFileOf(paths: Pick<DovecotPaths, 'passdbDir'>, domain: string): string {
  return `${paths.passdbDir}/${domain}${AUTH_FILE_SUFFIX}`;
}

export function userdbFileOf(paths: Pick<DovecotPaths, 'userdbDir'>, domain: string): string {
  return `${paths.userdbDir}/${domain}${AUTH_FILE_SUFFIX}`;
}

export function mailPaths(layout: NodeLayout): MailPaths {
  const queueDir = layout.lib('postfix', 'queue');
  return {
    dovecot: {
      configDir: layout.etc('dovecot'),
      configFile: layout.etc('dovecot', 'dovecot.conf'),
      authDir: layout.etc('dovecot', 'auth'),
      passdbDir: layout.etc('dovecot', 'auth', 'passdb.d'),
      userdbDir: layout.etc('dovecot', 'auth', 'userdb.d'),
      proxyDomainsFile: layout.etc('dovecot', 'auth', 'proxy-domains'),
      doveadmPasswordFile: layout.etc('dovecot', 'doveadm-password'),
      certificate: layout.etc('dovecot', 'tls', 'node.crt'),
      certificateKey: layout.etc('dovecot', 'tls', 'node.key'),
      baseDir: layout.run('dovecot'),
      stateDir: layout.lib('dovecot'),
      pidFile: layout.run('dovecot', 'master.pid'),
      logFile: layout.log('dovecot'),
      mailRoot: layout.mail(),
      tlsLocalNames: tlsFilePaths(layout).dovecotInclude,
    },
    postfix: {
      configDir: layout.etc('postfix'),
      mainCf: layout.etc('postfix', 'main.cf'),
      masterCf: layout.etc('postfix', 'master.cf'),
      virtualDomains: layout.etc('postfix', 'virtual-domains'),
      virtualMailboxes: layout.etc('postfix', 'virtual-mailboxes'),
      virtualAliases: layout.etc('postfix', 'virtual-aliases'),
      relayDomains: layout.etc('postfix', 'relay-domains'),
      transport: layout.etc('postfix', 'transport'),
      internalRecipients: layout.etc('postfix', 'internal-recipients'),
      clientAccess: layout.etc('postfix', 'fleet-client-access.cidr'),
      senderAccess: layout.etc('postfix', 'fleet-sender-access'),
      tlsSniMap: tlsFilePaths(layout).postfixSniSource,
      queueDir,
      dataDir: layout.lib('postfix', 'data'),
      pidFile: `${queueDir}/pid/master.pid`,
      logFile: layout.log('postfix'),
    },
    appliedState: layout.agent('mail', 'applied-state.json'),
  };
}
