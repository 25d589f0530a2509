import type { Command } from 'commander';
import { join } from 'node:path';
import { request } from 'undici';
import { LocalCluster, type ClusterSpec } from '../../demo/local-cluster.ts';
import { REPO_ROOT } from '../../demo/processes.ts';
import { seedSampleData } from '../../demo/sample-data.ts';
import { saveContext, table, type Cli } from '../cli-io.ts';
import { run } from '../../core/exec.ts';
import type { NodeView } from '../../nodes/node.model.ts';

/**
 * The demo cluster: a parent on 127.0.10.1 (with the database role too), two mail children on .2
 * and .3, a database child on .4; and a second pair, parent2 on 127.0.20.1 with the mail child
 * mail3 on .2, to transfer accounts (and re-parent children) to.
 */
export function demoSpec(): ClusterSpec {
  return {
    dir: process.env.FLEETPANEL_DEMO_DIR ?? join(REPO_ROOT, '.cluster'),
    parentAddress: '127.0.10.1',
    parentRoles: ['mail', 'web', 'dns', 'database'],
    parentAlias: 'parent',
    healthIntervalMs: 5000,
    // Account certificates from Debian's pebble, validated over DNS-01 by the parent's PowerDNS.
    acme: true,
    children: [
      { alias: 'mail1', address: '127.0.10.2', roles: ['mail'], link: 'token' },
      { alias: 'mail2', address: '127.0.10.3', roles: ['mail'], link: 'ssh' },
      { alias: 'db1', address: '127.0.10.4', roles: ['database'], link: 'token' },
    ],
    secondPair: { parentAddress: '127.0.20.1', parentAlias: 'parent2', children: [{ alias: 'mail3', address: '127.0.20.2', roles: ['mail'], link: 'token' }] },
  };
}

export function registerDemoCommands(program: Command, cli: Cli): void {
  const demo = program.command('demo').description('a working local cluster on loopback addresses');

  demo
    .command('up')
    .description('install what is missing, start the parent, two mail children and a database child, link them, add sample data')
    .action(async () => {
      const progress = (line: string): void => void process.stderr.write(`demo: ${line}\n`);
      progress('checking Debian and npm packages (scripts/setup.sh)');
      await run('bash', [join(REPO_ROOT, 'scripts', 'setup.sh')], { timeoutMs: 1_800_000 });
      const cluster = new LocalCluster(demoSpec());
      const info = await cluster.up(progress);
      saveContext({ url: info.url, token: info.token });
      const samples = await seedSampleData(cluster, info.token, progress);
      cli.print(
        {
          url: info.url,
          username: info.username,
          password: info.password,
          nodes: info.nodes.map((n) => ({ alias: n.alias, address: n.address })),
          secondPair: info.second ? { url: info.second.url, password: info.second.password, nodes: info.second.nodes.map((n) => ({ alias: n.alias, address: n.address })) } : null,
          sampleAccounts: samples,
        },
        () =>
          [
            `Fleetpanel is running.`,
            `  API and web UI: ${info.url}`,
            `  API document:   ${info.url}/api/openapi.json`,
            `  admin login:    ${info.username} / ${info.password}`,
            `  nodes:          ${info.nodes.map((n) => `${n.alias} ${n.address}`).join(', ')}`,
            ...(info.second
              ? [`  second pair:    ${info.second.url} (admin / ${info.second.password}), nodes ${info.second.nodes.map((n) => `${n.alias} ${n.address}`).join(', ')}: a target for account transfer`]
              : []),
            `  sample accounts (panel and mailbox share the password):`,
            ...samples.map((s) => `    ${s.account} / ${s.password}  ${s.domain}, mailbox ${s.mailbox}, mail on ${s.mailNode}`),
            `The CLI is logged in: try ./fleetpanel node list, ./fleetpanel account list`,
            `Mail: swaks --server ${info.parentAddress}:25 --to ${samples[0]?.mailbox ?? 'info@alice.example'}; read it over IMAP/POP3 at ${info.parentAddress}`,
          ].join('\n'),
      );
    });

  demo
    .command('status')
    .description("the parent's URL and each node's state")
    .action(async () => {
      const cluster = new LocalCluster(demoSpec());
      const info = cluster.info();
      let nodes: NodeView[] = [];
      let parentUp = false;
      if (info) {
        try {
          const response = await request(`${info.url}/api/nodes`, { headers: { authorization: `Bearer ${info.token}` } });
          if (response.statusCode === 200) {
            nodes = ((await response.body.json()) as { nodes: NodeView[] }).nodes;
            parentUp = true;
          } else await response.body.dump();
        } catch {
          parentUp = false;
        }
      }
      const result = { running: parentUp, url: info?.url ?? null, nodes: nodes.map((n) => ({ alias: n.alias, host: n.host, status: n.status, roles: n.roles })) };
      cli.print(result, (r: typeof result) =>
        r.running ? `parent: ${r.url}\n` + table(['ALIAS', 'HOST', 'ROLES', 'STATUS'], r.nodes.map((n) => [n.alias, n.host, n.roles.join(','), n.status])) : 'the demo cluster is not running',
      );
    });

  demo
    .command('down')
    .description('stop every process the demo started')
    .action(async () => {
      await new LocalCluster(demoSpec()).down();
      cli.print({ stopped: true }, () => 'the demo cluster is stopped');
    });
}
