// Compiles the CLI (which also runs the parent and the agent) from src/ into plain JavaScript, so
// no command pays for compiling TypeScript at start. Run by scripts/setup.sh and by ./fleetpanel
// whenever a file under src/ is newer than the build (the launcher holds dist/.build.lock, so two
// concurrent starts build once).
//
// Layout: every build goes to its own folder dist/cli-<time>-<pid>/ and the symlink dist/cli is
// switched to it in one rename. A process that started from an older build keeps loading its own
// lazily imported chunks from its own folder; folders no longer current are removed after a day.
//
// Plain JavaScript on purpose: it must run before anything is compiled.
import * as esbuild from 'esbuild';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const stamp = join(dist, '.built');
const INLINED_PACKAGES = new Set(['commander']);
const OLD_BUILD_MS = 24 * 3600 * 1000;

mkdirSync(dist, { recursive: true });
// The stamp's time is taken before reading src/, so a file saved while this build runs is newer
// than the stamp and the next start builds again.
const nextStamp = join(dist, `.built.${process.pid}`);
closeSync(openSync(nextStamp, 'w'));

const name = `cli-${Date.now()}-${process.pid}`;
const outdir = join(dist, name);
const srcDir = join(root, 'src');

await esbuild.build({
  entryPoints: [join(srcDir, 'cli', 'main.ts')],
  outdir,
  bundle: true,
  // one file per lazily imported command group: a command loads only what it runs
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'error',
  legalComments: 'none',
  // Sources find files beside themselves (package.json, index.html, the agent entry) through
  // import.meta.url. Each module gets back the URL of its own source file, so those paths mean
  // the same compiled as under tsx. The output folder is two levels below the repository.
  // Inlined CommonJS packages call require() for Node's built-ins, which an ES module lacks.
  banner: {
    js: [
      'const __fpRepoRoot = new URL("../../", import.meta.url);',
      'import { createRequire as __fpCreateRequire } from "node:module";',
      'const require = __fpCreateRequire(import.meta.url);',
    ].join(' '),
  },
  define: { 'import.meta.url': '__fpSourceUrl' },
  plugins: [
    {
      // npm packages are loaded from node_modules as they are (native modules included), except
      // the few every command loads, which start faster compiled into the build.
      name: 'fleetpanel-packages',
      setup(build) {
        build.onResolve({ filter: /^[^./]/ }, (args) => {
          const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
          return INLINED_PACKAGES.has(name) ? undefined : { path: args.path, external: true };
        });
      },
    },
    {
      name: 'fleetpanel-source-url',
      setup(build) {
        build.onLoad({ filter: /\.ts$/ }, (args) => {
          if (!args.path.startsWith(srcDir)) return undefined;
          const fromRoot = relative(root, args.path).split('\\').join('/');
          const prelude = `const __fpSourceUrl = new URL(${JSON.stringify(fromRoot)}, __fpRepoRoot).href;\n`;
          return { contents: prelude + readFileSync(args.path, 'utf8'), loader: 'ts' };
        });
      },
    },
  ],
});

const link = join(dist, 'cli');
const nextLink = join(dist, `.cli.${process.pid}`);
rmSync(nextLink, { force: true });
symlinkSync(name, nextLink);
const current = lstatSync(link, { throwIfNoEntry: false });
if (current && !current.isSymbolicLink()) rmSync(link, { recursive: true, force: true });
renameSync(nextLink, link);
renameSync(nextStamp, stamp);

for (const entry of readdirSync(dist)) {
  if (!entry.startsWith('cli-') || entry === name) continue;
  const folder = join(dist, entry);
  if (Date.now() - statSync(folder).mtimeMs > OLD_BUILD_MS) rmSync(folder, { recursive: true, force: true });
}
// The launcher builds silently: a command's output (one line of reason on failure) stays its own.
if (!process.argv.includes('--quiet')) console.error(`fleetpanel: built ${relative(root, outdir)}`);
