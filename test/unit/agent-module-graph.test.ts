import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { packageModules, runRecordingModules } from '../support/module-recorder.js'

// What the agent keeps in memory is mostly the code it loads (docs/benchmarks.md, section 1).
// The built agent (dist, which ./scripts/test builds first) is loaded in a child process that
// records every module it loads, then reads the shipped profiles as the agent does at start.
const dist = fileURLToPath(new URL('../../dist/', import.meta.url))

t.test('the agent without --static-dir loads neither a YAML parser nor systeminformation', async (t) => {
  t.ok(existsSync(`${dist}agent/daemon.js`), 'the build is there')
  const script = `
    await import(${JSON.stringify(`${dist}agent/daemon.js`)})
    const { loadProfiles } = await import(${JSON.stringify(`${dist}firmware-profiles/catalog.js`)})
    const profiles = await loadProfiles()
    await new Promise((resolve) => setTimeout(resolve, 200))
    process.stdout.write(JSON.stringify({ profiles: profiles.length, modules: globalThis.loadedModules }))
  `
  const out = runRecordingModules<{ profiles: number; modules: string[] }>(script)
  t.ok(out.profiles > 0, `read ${out.profiles} profiles`)
  t.ok(
    out.modules.some((url) => url.includes('/node_modules/zod/')),
    'the recorder does see packages (zod is loaded)',
  )
  const packages = (name: string): string[] => packageModules(out.modules, name)
  t.same(packages('yaml'), [], 'no yaml: the profiles come from the compiled catalog')
  t.same(packages('systeminformation'), [], 'no systeminformation: the inventory comes from /proc')
})
