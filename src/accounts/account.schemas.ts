/** What the account, plan and reseller routes answer, for the OpenAPI document and the panel's types. */
import { Type } from '@sinclair/typebox';
import { WORKLOADS } from './account.model.ts';

export const AccountViewSchema = Type.Object({
  username: Type.String(),
  domain: Type.String(),
  plan: Type.String(),
  owner: Type.String(),
  ipv6: Type.Boolean(),
  suspended: Type.Boolean(),
  reseller: Type.Boolean(),
  mailNode: Type.Union([Type.String(), Type.Null()]),
  placements: Type.Array(Type.Object({ workload: Type.Union(WORKLOADS.map((w) => Type.Literal(w))), node: Type.String() })),
  createdAt: Type.String(),
});

/** A plan as listed: its quotas and how many accounts use it. */
export const PlanViewSchema = Type.Object({
  name: Type.String(),
  diskMb: Type.Integer(),
  mailboxes: Type.Integer(),
  domains: Type.Integer(),
  isDefault: Type.Boolean(),
  accounts: Type.Integer(),
});

export const ResellerViewSchema = Type.Object({
  username: Type.String(),
  maxAccounts: Type.Union([Type.Integer(), Type.Null()]),
  accounts: Type.Integer(),
  grantedAt: Type.String(),
});

/** What terminating an account removed, workload by workload. */
export const TerminationReportSchema = Type.Object({
  username: Type.String(),
  removed: Type.Array(Type.Object({ workload: Type.Union(WORKLOADS.map((w) => Type.Literal(w))), node: Type.String() })),
});

export const ResellerWithdrawnSchema = Type.Object({ username: Type.String(), reseller: Type.Literal(false) });
