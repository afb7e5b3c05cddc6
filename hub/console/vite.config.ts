// Builds the web console into dist/console (run from the repository root as
// `vite build hub/console`, which makes this folder Vite's root).
// No plugin: Vite's own transformer compiles TSX for Preact's automatic JSX runtime.
import { defineConfig, loadEnv } from 'vite'

export default defineConfig(({ mode }) => {
  // `npm run dev:console` proxies the API to a running hub (SHOAL_HUB, default 127.0.0.1:8080).
  const hub = loadEnv(mode, '.', 'SHOAL_').SHOAL_HUB ?? 'http://127.0.0.1:8080'
  return {
    base: '/',
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: {
      outDir: '../../dist/console',
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: true,
      // Everything is bundled: the console loads nothing from outside the hub (air-gapped sites).
      assetsInlineLimit: 0,
      chunkSizeWarningLimit: 200,
    },
    server: { proxy: { '/api': { target: hub, changeOrigin: false } } },
  }
})
