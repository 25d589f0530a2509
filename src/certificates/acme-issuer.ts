/**
 * The parent's ACME (RFC 8555) client, through acme-client: one account key per parent, DNS-01
 * challenges only (the parent owns every zone it issues for, and a distributed account's mail
 * names resolve to a child, where HTTP validation at the parent could not work).
 *
 * The order is split into the calls a durable job needs: place the order and read its
 * challenges, answer them once the TXT records are visible, finalize with a key the caller kept.
 * Each call can run again after a crash, found by the order's URL.
 */
import { Agent as HttpsAgent, get as httpsGet } from 'node:https';
import { rootCertificates } from 'node:tls';
import * as acme from 'acme-client';
import { ConflictError, FleetError, NodeUnavailableError } from '../core/errors.ts';

export interface AcmeSettings {
  directoryUrl: string;
  /** PEM of extra CAs to trust for the directory's HTTPS (a private or test CA), or null */
  caBundlePem: string | null;
}

export interface DnsChallenge {
  /** the name being validated, e.g. mail.example.com */
  identifier: string;
  /** the TXT record to publish: _acme-challenge.<identifier> */
  recordName: string;
  /** the TXT value (the digest of the key authorization) */
  value: string;
}

export interface PlacedOrder {
  orderUrl: string;
  challenges: DnsChallenge[];
}

export interface IssuedCertificate {
  /** leaf first, then the chain */
  chainPem: string;
}

/** Whether the directory answers HTTPS at all: the one question acme-client's errors cannot answer. */
function directoryAnswers(url: string, agent: HttpsAgent): Promise<string | null> {
  return new Promise((resolve) => {
    const request = httpsGet(url, { agent, timeout: 5000 }, (response) => {
      response.resume();
      resolve(null);
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error) => resolve(error.message));
  });
}

/** What pebble and Let's Encrypt say (type accountDoesNotExist) when a request names an account they do not hold. */
const ACCOUNT_UNKNOWN = /account .*(does not exist|not found)/i;

export class AcmeIssuer {
  private client: acme.Client;
  private readonly agent: HttpsAgent;
  private accountReady = false;

  constructor(
    private readonly settings: AcmeSettings,
    private readonly accountKeyPem: string,
  ) {
    // acme-client sends every request through its one axios instance; the parent has one ACME
    // directory, so its trust settings are the process's.
    this.agent = new HttpsAgent({ ca: settings.caBundlePem ? [...rootCertificates, settings.caBundlePem] : undefined, keepAlive: true });
    acme.axios.defaults.httpsAgent = this.agent;
    this.client = this.newClient();
  }

  /**
   * A refusal by the ACME server, or an outage: the job's retry policy waits out an outage and
   * stops at a refusal. acme-client turns a connection error into a TypeError of its own, so the
   * directory is asked once more to tell the two apart.
   */
  private async failure(action: string, error: unknown): Promise<FleetError> {
    const message = error instanceof Error ? error.message : String(error);
    const unreachable = await directoryAnswers(this.settings.directoryUrl, this.agent);
    if (unreachable !== null) return new NodeUnavailableError({ message: `the ACME server at ${this.settings.directoryUrl} cannot be reached (${action}): ${unreachable}` });
    return new ConflictError(`the ACME server refused (${action}): ${message}`);
  }

  private newClient(): acme.Client {
    return new acme.Client({ directoryUrl: this.settings.directoryUrl, accountKey: this.accountKeyPem, backoffAttempts: 5, backoffMin: 200, backoffMax: 2000 });
  }

  static createAccountKey(): Promise<string> {
    return acme.crypto.createPrivateEcdsaKey('P-256').then((key) => key.toString());
  }

  /** Before every call: the directory answers, and our account exists there. */
  private async ensureAccount(): Promise<void> {
    // acme-client retries a refused connection for over a minute; an outage is known at once.
    const unreachable = await directoryAnswers(this.settings.directoryUrl, this.agent);
    if (unreachable !== null) throw new NodeUnavailableError({ message: `the ACME server at ${this.settings.directoryUrl} cannot be reached: ${unreachable}` });
    if (this.accountReady) return;
    try {
      await this.client.createAccount({ termsOfServiceAgreed: true });
    } catch (error) {
      throw await this.failure('account', error);
    }
    this.accountReady = true;
  }

  /** A new order for the names, with the DNS-01 challenge of every authorization not yet valid. */
  async placeOrder(names: readonly string[]): Promise<PlacedOrder> {
    await this.ensureAccount();
    const place = async (): Promise<PlacedOrder> => {
      const order = await this.client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) });
      return { orderUrl: order.url, challenges: await this.pendingChallenges(order) };
    };
    try {
      return await place();
    } catch (error) {
      if (!ACCOUNT_UNKNOWN.test(error instanceof Error ? error.message : String(error))) throw await this.failure('new order', error);
    }
    // The server no longer knows the account this parent registered (a CA that lost its data, a
    // test CA restarted): register the same key again, once, instead of failing every renewal.
    this.client = this.newClient();
    this.accountReady = false;
    await this.ensureAccount();
    try {
      return await place();
    } catch (error) {
      throw await this.failure('new order', error);
    }
  }

  private async pendingChallenges(order: acme.Order): Promise<DnsChallenge[]> {
    const challenges: DnsChallenge[] = [];
    for (const authz of await this.client.getAuthorizations(order)) {
      if (authz.status === 'valid') continue;
      const challenge = authz.challenges.find((c) => c.type === 'dns-01');
      if (!challenge) throw new ConflictError(`the ACME server offers no DNS-01 challenge for ${authz.identifier.value}`);
      challenges.push({
        identifier: authz.identifier.value,
        recordName: `_acme-challenge.${authz.identifier.value}`,
        value: await this.client.getChallengeKeyAuthorization(challenge),
      });
    }
    return challenges;
  }

  /** Tells the server the TXT records are in place and waits until every authorization is valid. */
  async answerChallenges(orderUrl: string): Promise<void> {
    await this.ensureAccount();
    try {
      const order = await this.client.getOrder({ url: orderUrl } as acme.Order);
      if (order.status === 'ready' || order.status === 'valid') return;
      for (const authz of await this.client.getAuthorizations(order)) {
        if (authz.status === 'valid') continue;
        const challenge = authz.challenges.find((c) => c.type === 'dns-01')!;
        if (challenge.status === 'pending') await this.client.completeChallenge(challenge);
        await this.client.waitForValidStatus(authz);
      }
    } catch (error) {
      throw await this.failure('validation', error);
    }
  }

  /** Finalizes with a CSR for the caller's key and downloads the chain; runs again safely on a finalized order. */
  async finalize(orderUrl: string, names: readonly string[], keyPem: string): Promise<IssuedCertificate> {
    await this.ensureAccount();
    try {
      let order = await this.client.getOrder({ url: orderUrl } as acme.Order);
      if (order.status === 'ready') {
        const [, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: [...names] }, keyPem);
        order = await this.client.finalizeOrder(order, csr);
      }
      if (order.status !== 'valid') order = await this.client.waitForValidStatus(order);
      return { chainPem: await this.client.getCertificate(order) };
    } catch (error) {
      throw await this.failure('finalize', error);
    }
  }
}

/** A new private key for a certificate (ECDSA P-256, what every client of these daemons takes). */
export async function createCertificateKey(): Promise<string> {
  return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
}

export function readCertificate(chainPem: string): { names: string[]; issuer: string; notBefore: Date; notAfter: Date } {
  const info = acme.crypto.readCertificateInfo(chainPem);
  const names = [...new Set([info.domains.commonName, ...info.domains.altNames].filter(Boolean))];
  return { names, issuer: info.issuer.commonName, notBefore: info.notBefore, notAfter: info.notAfter };
}
