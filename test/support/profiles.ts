import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from './cli-process.js'
import { tempDir } from './tmp.js'
import type { TestLike } from './types.js'

/**
 * An operator's own profile directory (`agent run --profiles-dir`) holding one shipped profile
 * under its own name (the hub knows profiles by name), with `agentLines` (YAML, indented two
 * spaces) added under its `agent:` key.
 */
export function profilesDirWith(t: TestLike, profile: string, agentLines: readonly string[]): string {
  const dir = tempDir(t, 'profiles')
  const shipped = readFileSync(path.join(ROOT, 'firmware-profiles', `${profile}.yaml`), 'utf8')
  if (!/^agent:$/m.test(shipped)) throw new Error(`${profile}.yaml has no agent: key to add to`)
  writeFileSync(path.join(dir, `${profile}.yaml`), shipped.replace(/^agent:$/m, ['agent:', ...agentLines.map((line) => `  ${line}`)].join('\n')))
  return dir
}
