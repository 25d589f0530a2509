/**
 * Issuing (or renewing) an account's certificate (or the panel's own, validated in the zone of the
 * account that holds its host name) as a durable job: order, publish the DNS-01 answers in the
 * account's zone, wait until the zone's own PowerDNS serves them, let the ACME
 * server validate, finalize with a key kept in the store, put the certificate in service on every
 * node that serves one of its names, withdraw the answers. Until the finalize step the serving
 * certificate is untouched, so a refused or failed order changes nothing that serves.
 */
import { Resolver } from 'node:dns/promises';
import { defineJob, type JobDefinition } from '../jobs/index.ts';
import { InternalError, NodeUnavailableError, NotFoundError } from '../core/errors.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { AcmeIssuer, DnsChallenge } from './acme-issuer.ts';
import { createCertificateKey, readCertificate } from './acme-issuer.ts';
import type { CertificateKind, CertificatesRepository } from './certificates.repository.ts';

export const ISSUE_CERTIFICATE_JOB = 'certificate.issue';

export interface IssueCertificateData {
  [key: string]: unknown;
  /** the account whose zone holds the names (and whose certificate it is, unless `panel`) */
  account: string;
  names: string[];
  /** the parent's own HTTPS certificate, validated in that account's zone */
  panel?: boolean;
  orderUrl?: string;
  challenges?: DnsChallenge[];
}

/** Where an order's certificate is kept and put in service: an account's own, or the panel's. */
export interface CertificateTarget {
  current(): Promise<{ kind: CertificateKind; pendingKeyPem: string | null; failures: number } | undefined>;
  setPendingKey(keyPem: string, now: number): Promise<void>;
  saveServing(issued: { names: string[]; certPem: string; keyPem: string; issuer: string; notBefore: number; notAfter: number; renewAt: number }, now: number): Promise<void>;
  recordFailure(error: string, retryAt: number, now: number): Promise<void>;
  deploy(): Promise<void>;
}

/** What the job needs from the rest of the parent; the parent wires these to the account, DNS and workload services. */
export interface IssueCertificateDeps {
  /** the challenge records of the account's zone */
  repo: Pick<CertificatesRepository, 'addChallenges' | 'removeChallenges'>;
  /** the certificate the order is for */
  target(data: IssueCertificateData, account: AccountRecord): CertificateTarget;
  issuer(): Promise<AcmeIssuer>;
  account(username: string): Promise<AccountRecord | undefined>;
  /** the address whose PowerDNS serves the account's zone */
  dnsAddress(account: AccountRecord): Promise<string>;
  /** re-pushes the account's zone (the challenge records are merged into it from the repository) */
  refreshZone(account: AccountRecord): Promise<void>;
  /** when a failed order may be tried again */
  retryAt(failures: number): number;
  now(): number;
  /** how long to wait for the zone to serve the answers before the step is retried */
  propagationTimeoutMs: number;
}

async function servedTxt(address: string, name: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([address]);
  try {
    return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
  } catch {
    return [];
  }
}

export function issueCertificateJob(deps: IssueCertificateDeps): JobDefinition<IssueCertificateData> {
  const requireAccount = async (username: string): Promise<AccountRecord> => {
    const account = await deps.account(username);
    if (!account) throw new NotFoundError('account', username);
    return account;
  };
  const withdraw = async (username: string): Promise<void> => {
    const account = await deps.account(username);
    if (!account) return;
    await deps.repo.removeChallenges(account.id);
    await deps.refreshZone(account);
  };
  /** Every failure is recorded on the certificate (status shows it) before the engine decides on a retry. */
  const recorded = <T>(data: IssueCertificateData, run: () => Promise<T>): Promise<T> =>
    run().catch(async (error: unknown) => {
      const account = await deps.account(data.account);
      const target = account && deps.target(data, account);
      const row = target && (await target.current());
      if (target && row) await target.recordFailure((error as Error).message, deps.retryAt(row.failures + 1), deps.now());
      throw error;
    });

  return defineJob<IssueCertificateData>({
    type: ISSUE_CERTIFICATE_JOB,
    onFailure: 'undo',
    steps: [
      {
        name: 'order',
        run: (_ctx, job) =>
          recorded(job.data, async () => {
            const target = deps.target(job.data, await requireAccount(job.data.account));
            if (!(await target.current())?.pendingKeyPem) await target.setPendingKey(await createCertificateKey(), deps.now());
            const order = await (await deps.issuer()).placeOrder(job.data.names);
            return { orderUrl: order.orderUrl, challenges: order.challenges };
          }),
      },
      {
        name: 'publish',
        run: (_ctx, job) =>
          recorded(job.data, async () => {
            const account = await requireAccount(job.data.account);
            await deps.repo.removeChallenges(account.id);
            await deps.repo.addChallenges(account.id, job.data.challenges ?? []);
            await deps.refreshZone(account);
          }),
        undo: (_ctx, job) => withdraw(job.data.account),
      },
      {
        name: 'propagate',
        run: (ctx, job) =>
          recorded(job.data, async () => {
            const account = await requireAccount(job.data.account);
            const address = await deps.dnsAddress(account);
            const deadline = deps.now() + deps.propagationTimeoutMs;
            for (const challenge of job.data.challenges ?? []) {
              while (!(await servedTxt(address, challenge.recordName)).includes(challenge.value)) {
                if (ctx.signal.aborted) throw ctx.signal.reason;
                if (deps.now() > deadline) {
                  throw new NodeUnavailableError({ message: `the DNS node at ${address} does not serve ${challenge.recordName} yet` });
                }
                await new Promise((resolve) => setTimeout(resolve, 250));
              }
            }
            await ctx.progress(`${address} serves ${(job.data.challenges ?? []).length} challenge record(s)`);
          }),
      },
      {
        name: 'validate',
        run: (_ctx, job) => recorded(job.data, async () => (await deps.issuer()).answerChallenges(job.data.orderUrl!)),
      },
      {
        name: 'finalize',
        run: (ctx, job) =>
          recorded(job.data, async () => {
            const account = await requireAccount(job.data.account);
            const target = deps.target(job.data, account);
            const row = await target.current();
            if (!row) throw new NotFoundError(job.data.panel ? 'certificate of the panel, validated in the zone of' : 'certificate of account', account.username);
            if (!row.pendingKeyPem) {
              // An earlier run of this step put the certificate in service and died before the journal said so.
              if (ctx.resumed && row.kind === 'issued') return;
              throw new InternalError('the order key is missing; the order is placed again by the next renewal');
            }
            const issued = await (await deps.issuer()).finalize(job.data.orderUrl!, job.data.names, row.pendingKeyPem);
            const info = readCertificate(issued.chainPem);
            const lifetime = info.notAfter.getTime() - info.notBefore.getTime();
            await target.saveServing(
              {
                names: job.data.names,
                certPem: issued.chainPem,
                keyPem: row.pendingKeyPem,
                issuer: info.issuer,
                notBefore: info.notBefore.getTime(),
                notAfter: info.notAfter.getTime(),
                renewAt: info.notBefore.getTime() + Math.round((lifetime * 2) / 3),
              },
              deps.now(),
            );
            await ctx.progress(`issued by ${info.issuer}, valid until ${info.notAfter.toISOString()}`);
          }),
      },
      {
        name: 'deploy',
        run: async (_ctx, job) => deps.target(job.data, await requireAccount(job.data.account)).deploy(),
      },
      {
        name: 'clean',
        run: (_ctx, job) => withdraw(job.data.account),
      },
    ],
  });
}
