/**
 * The parent's certificate authority. It signs one server certificate per agent (so the parent
 * can verify it is talking to the node it linked) and one client certificate for the parent
 * itself (so an agent serves only callers that hold its parent's certificate).
 */
import 'reflect-metadata';
import { webcrypto, randomBytes, createPublicKey, createHash, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/files.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

export interface KeyAndCert {
  keyPem: string;
  certPem: string;
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  return toPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
}

export async function publicKeyPem(keys: CryptoKeyPair): Promise<string> {
  return toPem(await webcrypto.subtle.exportKey('spki', keys.publicKey), 'PUBLIC KEY');
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign']);
}

async function importPublicKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('spki', der, ALGORITHM, true, ['verify']);
}

/** A self-signed certificate, used by an agent before it is linked (pinned by the link token). */
export async function selfSigned(commonName: string, hosts: string[]): Promise<KeyAndCert> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + TEN_YEARS_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension(sanEntries(hosts))],
  });
  return { keyPem: await privateKeyPem(keys), certPem: cert.toString('pem') + '\n' };
}

function sanEntries(hosts: string[]): x509.JsonGeneralName[] {
  return hosts.map((h) => (/^[0-9.]+$/.test(h) ? { type: 'ip', value: h } : { type: 'dns', value: h }));
}

/** The SHA-256 fingerprint of a certificate's DER bytes, as pinned in a link token. */
export function fingerprint(certPem: string): string {
  const der = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

export class CertificateAuthority {
  private constructor(
    readonly caCertPem: string,
    private readonly caKeyPem: string,
    readonly clientCertPem: string,
    readonly clientKeyPem: string,
  ) {}

  /** Loads the CA from `dir`, creating it (and the parent's client certificate) on first use. */
  static async open(dir: string, parentName: string): Promise<CertificateAuthority> {
    const files = ['ca.crt', 'ca.key', 'client.crt', 'client.key'].map((f) => join(dir, f));
    if (files.every((f) => existsSync(f))) {
      const [caCert, caKey, clientCert, clientKey] = files.map((f) => readFileSync(f, 'utf8'));
      return new CertificateAuthority(caCert!, caKey!, clientCert!, clientKey!);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const caKeys = await generateKeyPair();
    const caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=Fleetpanel CA ${parentName} ${randomBytes(4).toString('hex')}`,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + TEN_YEARS_MS),
      signingAlgorithm: ALGORITHM,
      keys: caKeys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    const caKeyPem = await privateKeyPem(caKeys);
    const caCertPem = caCert.toString('pem') + '\n';
    const clientKeys = await generateKeyPair();
    const partial = new CertificateAuthority(caCertPem, caKeyPem, '', '');
    const clientCertPem = await partial.sign(await publicKeyPem(clientKeys), `parent ${parentName}`, [], 'client');
    const ca = new CertificateAuthority(caCertPem, caKeyPem, clientCertPem, await privateKeyPem(clientKeys));
    writeFileAtomic(files[0]!, ca.caCertPem, 0o644);
    writeFileAtomic(files[1]!, ca.caKeyPem, 0o600);
    writeFileAtomic(files[2]!, ca.clientCertPem, 0o644);
    writeFileAtomic(files[3]!, ca.clientKeyPem, 0o600);
    return ca;
  }

  /** Signs a certificate for a public key held by someone else (an agent keeps its own key). */
  async sign(publicKey: string, commonName: string, hosts: string[], usage: 'server' | 'client'): Promise<string> {
    const caCert = new x509.X509Certificate(this.caCertPem);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${commonName}`,
      issuer: caCert.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + TEN_YEARS_MS),
      signingAlgorithm: ALGORITHM,
      publicKey: await importPublicKey(publicKey),
      signingKey: await importPrivateKey(this.caKeyPem),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
        ...(hosts.length > 0 ? [new x509.SubjectAlternativeNameExtension(sanEntries(hosts))] : []),
      ],
    });
    return cert.toString('pem') + '\n';
  }
}

/** The public key of a private key in PEM, as an agent hands it to its parent for signing. */
export function publicKeyOf(privateKeyPemText: string): string {
  return createPublicKey(privateKeyPemText).export({ type: 'spki', format: 'pem' }).toString();
}

/** Whether the certificate (DER) was signed by the CA (PEM): its issuer name and signature both match. */
export function issuedBy(certDer: Buffer, caCertPem: string): boolean {
  try {
    const cert = new X509Certificate(certDer);
    const ca = new X509Certificate(caCertPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}
