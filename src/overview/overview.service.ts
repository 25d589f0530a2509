/**
 * The administrator's dashboard in one answer: the nodes with their status and health, the jobs
 * under way, the system data a node is out of sync with, and how many accounts there are. One
 * request instead of four (and counts instead of every account) is what lets the dashboard paint
 * in one round trip after the login.
 */
import type { NodeView } from '../nodes/node.model.ts';
import type { JobState, JobView } from '../jobs/index.ts';
import type { TypeSyncStatus } from '../sysdata/sysdata.service.ts';
import type { AccountView } from '../accounts/account.model.ts';

/** What the dashboard lists as under way: not yet settled, or settled badly and waiting for the admin. */
const UNDER_WAY: ReadonlySet<JobState> = new Set<JobState>(['queued', 'running', 'rolling_back', 'held', 'failed']);
/** The jobs looked at: the most recent ones, as the jobs page lists them first. */
const RECENT_JOBS = 50;

export interface OverviewSources {
  nodes(): Promise<NodeView[]>;
  recentJobs(limit: number): Promise<JobView[]>;
  sysdataStatus(): Promise<TypeSyncStatus[]>;
  accounts(): Promise<Pick<AccountView, 'suspended'>[]>;
}

export interface Desync {
  type: TypeSyncStatus['type'];
  node: string;
  since: string | null;
  reason: string | null;
}

export interface Overview {
  nodes: NodeView[];
  jobsUnderWay: JobView[];
  desyncs: Desync[];
  accounts: { total: number; suspended: number };
}

export class OverviewService {
  constructor(private readonly sources: OverviewSources) {}

  async overview(): Promise<Overview> {
    const [nodes, jobs, types, accounts] = await Promise.all([this.sources.nodes(), this.sources.recentJobs(RECENT_JOBS), this.sources.sysdataStatus(), this.sources.accounts()]);
    return {
      nodes,
      jobsUnderWay: jobs.filter((job) => UNDER_WAY.has(job.state)),
      desyncs: types.flatMap((type) => type.nodes.filter((node) => !node.inSync).map((node) => ({ type: type.type, node: node.node, since: node.since, reason: node.reason }))),
      accounts: { total: accounts.length, suspended: accounts.filter((account) => account.suspended).length },
    };
  }
}
