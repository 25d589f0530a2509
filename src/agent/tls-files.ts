/**
 * Where a node keeps the certificates of the domains it serves, and the small include files
 * through which its nginx, Dovecot and Postfix pick the right one by SNI. The certificates module
 * writes them; each daemon's own config only includes them, so a new or renewed certificate needs
 * no re-render of any workload's state, just a reload.
 */
import type { NodeLayout } from './node-layout.ts';

export interface TlsFilePaths {
  /** one folder per account domain: fullchain.pem and privkey.pem */
  certificatesDir: string;
  /** nginx: `<host>/certificate.conf` per host name, included by the server block of that host */
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

export interface InstalledCertificate {
  /** the account domain the certificate belongs to */
  domain: string;
  /** every host name it covers */
  names: string[];
  chainFile: string;
  keyFile: string;
}

export function certificateFiles(paths: TlsFilePaths, domain: string): { chainFile: string; keyFile: string } {
  return { chainFile: `${paths.certificatesDir}/${domain}/fullchain.pem`, keyFile: `${paths.certificatesDir}/${domain}/privkey.pem` };
}

/**
 * The include that an nginx server block for `host` picks up: a glob, so a host without a
 * certificate is no error. Each host has a folder of its own because nginx expands the glob with
 * glob(3), which reads the whole folder: over one folder of every host's file, each server block
 * read thousands of entries: `nginx -t` of 2,000 sites and their webmail hosts took 2.3 times as
 * long as with a folder per host (bench/nginx-certificates.bench.ts).
 */
export function nginxTlsInclude(paths: Pick<TlsFilePaths, 'nginxDir'>, host: string): string {
  return `include ${paths.nginxDir}/${host}/*.conf;`;
}

/** The file that nginxTlsInclude picks up for `host`. */
export function nginxTlsIncludeFile(paths: Pick<TlsFilePaths, 'nginxDir'>, host: string): string {
  return `${paths.nginxDir}/${host}/certificate.conf`;
}

export function renderNginxTlsInclude(certificate: InstalledCertificate): string {
  return `ssl_certificate ${certificate.chainFile};\nssl_certificate_key ${certificate.keyFile};\n`;
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
