/**
 * The agent as it travels to a node: src/node-agent/agent.main.ts (its runAgentMain) and everything it imports in one
 * .mjs file, so the node needs no node_modules, no npm and no internet access; the Node binary
 * the parent runs on goes with it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../core/version.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const AGENT_ENTRY = join(REPO_ROOT, 'src', 'node-agent', 'agent.main.ts');

export interface AgentBundle {
  path: string;
  sha256: string;
  version: string;
}

/** Builds the bundle into `outFile` (esbuild takes about a second) and returns its digest. */
export async function buildAgentBundle(outFile: string): Promise<AgentBundle> {
  const esbuild = await import('esbuild');
  mkdirSync(dirname(outFile), { recursive: true });
  await esbuild.build({
    // agent.main.ts starts nothing when imported (the CLI reads its module list); the bundle calls it.
    stdin: { contents: `import { runAgentMain } from ${JSON.stringify(AGENT_ENTRY)};\nrunAgentMain();\n`, resolveDir: dirname(AGENT_ENTRY), sourcefile: 'fleetpanel-agent.ts', loader: 'ts' },
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    legalComments: 'none',
    // CommonJS dependencies call require() for Node's built-ins, which an ES module lacks.
    banner: { js: "import { createRequire as __fpCreateRequire } from 'node:module'; const require = __fpCreateRequire(import.meta.url);" },
    plugins: [
      {
        // version.ts reads package.json beside the sources; a node has no sources, so the
        // version is written into the bundle instead.
        name: 'fleetpanel-version',
        setup(build) {
          build.onLoad({ filter: /[\\/]core[\\/]version\.ts$/ }, () => ({ contents: `export const VERSION = ${JSON.stringify(VERSION)};`, loader: 'ts' }));
        },
      },
    ],
  });
  return { path: outFile, sha256: createHash('sha256').update(readFileSync(outFile)).digest('hex'), version: VERSION };
}

// `node --import tsx src/nodes/agent-bundle.ts <out.mjs>` (scripts/bundle-agent.sh)
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? join(REPO_ROOT, 'dist', 'fleetpanel-agent.mjs');
  const bundle = await buildAgentBundle(out);
  console.log(`${bundle.path} sha256:${bundle.sha256} version ${bundle.version}`);
}
