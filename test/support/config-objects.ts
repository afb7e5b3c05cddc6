// Configs and Secrets in fleet tests: their manifests, a look inside a container, a scan of files
// and texts for a marker value, and a loopback registry that wants a password.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import bcrypt from 'bcryptjs'
import { stringify as stringifyYaml } from 'yaml'
import { freePort } from './ports.js'
import { startService } from './process.js'
import { tempDir } from './tmp.js'
import type { TestLike } from './types.js'

const execFileAsync = promisify(execFile)

export interface ObjectOverride {
  readonly selector: { readonly matchLabels: Readonly<Record<string, string>> }
  readonly data: Readonly<Record<string, string>>
}

/** A Config or Secret manifest as YAML, for POST /api/v1/manifests. */
export function configObjectYaml(
  kind: 'Config' | 'Secret',
  name: string,
  data: Readonly<Record<string, string>>,
  overrides: readonly ObjectOverride[] = [],
): string {
  return stringifyYaml({ apiVersion: 'shoal/v1', kind, metadata: { name }, data, ...(overrides.length > 0 ? { overrides } : {}) })
}

/** Runs a shell script in a running container; its stdout. */
export async function inContainer(id: string, script: string): Promise<string> {
  const { stdout } = await execFileAsync('docker', ['exec', id, 'sh', '-c', script], { timeout: 20_000 })
  return stdout
}

/** Which of these files exist and hold `marker` (bytes as they are on disk); the names of the files read. */
export function scanFiles(files: readonly string[], marker: string): { read: string[]; holding: string[] } {
  const read: string[] = []
  const holding: string[] = []
  for (const file of files) {
    if (!existsSync(file)) continue
    read.push(path.basename(file))
    if (readFileSync(file).includes(marker)) holding.push(file)
  }
  return { read, holding }
}

/**
 * A private docker-registry on a free loopback port that wants a username and password
 * (htpasswd, bcrypt); stopped and removed when the test ends. Resolves to host:port.
 */
export async function startAuthRegistry(t: TestLike, username: string, password: string): Promise<string> {
  const port = await freePort()
  const dir = tempDir(t, 'registry-auth')
  const htpasswd = path.join(dir, 'htpasswd')
  writeFileSync(htpasswd, `${username}:${bcrypt.hashSync(password, 8)}\n`)
  const config = path.join(dir, 'config.yml')
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${path.join(dir, 'data')} }, delete: { enabled: true } }`,
      `http: { addr: 127.0.0.1:${port} }`,
      `auth: { htpasswd: { realm: shoal-test, path: ${htpasswd} } }`,
      '',
    ].join('\n'),
  )
  await startService(t, { name: 'docker-registry', command: 'docker-registry', args: ['serve', config], port, url: `http://127.0.0.1:${port}`, dir })
  return `127.0.0.1:${port}`
}
