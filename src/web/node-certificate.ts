/**
 * The node's self-signed certificate for its nginx, so :443 works before any site has its own.
 * nginx's workers read it at each handshake that uses it (see renderNginxConfig), from one file
 * with its key, so that file, its folder and the instance's configuration folder above it
 * belong to the workers' group; nothing else on the node can read the key.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../core/exec.ts';
import { writeFileAtomic } from '../core/files.ts';
import { lookupUser } from '../php/system-users.ts';

export interface NodeCertificateOptions {
  /** the combined file: certificate, then key */
  file: string;
  address: string;
  openssl: string;
  /** nginx's workers when they are not the agent's own user */
  workerUser?: string;
}

export async function ensureNodeCertificate(options: NodeCertificateOptions): Promise<void> {
  const folder = dirname(options.file);
  const workers = options.workerUser === undefined ? undefined : lookupUser(options.workerUser);
  if (!existsSync(options.file)) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    // Kept apart as well: nodes of versions before the combined file have these, and keep their certificate.
    const certificate = join(folder, 'node.crt');
    const key = join(folder, 'node.key');
    if (!existsSync(certificate) || !existsSync(key)) {
      await run(options.openssl, [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', certificate, '-days', '3650',
        '-subj', `/CN=${options.address}`, '-addext', `subjectAltName=IP:${options.address}`,
      ]);
    }
    chmodSync(key, 0o600);
    writeFileAtomic(options.file, readFileSync(certificate, 'utf8') + readFileSync(key, 'utf8'), workers === undefined ? 0o600 : 0o640, workers?.gid);
  }
  if (workers === undefined) return;
  for (const path of [dirname(folder), folder]) {
    chownSync(path, 0, workers.gid);
    chmodSync(path, 0o750);
  }
}
