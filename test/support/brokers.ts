import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { freePort } from './ports.js'
import { serviceDir, startService, type ServiceHandle } from './process.js'
import type { TestLike } from './types.js'

export interface MosquittoOptions {
  /**
   * Extra mosquitto.conf lines, appended after `listener PORT 127.0.0.1`, so
   * listener options (certfile, keyfile, protocol...) apply to it. Lines that
   * set allow_anonymous, user or persistence replace our defaults.
   */
  configLines?: string[]
  /** Fixed port (e.g. to restart a broker elsewhere on a known port). */
  port?: number
}

/** A private Mosquitto 2 on loopback, stopped when the test ends. */
export async function startMosquitto(t: TestLike, opts: MosquittoOptions = {}): Promise<ServiceHandle> {
  const port = opts.port ?? (await freePort())
  const dir = serviceDir('mosquitto')
  const extra = opts.configLines ?? []
  const has = (key: string): boolean => extra.some((l) => l.trim().startsWith(`${key} `))
  const lines = [
    // As root, mosquitto would switch to its own user, which cannot read
    // files in the test's 0700 temp dirs (passwords, ACLs, certificates).
    ...(has('user') ? [] : ['user root']),
    ...(has('persistence') ? [] : ['persistence false']),
    ...(has('allow_anonymous') ? [] : ['allow_anonymous true']),
    `listener ${port} 127.0.0.1`,
    ...extra,
  ]
  const conf = path.join(dir, 'mosquitto.conf')
  writeFileSync(conf, `${lines.join('\n')}\n`)
  return startService(t, {
    name: 'mosquitto',
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    command: 'mosquitto',
    args: ['-c', conf],
  })
}

export interface NatsOptions {
  /** nats-server config file contents; command-line flags below override it. */
  configText?: string
  /** JetStream with a private store dir (default true). */
  jetstream?: boolean
  port?: number
  /** More flags, e.g. ['-n', 'a', '--cluster', 'nats://127.0.0.1:P', '--routes', '...']. */
  args?: string[]
}

/** A private nats-server on loopback, stopped when the test ends. */
export async function startNats(t: TestLike, opts: NatsOptions = {}): Promise<ServiceHandle> {
  const port = opts.port ?? (await freePort())
  const dir = serviceDir('nats')
  const args = ['-a', '127.0.0.1', '-p', String(port)]
  if (opts.jetstream ?? true) args.push('-js', '-sd', path.join(dir, 'jetstream'))
  if (opts.configText !== undefined) {
    const conf = path.join(dir, 'nats.conf')
    writeFileSync(conf, opts.configText)
    args.push('-c', conf)
  }
  args.push(...(opts.args ?? []))
  return startService(t, {
    name: 'nats-server',
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    command: 'nats-server',
    args,
  })
}
