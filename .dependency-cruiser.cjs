/**
 * The import structure of src/, checked in the lint step (`npm run lint:structure`, scripts/test.sh).
 * See src/README.md for what each folder holds.
 */

// Folders that are not domains: the parent and the agent are built on them, and they know no domain.
const BASE = ['core', 'store', 'transport', 'protocol'];

// Workloads: what a node runs or what moves an account's data between nodes. One workload uses
// another only through the files listed here for it (the interface that other workload declares);
// any other import across them fails the check. A new workload folder is added to this table.
const WORKLOAD_INTERFACES = {
  mail: [],
  web: ['php/php-pools.driver.ts', 'php/php-settings.ts', 'php/system-users.ts'],
  dns: [],
  webmail: ['mail/mail-state-pusher.ts', 'mail/mail.agent-module.ts', 'web/web.service.ts', 'web/nginx.driver.ts', 'php/system-users.ts', 'php/php-fpm-config.ts'],
  php: [],
  databases: [],
  apps: ['databases/databases.service.ts', 'databases/database-names.ts', 'php/php-pools.driver.ts'],
  certificates: ['dns/dns.service.ts', 'php/system-users.ts'],
  sysdata: [],
  distribution: ['mail/mail-agents.ts', 'mail/mail-state-pusher.ts', 'mail/mail.repository.ts', 'dns/dns.service.ts'],
  transfers: ['mail/mail-agents.ts', 'mail/mail-state-pusher.ts', 'web/web.service.ts', 'distribution/distribution-rules.ts', 'distribution/test-points.ts'],
};
const WORKLOADS = Object.keys(WORKLOAD_INTERFACES);

const escape = (path) => path.replace(/[.]/g, '\\.');
const anyOf = (names) => `(${names.join('|')})`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-file-cycle',
      severity: 'error',
      comment: 'No file imports itself through others.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment: 'No folder under src/ imports itself through other folders.',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'base-imports-no-domain',
      severity: 'error',
      comment: `src/${anyOf(BASE)} are what the domains are built on: they import no domain folder.`,
      from: { path: `^src/${anyOf(BASE)}/` },
      to: { path: '^src/', pathNot: `^src/${anyOf(BASE)}/` },
    },
    ...WORKLOADS.map((workload) => ({
      name: `workload-${workload}-through-interfaces`,
      severity: 'error',
      comment: `src/${workload} imports another workload folder only through the files listed for it in .dependency-cruiser.cjs.`,
      from: { path: `^src/${workload}/` },
      to: {
        path: `^src/${anyOf(WORKLOADS.filter((other) => other !== workload))}/`,
        ...(WORKLOAD_INTERFACES[workload].length > 0
          ? { pathNot: `^src/${anyOf(WORKLOAD_INTERFACES[workload].map(escape))}$` }
          : {}),
      },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
