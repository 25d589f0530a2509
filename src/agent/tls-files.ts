/**
 * Where a node keeps the certificates of the domains it serves, and the small include files
 * through which its nginx, Dovecot and Postfix pick the right one by SNI. The certificates module
 * writes them; each daemon's own config only includes them, so a new or renewed certificate needs
 * no re-render of any workload's state.
 */
import { createHash } from 'node:crypto';
import type { NodeLayout } from './node-layout.ts';

export interface TlsFilePaths {
  /** one folder per account domain: fullchain.pem and privkey.pem */
  certificatesDir: string;
  /** nginx: `<host>.conf` per host name, an entry of the certificate map (nginxCertificateMap) */
  nginxDir: string;
  /** Dovecot: `local_name` blocks, included by dovecot.conf */
  dovecotInclude: string;
  /** Postfix: the source of tls_server_sni_maps (`postmap -F` turns it into a hash map) */
  postfixSniSource: string;
}

export function tlsFilePaths(layout: NodeLayout): TlsFilePaths {
  return {
    certificatesDir: layout.etc('tls', 'certs'),
    nginxDir: layout.etc('tls', 'nginx'),
    dovecotInclude: layout.etc('tls', 'dovecot-local-names.conf'),
    postfixSniSource: layout.etc('tls', 'postfix-sni'),
  };
}

/**
 * The group of nginx's workers when the agent runs as root (nginx.driver): they read a domain's
 * certificate and key at each handshake (nginxCertificateMap), so both are readable by it. No
 * other process of the node runs as this user: sites' PHP runs as the account's own user, and
 * webmail's as a user of its own.
 */
export const TLS_KEY_READER = 'www-data';

export interface CertificateFiles {
  chainFile: string;
  keyFile: string;
  /**
   * chain and key in one file for nginx, which reads it at each handshake, twice (once for the
   * chain, once for the key): a renewal writes a file of a new name (nginxFileOf), so no handshake
   * pairs the old chain with the new key; the map names the new one from the next reload on.
   */
  nginxFile: string;
}

export interface InstalledCertificate extends CertificateFiles {
  /** the account domain the certificate belongs to */
  domain: string;
  /** every host name it covers */
  names: string[];
}

/** A domain's files; `nginxFile` is the name of versions before versioned combined files (nginxFileOf). */
export function certificateFiles(paths: TlsFilePaths, domain: string): CertificateFiles {
  const folder = `${paths.certificatesDir}/${domain}`;
  return { chainFile: `${folder}/fullchain.pem`, keyFile: `${folder}/privkey.pem`, nginxFile: `${folder}/nginx.pem` };
}

/** The combined file of these contents: named by their hash, so a new certificate never replaces a file nginx may be reading. */
export function nginxFileOf(paths: TlsFilePaths, domain: string, combined: string): string {
  return `${paths.certificatesDir}/${domain}/nginx-${createHash('sha256').update(combined).digest('hex').slice(0, 16)}.pem`;
}

/**
 * nginx's choice of certificate, by the name the client asked for (SNI): the variable
 * `$fleetpanel_certificate`, a file with the chain and the key, which is a host's own where its
 * certificate is installed and the node's (`fallback`) elsewhere, and for a client that names no
 * host. nginx builds an OpenSSL context for every server block that names a certificate, and at
 * 2,000 sites that was most of a reload's time (bench/nginx-certificates.bench.ts); named once,
 * through the variable, in the default server, the one context it makes loads the chosen file at
 * each handshake instead. By the asked name, not by the server block SNI picked: webmail's one
 * block answers every webmail.<domain> (webmail/webmail-config.ts). One file per host, so a
 * certificate adds and removes its own entries and nothing else; map compares them ignoring case.
 */
export function nginxCertificateMap(paths: Pick<TlsFilePaths, 'nginxDir'>, fallback: string): string[] {
  return [
    // As long as the server names' buckets (nginx-config.ts), for every map of the http level:
    // this one's keys are host names, the shared server's are `https:` and a host name.
    'map_hash_bucket_size 512;',
    'map_hash_max_size 65536;',
    `map $ssl_server_name $fleetpanel_certificate { default ${fallback}; include ${paths.nginxDir}/*.conf; }`,
  ];
}

/** The map entry of one host name (nginxCertificateMap). */
export function nginxCertificateMapEntryFile(paths: Pick<TlsFilePaths, 'nginxDir'>, host: string): string {
  return `${paths.nginxDir}/${host}.conf`;
}

export function renderNginxCertificateMapEntry(host: string, certificate: Pick<CertificateFiles, 'nginxFile'>): string {
  return `${host} ${certificate.nginxFile};\n`;
}

/** Dovecot answers IMAP/POP3 TLS for every name of every certificate with that certificate. */
export function renderDovecotLocalNames(certificates: readonly InstalledCertificate[]): string {
  const blocks = certificates.flatMap((c) => c.names.map((name) => `local_name ${name} {\n  ssl_cert = <${c.chainFile}\n  ssl_key = <${c.keyFile}\n}\n`));
  return `# Written by the Fleetpanel agent (certificates); changes here are overwritten.\n${blocks.join('')}`;
}

/** Postfix's SNI table source: `name key-file chain-file` (postmap -F embeds the files' contents). */
export function renderPostfixSni(certificates: readonly InstalledCertificate[]): string {
  return certificates.flatMap((c) => c.names.map((name) => `${name} ${c.keyFile} ${c.chainFile}\n`)).join('');
}
