/**
 * An in-process parent on a 127.0.32.x address with a temporary data folder and no agents: node
 * rows are written straight into its store as ready, and workload services are recording fakes,
 * so account rules are tested without daemons.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startParent, type RunningParent } from '../../src/parent/parent.server.ts';
import { NodesRepository } from '../../src/nodes/nodes.repository.ts';
import type { Role } from '../../src/protocol/roles.ts';
import type { WorkloadService } from '../../src/accounts/workload.ts';
import type { AccountRecord, Workload } from '../../src/accounts/account.model.ts';
import type { NodeRow } from '../../src/nodes/nodes.repository.ts';
import { TEST_NET } from '../test-net.ts';

export const ADMIN_PASSWORD = 'admin-quartz-lantern-meadow-42';
/** Strong enough for the default policy (zxcvbn 3). */
export const STRONG = 'violet-tugboat-marmalade-91';
export const WEAK = 'password1';

export interface ApiResult<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export interface TestParent {
  parent: RunningParent;
  url: string;
  adminToken: string;
  api<T = Record<string, unknown>>(method: string, path: string, token?: string, body?: unknown): Promise<ApiResult<T>>;
  login(username: string, password: string): Promise<string>;
  addNode(alias: string, roles: Role[], options?: { local?: boolean; status?: string }): Promise<NodeRow>;
  stop(): Promise<void>;
}

export async function startTestParent(host: string): Promise<TestParent> {
  if (!host.startsWith(`${TEST_NET}.32.`)) throw new Error(`account tests use ${TEST_NET}.32.x only`);
  const dataDir = mkdtempSync(join(tmpdir(), 'fp-accounts-'));
  const parent = await startParent({ dataDir, host, port: 0, adminPassword: ADMIN_PASSWORD, healthIntervalMs: 3_600_000 });
  // No agents here: keep the health loop from marking the hand-written nodes offline.
  parent.services.nodes.stop();
  const url = `http://${host}:${(parent.app.server.address() as AddressInfo).port}`;
  const api = async <T,>(method: string, path: string, token?: string, body?: unknown): Promise<ApiResult<T>> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
  };
  const login = async (username: string, password: string): Promise<string> => {
    const result = await api<{ token: string; message?: string }>('POST', '/api/session', undefined, { username, password });
    if (result.status !== 201) throw new Error(`login of ${username} failed: ${result.status} ${result.body.message}`);
    return result.body.token;
  };
  const nodes = new NodesRepository(parent.services.db);
  const addNode = async (alias: string, roles: Role[], options: { local?: boolean; status?: string } = {}): Promise<NodeRow> => {
    const row = await nodes.insert({
      alias,
      host: host,
      agentPort: 7000 + Math.floor(Math.random() * 1000),
      profile: options.local ? 'STANDARD' : roles.length === 1 ? (roles[0]!.toUpperCase() as 'MAIL') : 'STANDARD',
      roles,
      status: (options.status ?? 'ready') as 'ready',
      isLocal: options.local ?? false,
      fingerprint: null,
      tlsVerified: false,
      agentVersion: null,
    });
    return row;
  };
  return {
    parent,
    url,
    adminToken: await login('admin', ADMIN_PASSWORD),
    api,
    login,
    addNode,
    async stop() {
      await parent.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface WorkloadCall {
  op: 'provision' | 'suspend' | 'unsuspend' | 'deprovision' | 'update';
  workload: Workload;
  account: string;
  node: string;
}

/** A workload service that records every call and fails on demand. */
export class RecordingWorkload implements WorkloadService {
  readonly calls: WorkloadCall[] = [];
  /** the next call of this operation throws, once */
  failNext: WorkloadCall['op'] | null = null;
  lastAccount: AccountRecord | null = null;

  /** `journal` is shared between services, to see the order of calls across workloads. */
  constructor(
    readonly workload: Workload,
    private readonly journal: WorkloadCall[] = [],
  ) {}

  private record(op: WorkloadCall['op'], account: AccountRecord, node: NodeRow): void {
    this.lastAccount = account;
    if (this.failNext === op) {
      this.failNext = null;
      throw new Error(`${this.workload} agent refused ${op}`);
    }
    const call = { op, workload: this.workload, account: account.username, node: node.alias };
    this.calls.push(call);
    this.journal.push(call);
  }
  async provision(account: AccountRecord, node: NodeRow): Promise<void> {
    this.record('provision', account, node);
  }
  async suspend(account: AccountRecord, node: NodeRow, suspended: boolean): Promise<void> {
    this.record(suspended ? 'suspend' : 'unsuspend', account, node);
  }
  async deprovision(account: AccountRecord, node: NodeRow): Promise<void> {
    this.record('deprovision', account, node);
  }
  async update(account: AccountRecord, node: NodeRow): Promise<void> {
    this.record('update', account, node);
  }
}
