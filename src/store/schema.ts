/**
 * The tables of the parent's store. Each domain declares its own tables beside its migration;
 * this interface is their union, which is what Kysely type-checks queries against.
 */
import type { NodesTables } from './migrations/001-nodes.ts';
import type { AuthTables } from './migrations/002-auth.ts';
import type { AccountsTables } from './migrations/010-accounts.ts';
import type { PasswordPolicyTables } from './migrations/011-password-policies.ts';
import type { DnsTables } from './migrations/020-dns.ts';
import type { MailTables } from './migrations/025-mail.ts';
import type { WebSitesTables } from './migrations/027-web-sites.ts';
import type { JobsTables } from './migrations/030-jobs.ts';
import type { SysdataTables } from './migrations/040-sysdata.ts';
import type { DistributionTables } from './migrations/050-distribution.ts';
import type { DatabasesTables } from './migrations/060-databases.ts';
import type { TransfersTables } from './migrations/070-transfers.ts';
import type { TransferForwardsTables } from './migrations/071-transfer-forwards.ts';
import type { TransferWebProxyTables } from './migrations/075-transfer-web-proxy.ts';
import type { CertificatesTables } from './migrations/080-certificates.ts';
import type { PanelCertificateTables } from './migrations/081-panel-certificate.ts';

import type { HealingTables } from './migrations/090-healing.ts';

export type Database = NodesTables & AuthTables & AccountsTables & PasswordPolicyTables & DnsTables & MailTables & WebSitesTables & JobsTables & SysdataTables & DistributionTables & DatabasesTables & TransfersTables & TransferForwardsTables & TransferWebProxyTables & CertificatesTables & PanelCertificateTables & HealingTables;
