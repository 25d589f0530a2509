/**
 * The node's self-signed mail certificate, shared by Dovecot (IMAPS, POP3S, STARTTLS) and
 * Postfix (STARTTLS). Generated once; both daemons read it as root before dropping privileges.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { run } from '../core/exec.ts';

export async function ensureMailCertificate(certificate: string, key: string, address: string, hostname: string): Promise<void> {
  if (existsSync(certificate) && existsSync(key)) return;
  mkdirSync(dirname(certificate), { recursive: true, mode: 0o700 });
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', certificate, '-days', '3650',
    '-subj', `/CN=${hostname}`, '-addext', `subjectAltName=DNS:${hostname},IP:${address}`,
  ]);
  chmodSync(key, 0o600);
}
