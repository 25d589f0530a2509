/**
 * The ordered list of migrations. Names sort in the order they must run; each domain owns a
 * range of numbers (001-009 nodes, 010-019 accounts, 020-029 mail/web/dns, 030-039 jobs,
 * 040-049 system data, 050 distribution, 060 databases, 070 transfers, 080-089 certificates, 090-099 notifications and metrics).
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as nodes from './migrations/001-nodes.ts';
import * as auth from './migrations/002-auth.ts';
import * as accounts from './migrations/010-accounts.ts';
import * as passwordPolicies from './migrations/011-password-policies.ts';
import * as dns from './migrations/020-dns.ts';
import * as mail from './migrations/025-mail.ts';
import * as webSites from './migrations/027-web-sites.ts';
import * as jobs from './migrations/030-jobs.ts';
import * as sysdata from './migrations/040-sysdata.ts';
import * as distribution from './migrations/050-distribution.ts';
import * as databases from './migrations/060-databases.ts';
import * as transfers from './migrations/070-transfers.ts';
import * as transferForwards from './migrations/071-transfer-forwards.ts';
import * as transferWebProxy from './migrations/075-transfer-web-proxy.ts';
import * as certificates from './migrations/080-certificates.ts';
import * as panelCertificate from './migrations/081-panel-certificate.ts';
import * as healing from './migrations/090-healing.ts';

const MIGRATIONS: Record<string, Migration> = {
  '001-nodes': nodes,
  '002-auth': auth,
  '010-accounts': accounts,
  '011-password-policies': passwordPolicies,
  '020-dns': dns,
  '025-mail': mail,
  '027-web-sites': webSites,
  '030-jobs': jobs,
  '040-sysdata': sysdata,
  '050-distribution': distribution,
  '060-databases': databases,
  '070-transfers': transfers,
  '071-transfer-forwards': transferForwards,
  '075-transfer-web-proxy': transferWebProxy,
  '080-certificates': certificates,
  '081-panel-certificate': panelCertificate,
  '090-healing': healing,
};

class ListedMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

// Domains own number ranges and land in any order, so a store that already ran a higher number
// must still accept a lower one added later.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: new ListedMigrations(), allowUnorderedMigrations: true }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`store migration ${failed?.migrationName ?? '?'} failed: ${String(error)}`);
  }
}
