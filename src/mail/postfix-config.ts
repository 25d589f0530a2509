/**
 * Pure renderers for one node's Postfix instance. Lookup tables are hash: maps, each built by
 * postmap from its source file only when that file changed (PostfixDriver.buildMaps), so a change
 * to one domain rebuilds the one or two tables it touches, not every table of the node.
 */
import { createHash } from 'node:crypto';
import type { PostfixPaths } from './mail-paths.ts';
import { domainOf, localPartOf, type MailState } from '../protocol/mail-state.ts';

/** Pipe forwarders are aliased into this reserved domain, whose subdomains name their transport. */
export const PIPE_DOMAIN_SUFFIX = 'pipe.invalid';

export interface PostfixRenderInput {
  state: MailState;
  paths: PostfixPaths;
  address: string;
  hostname: string;
  /** The system user pipe commands run as. */
  vmailUser: string;
  certificate: string;
  certificateKey: string;
}

export interface PostfixFiles {
  mainCf: string;
  masterCf: string;
  virtualDomains: string;
  virtualMailboxes: string;
  virtualAliases: string;
  relayDomains: string;
  transport: string;
  internalRecipients: string;
}

/** One pipe service per distinct command, named after its hash so the name survives reordering. */
export function pipeServiceName(command: string): string {
  return `pipe-${createHash('sha256').update(command).digest('hex').slice(0, 12)}`;
}

function table(entries: [string, string][]): string {
  return entries
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key} ${value}\n`)
    .join('');
}

function localDomains(state: MailState): string[] {
  return state.domains.filter((d) => d.relayTo === undefined).map((d) => d.domain);
}

/**
 * virtual_alias_maps. An alias replaces its source, so a source that is also a mailbox lists
 * itself to keep its copy (cPanel's forwarder semantics); forwarders and pipes of one source
 * are merged into one line because a table holds one value per key.
 */
export function renderVirtualAliases(state: MailState): string {
  const mailboxes = new Set(state.mailboxes.map((m) => m.address));
  const targets = new Map<string, string[]>();
  const add = (source: string, target: string) => {
    const list = targets.get(source) ?? (mailboxes.has(source) ? [source] : []);
    if (!list.includes(target)) list.push(target);
    targets.set(source, list);
  };
  for (const forwarder of state.forwarders) for (const destination of forwarder.destinations) add(forwarder.source, destination);
  for (const pipe of state.pipeForwarders) {
    add(pipe.source, `${localPartOf(pipe.source)}=${domainOf(pipe.source)}@${pipeServiceName(pipe.command)}.${PIPE_DOMAIN_SUFFIX}`);
  }
  return table([...targets].map(([source, list]) => [source, list.join(', ')]));
}

/**
 * Where each domain's mail goes, local domains included (LMTP to this node's Dovecot, the same as
 * virtual_transport): the route of a domain is then decided by this one table. A change that moves
 * a domain between local and relayed replaces several tables, one rename at a time, and a Postfix
 * process that opens them between two renames would otherwise see the domain in neither class and
 * send its mail to the domain's MX (a bounce); with its transport entry it still goes where one of
 * the two states says. PostfixDriver commits this table first.
 */
export function renderTransport(state: MailState, address: string): string {
  const routes: [string, string][] = state.domains.map((d) => [d.domain, d.relayTo === undefined ? `lmtp:inet:${address}:24` : `relay:[${d.relayTo}]:25`]);
  const services = new Set(state.pipeForwarders.map((p) => pipeServiceName(p.command)));
  const pipes: [string, string][] = [...services].map((service) => [`${service}.${PIPE_DOMAIN_SUFFIX}`, `${service}:`]);
  return table([...routes, ...pipes]);
}

export function renderMainCf(input: PostfixRenderInput): string {
  const { paths, address, hostname, state } = input;
  const mynetworks = ['127.0.0.0/8', ...state.trustedNetworks.filter((n) => !n.startsWith('127.'))].join(' ');
  return `# Rendered by Fleetpanel for node ${address}; changes are overwritten.
compatibility_level = 3.6
queue_directory = ${paths.queueDir}
data_directory = ${paths.dataDir}
maillog_file = ${paths.logFile}
maillog_file_prefixes = ${paths.logFile}
myhostname = ${hostname}
mydomain = ${hostname}
myorigin = $myhostname
# Each node has its own address: master.cf names it in the smtpd service, and outgoing
# connections leave from it so the next node recognises its parent.
inet_interfaces = all
inet_protocols = ipv4
smtp_bind_address = ${address}
# A parent relays to a child over loopback in the local cluster, and over its own address otherwise.
mynetworks = ${mynetworks}

# A delivery refused for a moment (Dovecot's LMTP "Shutting down" during its reload, a node being
# restarted or reconfigured) is tried again within half a minute rather than Postfix's five.
queue_run_delay = 30s
minimal_backoff_time = 30s
maximal_backoff_time = 10m

# No local (UNIX account) delivery: every domain is virtual.
mydestination =
local_recipient_maps =
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
append_dot_mydomain = no
biff = no
recipient_delimiter = +

virtual_mailbox_domains = hash:${paths.virtualDomains}
virtual_mailbox_maps = hash:${paths.virtualMailboxes}
virtual_alias_domains =
virtual_alias_maps = hash:${paths.virtualAliases}
virtual_transport = lmtp:inet:${address}:24
relay_domains = hash:${paths.relayDomains}
transport_maps = hash:${paths.transport}

# The sysdata driver renders these two files (whitelist and blacklist); they must always be consulted.
smtpd_client_restrictions = check_client_access cidr:${paths.clientAccess}
smtpd_sender_restrictions = check_sender_access texthash:${paths.senderAccess}
# Nobody may address the internal pipe domain directly, not even a trusted network.
smtpd_relay_restrictions = check_recipient_access hash:${paths.internalRecipients}, permit_mynetworks, reject_unauth_destination
smtpd_banner = $myhostname ESMTP

smtpd_tls_security_level = may
smtpd_tls_cert_file = ${input.certificate}
smtpd_tls_key_file = ${input.certificateKey}
# The certificate of each domain this node serves, chosen by SNI (written by the certificates module).
tls_server_sni_maps = hash:${paths.tlsSniMap}
smtp_tls_security_level = may
`;
}

const MASTER_HEADER = `# Rendered by Fleetpanel; changes are overwritten.
# service type  private unpriv  chroot  wakeup  maxproc command + args
`;

/** Nothing runs chrooted: the queue lives under the node root, not /var/spool/postfix. */
export function renderMasterCf(input: Pick<PostfixRenderInput, 'state' | 'address' | 'vmailUser'>): string {
  const { state, address, vmailUser } = input;
  const pipes = [...new Map(state.pipeForwarders.map((p) => [pipeServiceName(p.command), p.command]))]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, command]) => `${service} unix - n n - - pipe\n  flags=Rq user=${vmailUser} argv=${command}\n`)
    .join('');
  return `${MASTER_HEADER}${address}:25 inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
${pipes}`;
}

export function renderPostfixFiles(input: PostfixRenderInput): PostfixFiles {
  const { state } = input;
  const local = new Set(localDomains(state));
  return {
    mainCf: renderMainCf(input),
    masterCf: renderMasterCf(input),
    virtualDomains: table([...local].map((d) => [d, 'OK'])),
    // Every mailbox the node holds, those of a domain it relays too (Postfix reads this table only
    // for local domains). A domain that starts to be relayed (a move's route step) then changes
    // class without its mailboxes going: a process that opened the domain table before the change
    // and this one after it would otherwise refuse the domain's mail (550 User unknown).
    virtualMailboxes: table(state.mailboxes.map((m) => [m.address, 'OK'])),
    virtualAliases: renderVirtualAliases(state),
    relayDomains: table(state.domains.filter((d) => d.relayTo !== undefined).map((d) => [d.domain, 'OK'])),
    transport: renderTransport(state, input.address),
    internalRecipients: table([
      [PIPE_DOMAIN_SUFFIX, 'REJECT'],
      [`.${PIPE_DOMAIN_SUFFIX}`, 'REJECT'],
      ...state.domains.filter((d) => d.holdDelivery === true).map((d): [string, string] => [d.domain, 'HOLD mailboxes are being copied in']),
    ]),
  };
}
