// The playground's build: a static site in build/web that works offline (no CDN). The dev and
// preview servers send COOP/COEP, so that the page is cross-origin isolated and the library's
// WebAssembly kernels run on a pool of Web Workers (SharedArrayBuffer).
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: here('.'),
  base: './',
  // the library as users get it: its built public API
  resolve: { alias: { recurrent: here('../dist/index.js') } },
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: { format: 'es' },
  build: { outDir: here('../build/web'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2048 },
});
