/**
 * What an agent remembers about its parent: the parent's CA (the only issuer whose client
 * certificates it accepts), the parent's identity, and its own TLS key and certificate. Kept in
 * the node root so a restarted agent is still linked.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import { readJsonFile, writeFileAtomic } from '../core/files.ts';
import { selfSigned, fingerprint } from '../transport/ca.ts';
import type { NodeLayout } from './node-layout.ts';
import { encodeLinkToken } from '../protocol/link-token.ts';

export interface ParentLink {
  parentId: string;
  parentName: string;
  caCertPem: string;
  linkedAt: string;
}

interface TokenRecord {
  secretHash: string;
  expiresAt: string | null;
}

/** A handover the current parent issued: only that new parent may link with the secret. */
interface HandoverRecord extends TokenRecord {
  newParentId: string;
  newParentName: string;
  /** the parent that issued it; a handover outlives no change of parent */
  fromParentId: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function matches(secret: string, secretHash: string): boolean {
  const presented = Buffer.from(sha256(secret));
  const expected = Buffer.from(secretHash);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

export class LinkState {
  constructor(
    private readonly layout: NodeLayout,
    /** Set on the parent's own node: it belongs to that parent and can never be linked elsewhere. */
    readonly parentLocal: boolean,
  ) {}

  private file(name: string): string {
    return this.layout.agent(name);
  }

  parent(): ParentLink | null {
    return readJsonFile<ParentLink | null>(this.file('parent.json'), null);
  }

  /**
   * One rename replaces the parent (and its CA) whole, so the node trusts exactly one parent at
   * every instant; whatever token or handover let the new one in is spent.
   */
  setParent(link: ParentLink): void {
    writeFileAtomic(this.file('parent.json'), JSON.stringify(link, null, 2), 0o600);
    rmSync(this.file('link-token.json'), { force: true });
    rmSync(this.file('handover.json'), { force: true });
  }

  forgetParent(): void {
    rmSync(this.file('parent.json'), { force: true });
    rmSync(this.file('handover.json'), { force: true });
  }

  /**
   * Lets `newParentId` link this node in place of the current parent (replacing an earlier
   * handover); returns a link token with a secret only that parent can spend.
   */
  issueHandover(newParentId: string, newParentName: string, serveAddress: string, certPem: string, expiresInMs: number): string {
    const current = this.parent();
    if (!current) throw new Error('a node that is not linked has nothing to hand over');
    const secret = randomBytes(24).toString('base64url');
    const record: HandoverRecord = {
      secretHash: sha256(secret),
      expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
      newParentId,
      newParentName,
      fromParentId: current.parentId,
    };
    writeFileAtomic(this.file('handover.json'), JSON.stringify(record), 0o600);
    return encodeLinkToken({ a: serveAddress, f: fingerprint(certPem), s: secret });
  }

  /** The new parent named by a valid handover of the current parent, when `secret` is its secret. */
  checkHandover(parentId: string, secret: string): 'ok' | 'missing' | 'expired' | 'wrong' {
    const record = readJsonFile<HandoverRecord | null>(this.file('handover.json'), null);
    const current = this.parent();
    if (!record || !current || record.fromParentId !== current.parentId || record.newParentId !== parentId) return 'missing';
    if (record.expiresAt && Date.parse(record.expiresAt) < Date.now()) return 'expired';
    return matches(secret, record.secretHash) ? 'ok' : 'wrong';
  }

  /** The agent's TLS key and certificate: self-signed until the parent signs one at link time. */
  async tls(hosts: string[]): Promise<{ keyPem: string; certPem: string }> {
    const keyFile = this.file('tls.key');
    const certFile = this.file('tls.crt');
    if (!existsSync(keyFile) || !existsSync(certFile)) {
      const generated = await selfSigned(`fleetpanel-agent ${hostname()}`, hosts);
      writeFileAtomic(keyFile, generated.keyPem, 0o600);
      writeFileAtomic(certFile, generated.certPem, 0o644);
    }
    return { keyPem: readFileSync(keyFile, 'utf8'), certPem: readFileSync(certFile, 'utf8') };
  }

  installCertificate(certPem: string): void {
    writeFileAtomic(this.file('tls.crt'), certPem, 0o644);
  }

  /** Makes a new one-time link token (replacing any earlier one) and returns it. */
  issueToken(serveAddress: string, certPem: string, expiresInMs: number | null): string {
    const secret = randomBytes(24).toString('base64url');
    const record: TokenRecord = {
      secretHash: sha256(secret),
      expiresAt: expiresInMs === null ? null : new Date(Date.now() + expiresInMs).toISOString(),
    };
    writeFileAtomic(this.file('link-token.json'), JSON.stringify(record), 0o600);
    const token = encodeLinkToken({ a: serveAddress, f: fingerprint(certPem), s: secret });
    // Kept readable by root only, for the parent's installer and the local cluster to pick up.
    writeFileAtomic(this.file('link-token.txt'), token + '\n', 0o600);
    return token;
  }

  /** Checks a presented secret against the current token; the token is spent by setParent(). */
  checkToken(secret: string): 'ok' | 'missing' | 'expired' | 'wrong' {
    const record = readJsonFile<TokenRecord | null>(this.file('link-token.json'), null);
    if (!record) return 'missing';
    if (record.expiresAt && Date.parse(record.expiresAt) < Date.now()) return 'expired';
    return matches(secret, record.secretHash) ? 'ok' : 'wrong';
  }
}
