/**
 * The browser panel's build. The output goes to ui/dist (git-ignored), which the parent serves at
 * `/`; setup.sh rebuilds it when a source is newer than the build. The build prints the gzipped
 * JavaScript of the first page and fails when it passes FIRST_PAGE_BUDGET. Every script and style
 * also gets .br and .gz copies, which the parent sends to a browser that accepts them.
 */
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import preact from '@preact/preset-vite';

const FIRST_PAGE_BUDGET = 150 * 1024;

/** Sums the gzipped size of every script the first page loads (its entry and their static imports). */
function firstPageBudget(): Plugin {
  return {
    name: 'fleetpanel-first-page-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      const chunks = new Map(Object.values(bundle).flatMap((item) => (item.type === 'chunk' ? [[item.fileName, item] as const] : [])));
      const loaded = new Set<string>();
      const visit = (name: string): void => {
        const chunk = chunks.get(name);
        if (!chunk || loaded.has(name)) return;
        loaded.add(name);
        chunk.imports.forEach(visit);
      };
      for (const chunk of chunks.values()) if (chunk.isEntry) visit(chunk.fileName);
      const bytes = [...loaded].reduce((sum, name) => sum + gzipSync(chunks.get(name)!.code).length, 0);
      const line = `first page JavaScript: ${(bytes / 1024).toFixed(1)} kB gzipped (budget ${FIRST_PAGE_BUDGET / 1024} kB) in ${loaded.size} file(s)`;
      if (bytes > FIRST_PAGE_BUDGET) this.error(line);
      this.info(line);
    },
  };
}

/** Compressed once at build time, at the best level, instead of on every request. */
function precompressed(): Plugin {
  return {
    name: 'fleetpanel-precompressed',
    apply: 'build',
    generateBundle(_options, bundle) {
      for (const item of Object.values(bundle)) {
        if (!/\.(js|css)$/.test(item.fileName)) continue;
        const source = item.type === 'chunk' ? item.code : item.source;
        this.emitFile({ type: 'asset', fileName: `${item.fileName}.gz`, source: gzipSync(source, { level: 9 }) });
        this.emitFile({ type: 'asset', fileName: `${item.fileName}.br`, source: brotliCompressSync(source) });
      }
    },
  };
}

export default defineConfig({
  plugins: [preact({ prerender: { enabled: false } }), firstPageBudget(), precompressed()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    reportCompressedSize: true,
  },
});
