/**
 * A real local cluster for end-to-end tests: a parent with its own node on <block>.1 and the
 * children on <block>.2, .3, …, in a fresh temporary folder, with a short health-check interval.
 * Teardown stops every process by the PID the cluster recorded and removes the folder, so a test
 * file can run again at once. Each test file takes its own address block.
 *
 *   const fixture = useTestCluster({ block: '127.0.30', children: [{ alias: 'mail1', roles: ['mail'], link: 'token' }] });
 *   test('…', async () => { fixture.info.url; await fixture.cli(['node', 'list', '--json']); });
 */
import { after, before } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, type ChildSpec, type ClusterInfo } from '../../src/demo/local-cluster.ts';
import { REPO_ROOT } from '../../src/demo/processes.ts';
import { removeNodeUsers } from '../../src/php/system-users.ts';
import type { Role } from '../../src/protocol/roles.ts';

export interface TestClusterOptions {
  /** the first three octets of the cluster's addresses, e.g. '127.0.30' */
  block: string;
  children?: Omit<ChildSpec, 'address'>[];
  /** the parent's name and its own node's alias (default 'parent') */
  parentAlias?: string;
  healthIntervalMs?: number;
  /** postgres://… to run the parent on PostgreSQL (default: SQLite in the cluster folder) */
  database?: string;
  /** roles of the parent's own node (default mail, web and DNS) */
  parentRoles?: Role[];
  /** order account certificates from a pebble started beside the parent */
  acme?: boolean;
  /** a second parent/child pair (its own parent on <block>.1, children on .2, …) for transfers between pairs */
  second?: { block: string; parentAlias?: string; parentRoles?: Role[]; children?: Omit<ChildSpec, 'address'>[] };
  /** lifetime of the certificates that pebble issues, in seconds */
  acmeCertificateValiditySeconds?: number;
}

/** One parent/child pair of a test cluster: the first, or the second when the options ask for one. */
export interface TestPair {
  cluster: LocalCluster;
  info: ClusterInfo;
  /** address of the node with this alias */
  address(alias: string): string;
  /** runs ./fleetpanel as a subprocess logged in to this pair's parent */
  cli(args: string[], input?: string): Promise<CliResult>;
}

export interface TestCluster {
  cluster: LocalCluster;
  info: ClusterInfo;
  dir: string;
  /** address of the node with this alias */
  address(alias: string): string;
  /** runs ./fleetpanel as a subprocess logged in to this cluster's parent */
  cli(args: string[], input?: string): Promise<CliResult>;
  /** the second pair (throws when the options asked for none) */
  readonly second: TestPair;
  teardown(): Promise<void>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function clusterSpecFor(options: TestClusterOptions, dir: string): ConstructorParameters<typeof LocalCluster>[0] {
  return {
    dir,
    parentAddress: `${options.block}.1`,
    parentAlias: options.parentAlias ?? 'parent',
    healthIntervalMs: options.healthIntervalMs ?? 1000,
    database: options.database,
    ...(options.parentRoles ? { parentRoles: options.parentRoles } : {}),
    acme: options.acme,
    acmeCertificateValiditySeconds: options.acmeCertificateValiditySeconds,
    children: (options.children ?? []).map((child, index) => ({ ...child, address: `${options.block}.${index + 2}` })),
    ...(options.second
      ? {
          secondPair: {
            parentAddress: `${options.second.block}.1`,
            parentAlias: options.second.parentAlias ?? 'parent2',
            ...(options.second.parentRoles ? { parentRoles: options.second.parentRoles } : {}),
            children: (options.second.children ?? []).map((child, index) => ({ ...child, address: `${options.second!.block}.${index + 2}` })),
          },
        }
      : {}),
  };
}

function pairOf(cluster: LocalCluster, info: ClusterInfo): TestPair {
  const addresses = new Map(info.nodes.map((n) => [n.alias, n.address] as const));
  return {
    cluster,
    info,
    address(alias) {
      const found = addresses.get(alias);
      if (!found) throw new Error(`no node '${alias}' in this pair`);
      return found;
    },
    cli: (args, input) => runCli(info.url, info.token, args, input),
  };
}

/** Runs `./fleetpanel args…` against a parent, as a person's shell would. */
export interface ApiResult<T> {
  status: number;
  body: T & { message?: string; field?: string; error?: string };
}

/** One call of the parent's API as a client sees it: status and parsed body, never a throw. */
export async function callApi<T = Record<string, unknown>>(url: string, method: string, path: string, body: unknown, token: string): Promise<ApiResult<T>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as ApiResult<T>['body'] };
}

export function runCli(url: string, token: string, args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      join(REPO_ROOT, 'fleetpanel'),
      args,
      { env: { ...process.env, FLEETPANEL_URL: url, FLEETPANEL_TOKEN: token, FLEETPANEL_CONTEXT: '/nonexistent/context.json' }, timeout: 600_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

/** Starts a cluster now; the caller owns teardown(). */
export async function startTestCluster(options: TestClusterOptions): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), `fleetpanel-e2e-${options.block.replace(/\./g, '-')}-`));
  const spec = clusterSpecFor(options, dir);
  const cluster = new LocalCluster(spec);
  const teardown = async (): Promise<void> => {
    await cluster.down();
    // The system users the nodes made for their accounts' PHP (named after each node's root).
    for (const node of [spec.parentAlias ?? 'parent', ...spec.children.map((c) => c.alias)]) await removeNodeUsers(cluster.nodeRoot(node));
    const second = cluster.second;
    if (second) for (const node of [second.parentAlias, ...second.spec.children.map((c) => c.alias)]) await removeNodeUsers(second.nodeRoot(node));
    if (!process.env.FLEETPANEL_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
  };
  let info: ClusterInfo;
  try {
    info = await cluster.up();
  } catch (error) {
    // Keep the logs of a cluster that did not come up: they are the only way to see why.
    await cluster.down();
    throw new Error(`${(error as Error).message} (logs in ${join(dir, 'logs')})`);
  }
  const addresses = new Map([[spec.parentAlias ?? 'parent', spec.parentAddress], ...spec.children.map((c) => [c.alias, c.address] as const)]);
  return {
    cluster,
    info,
    dir,
    address(alias) {
      const found = addresses.get(alias);
      if (!found) throw new Error(`no node '${alias}' in this cluster`);
      return found;
    },
    cli: (args, input) => runCli(info.url, info.token, args, input),
    get second() {
      if (!cluster.second || !info.second) throw new Error('this test cluster has no second pair (option `second`)');
      return pairOf(cluster.second, info.second);
    },
    teardown,
  };
}

/**
 * Starts the cluster in a before() hook of the surrounding suite and stops it in after(). The
 * returned object's members are usable from the tests on.
 */
export function useTestCluster(options: TestClusterOptions): TestCluster {
  let started: TestCluster | undefined;
  const need = (): TestCluster => {
    if (!started) throw new Error('the test cluster is not started (use it inside tests, after before() ran)');
    return started;
  };
  before(async () => {
    started = await startTestCluster(options);
  });
  after(async () => {
    await started?.teardown();
  });
  return {
    get cluster() {
      return need().cluster;
    },
    get info() {
      return need().info;
    },
    get dir() {
      return need().dir;
    },
    address: (alias) => need().address(alias),
    cli: (args, input) => need().cli(args, input),
    get second() {
      return need().second;
    },
    teardown: async () => started?.teardown(),
  };
}
