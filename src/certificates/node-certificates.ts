/**
 * The domain certificates on one node: files written atomically under the node root, the include
 * files that let nginx, Dovecot and Postfix find them by SNI rendered from the whole set on disk,
 * and one reload of each daemon that serves TLS. A certificate that does not match its key, or
 * does not cover the names it is installed for, is refused before a file is written.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { ValidationError } from '../core/errors.ts';
import { writeFileAtomic, writeIfChanged } from '../core/files.ts';
import { checkDomain } from '../core/grammar.ts';
import {
  certificateFiles,
  renderDovecotLocalNames,
  nginxCertificateMapEntryFile,
  nginxFileOf,
  renderNginxCertificateMapEntry,
  renderPostfixSni,
  type CertificateFiles,
  type InstalledCertificate,
  type TlsFilePaths,
} from '../agent/tls-files.ts';

/** The combined files nginx reads: nginx.pem of versions before, nginx-<hash>.pem now (nginxFileOf). */
const NGINX_FILE_NAME = /^nginx(-[0-9a-f]{16})?\.pem$/;

/** What nginx reads from one file: the chain, then the key. */
function combinedPem(certPem: string, keyPem: string): string {
  return `${certPem.trimEnd()}\n${keyPem.trimEnd()}\n`;
}

export interface CertificateInput {
  names: string[];
  certPem: string;
  keyPem: string;
}

export interface InstalledCertificateView {
  domain: string;
  names: string[];
  notAfter: string;
  fingerprint256: string;
}

/** The leaf and its chain, checked against the key and the names; throws a ValidationError naming the field. */
export function checkCertificate(domain: string, input: CertificateInput): X509Certificate {
  const domainProblem = checkDomain(domain);
  if (domainProblem) throw new ValidationError('domain', domainProblem);
  input.names.forEach((name, index) => {
    const problem = checkDomain(name);
    if (problem) throw new ValidationError(`names[${index}]`, problem);
    if (name !== domain && !name.endsWith(`.${domain}`)) throw new ValidationError(`names[${index}]`, `${name} is outside ${domain}`);
  });
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(input.certPem);
  } catch {
    throw new ValidationError('certPem', 'is not a PEM certificate');
  }
  let key;
  try {
    key = createPrivateKey(input.keyPem);
  } catch {
    throw new ValidationError('keyPem', 'is not a PEM private key');
  }
  if (!leaf.checkPrivateKey(key)) throw new ValidationError('keyPem', 'does not belong to the certificate');
  input.names.forEach((name, index) => {
    if (leaf.checkHost(name) === undefined) throw new ValidationError(`names[${index}]`, `the certificate does not cover ${name}`);
  });
  return leaf;
}

export class NodeCertificates {
  /** Domains whose files wait for sweep(): removed, but perhaps still named by a running daemon. */
  private readonly removed = new Set<string>();

  /**
   * @param keyReaderGroup the group of nginx's workers, when they are not the agent's own user:
   *   they read a domain's combined chain and key at each handshake (tls-files nginxCertificateMap)
   */
  constructor(
    private readonly paths: TlsFilePaths,
    private readonly keyReaderGroup?: number,
  ) {}

  /** A domain's folder: its chain, key, combined files and names. */
  private folderOf(domain: string): string {
    return `${this.paths.certificatesDir}/${domain}`;
  }

  private namesFile(domain: string): string {
    return `${this.folderOf(domain)}/names.json`;
  }

  installed(): InstalledCertificate[] {
    if (!existsSync(this.paths.certificatesDir)) return [];
    return readdirSync(this.paths.certificatesDir)
      .filter((domain) => checkDomain(domain) === null && existsSync(this.namesFile(domain)))
      .sort()
      .map((domain) => {
        const record = this.record(domain)!;
        const files = certificateFiles(this.paths, domain);
        return { domain, names: record.names, ...files, ...(record.nginxFile ? { nginxFile: `${this.folderOf(domain)}/${record.nginxFile}` } : {}) };
      });
  }

  /**
   * What names.json says: the names, and the combined file nginx reads (versions before versioned
   * combined files wrote the names alone, and their combined file is certificateFiles' nginxFile).
   */
  private record(domain: string): { names: string[]; nginxFile?: string } | undefined {
    if (!existsSync(this.namesFile(domain))) return undefined;
    const parsed = JSON.parse(readFileSync(this.namesFile(domain), 'utf8')) as string[] | { names: string[]; nginxFile: string };
    if (Array.isArray(parsed)) return { names: parsed };
    // Only a name of this folder: the file's contents never point outside it.
    return NGINX_FILE_NAME.test(parsed.nginxFile) ? parsed : { names: parsed.names };
  }

  views(): InstalledCertificateView[] {
    return this.installed().map((c) => {
      const leaf = new X509Certificate(readFileSync(c.chainFile));
      return { domain: c.domain, names: c.names, notAfter: new Date(leaf.validTo).toISOString(), fingerprint256: leaf.fingerprint256 };
    });
  }

  /** Writes one domain's files; returns false when the same certificate was installed already. */
  install(domain: string, input: CertificateInput): boolean {
    checkCertificate(domain, input);
    const files = certificateFiles(this.paths, domain);
    const names = [...new Set(input.names)];
    const combined = combinedPem(input.certPem, input.keyPem);
    const nginxFile = nginxFileOf(this.paths, domain, combined);
    const previous = this.record(domain);
    if (previous && JSON.stringify(previous.names) === JSON.stringify(names) && existsSync(nginxFile) && existsSync(files.chainFile) && readFileSync(files.chainFile, 'utf8') === input.certPem) {
      return false;
    }
    this.ensureFolder(domain);
    // Key first, names last: a crash in between leaves a domain that installed() does not list yet.
    writeFileAtomic(files.keyFile, input.keyPem, 0o600);
    writeFileAtomic(files.chainFile, input.certPem, 0o644);
    this.writeCombined(nginxFile, combined);
    writeFileAtomic(this.namesFile(domain), JSON.stringify({ names, nginxFile: basename(nginxFile) }), 0o644);
    // nginx reads the file the map named at its last reload until the next one: that one stays
    // (until the next renewal); any older one is read by nothing now.
    const inUse = new Set([basename(nginxFile), basename(previous?.nginxFile ?? files.nginxFile)]);
    for (const entry of readdirSync(this.folderOf(domain))) {
      if (NGINX_FILE_NAME.test(entry) && !inUse.has(entry)) rmSync(`${this.folderOf(domain)}/${entry}`, { force: true });
    }
    return true;
  }

  /**
   * Takes the domain out of what is installed; its files stay until sweep(), after the reload of
   * the daemons that named them: nginx reads the combined file at each handshake, and until its
   * reload a handshake for the domain's names would otherwise fail instead of getting the node's
   * certificate.
   */
  remove(domain: string): boolean {
    if (checkDomain(domain) !== null) return false;
    // A folder without its names (an install a crash cut short) goes at the sweep too.
    if (existsSync(this.folderOf(domain))) this.removed.add(domain);
    if (!existsSync(this.namesFile(domain))) return false;
    rmSync(this.namesFile(domain), { force: true });
    return true;
  }

  /** Deletes the folders of the domains removed since the last sweep, unless installed again meanwhile. */
  sweep(): void {
    for (const domain of this.removed) {
      if (!existsSync(this.namesFile(domain))) rmSync(this.folderOf(domain), { recursive: true, force: true });
    }
    this.removed.clear();
  }

  /** The domain's folder and the one of all domains, passable by nginx's workers, which read the combined file in it. */
  private ensureFolder(domain: string): void {
    const folder = this.folderOf(domain);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    if (this.keyReaderGroup === undefined) return;
    for (const path of [this.paths.certificatesDir, folder]) {
      chownSync(path, -1, this.keyReaderGroup);
      chmodSync(path, 0o750);
    }
  }

  private writeNginxFile(files: CertificateFiles): boolean {
    return this.writeCombined(files.nginxFile, combinedPem(readFileSync(files.chainFile, 'utf8'), readFileSync(files.keyFile, 'utf8')));
  }

  private writeCombined(path: string, combined: string): boolean {
    return writeIfChanged(path, combined, this.keyReaderGroup === undefined ? 0o600 : 0o640, this.keyReaderGroup);
  }

  /** Re-renders the SNI include files and nginx's combined files from what is installed; returns whether any changed. */
  renderIncludes(): boolean {
    const certificates = this.installed();
    mkdirSync(this.paths.nginxDir, { recursive: true, mode: 0o755 });
    let changed = false;
    const wanted = new Set<string>();
    for (const certificate of certificates) {
      // install() writes the combined file; one missing was installed before nginx read
      // certificates at the handshake, in a folder closed to nginx's workers. Only those are read
      // here, so a change on a node of thousands of certificates does not read them all.
      if (!existsSync(certificate.nginxFile)) {
        this.ensureFolder(certificate.domain);
        changed = this.writeNginxFile(certificate) || changed;
      }
      for (const name of certificate.names) {
        const entry = nginxCertificateMapEntryFile(this.paths, name);
        wanted.add(basename(entry));
        changed = writeIfChanged(entry, renderNginxCertificateMapEntry(name, certificate)) || changed;
      }
    }
    // Hosts whose certificate is gone, and the include folders of versions before the map.
    for (const entry of readdirSync(this.paths.nginxDir)) {
      if (!wanted.has(entry)) {
        rmSync(`${this.paths.nginxDir}/${entry}`, { recursive: true, force: true });
        changed = true;
      }
    }
    changed = writeIfChanged(this.paths.dovecotInclude, renderDovecotLocalNames(certificates), 0o600) || changed;
    changed = writeIfChanged(this.paths.postfixSniSource, renderPostfixSni(certificates), 0o600) || changed;
    return changed;
  }
}
