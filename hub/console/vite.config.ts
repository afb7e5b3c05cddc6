// Builds the web console into dist/console (run from the repository root as
// `vite build hub/console`, which makes this folder Vite's root).
// Vite's own transformer compiles TSX for Preact's automatic JSX runtime; the one plugin only checks sizes.
import { defineConfig, loadEnv, type Plugin } from 'vite'

/** What the first load may weigh (minified); the terminal's chunk (xterm.js, about 330 kB) loads only when a terminal opens. */
const ENTRY_LIMIT_BYTES = 200 * 1024
const LAZY_LIMIT_BYTES = 400 * 1024

/** Vite's size warning has one limit for every chunk; this keeps the first load's tighter. */
function entrySizeLimit(): Plugin {
  return {
    name: 'shoal-entry-size',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === 'chunk' && chunk.isEntry && chunk.code.length > ENTRY_LIMIT_BYTES)
          this.warn(
            `${chunk.fileName} is ${Math.round(chunk.code.length / 1024)} kB, past the first load's ${ENTRY_LIMIT_BYTES / 1024} kB: load the new part lazily`,
          )
      }
    },
  }
}

export default defineConfig(({ mode }) => {
  // `npm run dev:console` proxies the API to a running hub (SHOAL_HUB, default 127.0.0.1:8080).
  const hub = loadEnv(mode, '.', 'SHOAL_').SHOAL_HUB ?? 'http://127.0.0.1:8080'
  return {
    base: '/',
    plugins: [entrySizeLimit()],
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: {
      outDir: '../../dist/console',
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: true,
      // Everything is bundled: the console loads nothing from outside the hub (air-gapped sites).
      assetsInlineLimit: 0,
      chunkSizeWarningLimit: LAZY_LIMIT_BYTES / 1024,
    },
    server: { proxy: { '/api': { target: hub, changeOrigin: false } } },
  }
})
