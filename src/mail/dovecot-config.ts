/**
 * Pure renderers for one node's Dovecot instance: state + paths + address in, file contents out.
 * Every value comes from a validated MailState, so nothing here escapes or re-checks.
 */
import { passdbFileOf, userdbFileOf, type DovecotPaths } from './mail-paths.ts';
import { domainOf, localPartOf, type MailState } from '../protocol/mail-state.ts';

export const DOVEADM_PORT = 12345;

export interface MailUserIds {
  uid: number;
  gid: number;
}

export interface DovecotRenderInput {
  state: MailState;
  paths: DovecotPaths;
  address: string;
  hostname: string;
  vmail: MailUserIds;
  /** Diffie-Hellman parameters shipped by the package, when present (Dovecot 2.3 does without). */
  dhFile?: string;
}

export interface DovecotFiles {
  config: string;
  /** The passdb of each domain that has a mailbox allowed to log in, by domain. */
  passdb: Map<string, string>;
  /** The userdb of each domain that has a mailbox, by domain. */
  userdb: Map<string, string>;
  proxyDomains: string;
}

/** The home of a mailbox; its Maildir is `<home>/Maildir`, as mail_location says. */
export function mailboxHome(paths: Pick<DovecotPaths, 'mailRoot'>, address: string): string {
  return `${paths.mailRoot}/${domainOf(address)}/${localPartOf(address)}`;
}

/** Mailboxes that may log in: neither the mailbox nor its domain is suspended. */
export function loginEnabledAddresses(state: MailState): string[] {
  const suspendedDomains = new Set(state.domains.filter((d) => d.suspended).map((d) => d.domain));
  return state.mailboxes.filter((m) => !m.suspended && !suspendedDomains.has(domainOf(m.address))).map((m) => m.address);
}

function lines(entries: string[]): string {
  return entries.length === 0 ? '' : `${entries.join('\n')}\n`;
}

/** Lines grouped by the domain of the address each is about, each group sorted. */
function byDomain<T>(items: T[], addressOf: (item: T) => string, line: (item: T) => string): Map<string, string> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(domainOf(addressOf(item)), [...(groups.get(domainOf(addressOf(item))) ?? []), item]);
  return new Map(
    [...groups]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([domain, group]) => [domain, lines(group.sort((a, b) => addressOf(a).localeCompare(addressOf(b))).map(line))]),
  );
}

/**
 * passwd-file passdb per domain: only mailboxes that may log in are listed, so a suspended one
 * fails auth like an unknown one (and a domain without any has no file: unknown too).
 */
export function renderPassdb(state: MailState): Map<string, string> {
  const enabled = new Set(loginEnabledAddresses(state));
  return byDomain(
    state.mailboxes.filter((m) => enabled.has(m.address)),
    (m) => m.address,
    (m) => `${m.address}:${m.passwordHash}::::::`,
  );
}

/**
 * passwd-file userdb: every mailbox, suspended or not, because LMTP delivery and doveadm
 * (kick, sync, digest) must still find a suspended mailbox.
 */
export function renderUserdb(input: Pick<DovecotRenderInput, 'state' | 'paths' | 'vmail'>): Map<string, string> {
  const { state, paths, vmail } = input;
  return byDomain(
    [...state.mailboxes],
    (m) => m.address,
    (m) => {
      const quota = m.quotaMb > 0 ? `userdb_quota_rule=*:storage=${m.quotaMb}M` : 'userdb_quota_rule=*:storage=0';
      return `${m.address}::${vmail.uid}:${vmail.gid}::${mailboxHome(paths, m.address)}::${quota}`;
    },
  );
}

/**
 * A passwd-file keyed by domain (username_format=%d): every login of a proxied domain goes to
 * the node holding its mail. The password is not checked here (nopassword=y) but by that node,
 * which sees the real client address because it lists this node in login_trusted_networks;
 * source_ip makes the proxy connect from this node's own address, the one it trusts.
 */
export function renderProxyDomains(state: MailState, address: string): string {
  return lines(
    state.domains
      .filter((d) => d.proxyTo !== undefined && !d.suspended)
      .sort((a, b) => a.domain.localeCompare(b.domain))
      .map((d) => `${d.domain}:::::::proxy=y host=${d.proxyTo} source_ip=${address} nopassword=y`),
  );
}

export function renderDovecotConfig(input: DovecotRenderInput): string {
  const { state, paths, address, hostname, vmail } = input;
  const trusted = state.trustedNetworks.join(' ');
  return `# Rendered by Fleetpanel for node ${address}; changes are overwritten.
instance_name = fleet-dovecot-${address}
protocols = imap pop3 lmtp
listen = ${address}
base_dir = ${paths.baseDir}
state_dir = ${paths.stateDir}
log_path = ${paths.logFile}
# A reload (new trusted networks, a certificate) leaves the sessions under way to end with the
# settings they began with: by default it ends them, an LMTP one after DATA too, and Postfix then
# delivers a second time a message that Dovecot had saved. The reloads change no storage setting
# (what Dovecot warns against doing so); the driver's stop() ends what is left of the sessions.
shutdown_clients = no
hostname = ${hostname}
postmaster_address = postmaster@${hostname}
${trusted === '' ? '' : `login_trusted_networks = ${trusted}\n`}
ssl = yes
ssl_cert = <${paths.certificate}
ssl_key = <${paths.certificateKey}
${input.dhFile === undefined ? '' : `ssl_dh = <${input.dhFile}\n`}disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_username_format = %Lu
recipient_delimiter = +

first_valid_uid = ${vmail.uid}
last_valid_uid = ${vmail.uid}
first_valid_gid = ${vmail.gid}
last_valid_gid = ${vmail.gid}
mail_location = maildir:~/Maildir
mail_plugins = $mail_plugins quota

namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}

# Proxied domains first: while a domain moves, its mailboxes may still be listed here.
passdb {
  driver = passwd-file
  args = username_format=%d ${paths.proxyDomainsFile}
}
# One file per domain, so a change to one domain rewrites only its own file.
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%Lu ${passdbFileOf(paths, '%Ld')}
}
userdb {
  driver = passwd-file
  args = username_format=%Lu ${userdbFileOf(paths, '%Ld')}
}

plugin {
  # The count backend keeps usage in the index; it needs virtual sizes to be exact.
  quota = count:User quota
  quota_vsizes = yes
  quota_grace = 0%%
}

protocol imap {
  mail_plugins = $mail_plugins imap_quota
}
protocol lmtp {
  # Refuses an over-quota recipient during the LMTP transaction, so Postfix bounces instead of looping.
  lmtp_rcpt_check_quota = yes
}

service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 993
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 110
  }
  inet_listener pop3s {
    port = 995
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    port = 24
  }
}
# Mailboxes are synced between nodes through this listener (doveadm sync tcp:<address>:${DOVEADM_PORT}).
service doveadm {
  inet_listener {
    port = ${DOVEADM_PORT}
  }
}
doveadm_port = ${DOVEADM_PORT}
doveadm_password = <${paths.doveadmPasswordFile}
# The certificate of each domain this node serves, chosen by SNI (written by the certificates module).
!include_try ${paths.tlsLocalNames}
`;
}

export function renderDovecotFiles(input: DovecotRenderInput): DovecotFiles {
  return {
    config: renderDovecotConfig(input),
    passdb: renderPassdb(input.state),
    userdb: renderUserdb(input),
    proxyDomains: renderProxyDomains(input.state, input.address),
  };
}
