import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { packageModules, runRecordingModules } from '../support/module-recorder.js'

// `shoal apply` sends the manifests as they are and leaves checking them to the hub, so its start
// loads no validator (zod alone is ~90 ms to import; docs/benchmarks.md, section 9). A constant
// reached through protocol/codec.js once brought zod back in; this keeps it out. The built CLI
// (dist, which ./scripts/test builds first) is loaded in a child process that records every module.
const dist = fileURLToPath(new URL('../../dist/', import.meta.url))

t.test("the apply command's modules load neither zod nor yaml", async (t) => {
  t.ok(existsSync(`${dist}cli/commands/apply.js`), 'the build is there')
  const script = `
    await import(${JSON.stringify(`${dist}cli/command-index.js`)})
    await import(${JSON.stringify(`${dist}cli/commands/apply.js`)})
    await new Promise((resolve) => setTimeout(resolve, 200))
    process.stdout.write(JSON.stringify(globalThis.loadedModules))
  `
  const modules = runRecordingModules<string[]>(script)
  t.ok(
    modules.some((url) => url.includes('/node_modules/commander/')),
    'the recorder does see packages (commander is loaded)',
  )
  const packages = (name: string): string[] => packageModules(modules, name)
  t.same(packages('zod'), [], 'no zod')
  t.same(packages('yaml'), [], 'no yaml')
})
