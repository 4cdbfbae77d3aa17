import { writeFileSync } from 'node:fs';
import { defineConfig, type Plugin } from 'vite';

// dist/ is embedded by embed.go; its .gitkeep lets the Go package compile
// before the first build, so every build puts it back.
const keepGitkeep: Plugin = {
  name: 'vigil-keep-gitkeep',
  apply: 'build',
  closeBundle() {
    writeFileSync(new URL('./dist/.gitkeep', import.meta.url), '');
  },
};

// The UI is embedded into the vigil binary (see embed.go) and served from "/".
// Everything is bundled: no fonts, scripts or styles are loaded from elsewhere.
export default defineConfig({
  base: '/',
  plugins: [keepGitkeep],
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run dev` talks to a vigil server on :8080 (override with VIGIL_URL).
    proxy: Object.fromEntries(
      ['/api', '/select', '/healthz', '/readyz'].map((p) => [
        p,
        { target: process.env.VIGIL_URL ?? 'http://127.0.0.1:8080', changeOrigin: false },
      ]),
    ),
  },
});
