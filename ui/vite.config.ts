/**
 * The browser panel's build. The output goes to ui/dist (git-ignored), which the parent serves at
 * `/`; setup.sh rebuilds it when a source is newer than the build.
 */
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  plugins: [preact({ prerender: { enabled: false } })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The parent serves these under /assets/ with a long cache: the names carry a content hash.
    assetsDir: 'assets',
    reportCompressedSize: true,
  },
});
