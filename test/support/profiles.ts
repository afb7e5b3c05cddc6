import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from './cli-process.js'
import { tempDir } from './tmp.js'
import type { TestLike } from './types.js'

/**
 * An operator's own profile directory (`agent run --profiles-dir`) holding one shipped profile
 * under its own name (the hub knows profiles by name), its YAML text changed by `edit`.
 */
export function profilesDirEdited(t: TestLike, profile: string, edit: (yaml: string) => string): string {
  const dir = tempDir(t, 'profiles')
  const shipped = readFileSync(path.join(ROOT, 'firmware-profiles', `${profile}.yaml`), 'utf8')
  const edited = edit(shipped)
  if (edited === shipped) throw new Error(`the edit left ${profile}.yaml as it was`)
  writeFileSync(path.join(dir, `${profile}.yaml`), edited)
  return dir
}

/** As profilesDirEdited, with `agentLines` (YAML, indented two spaces) added under the `agent:` key. */
export function profilesDirWith(t: TestLike, profile: string, agentLines: readonly string[]): string {
  return profilesDirEdited(t, profile, (yaml) => yaml.replace(/^agent:$/m, ['agent:', ...agentLines.map((line) => `  ${line}`)].join('\n')))
}
