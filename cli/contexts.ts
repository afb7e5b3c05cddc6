import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Command } from 'commander'
import type * as Yaml from 'yaml'
import type * as Zod from 'zod'
import { HubClient, type HubSource } from './api-client.js'
import { CliError, ExitCode } from './io.js'

/**
 * kubectl-like contexts: named (hub URL, admin token) pairs in one YAML file, mode 0600, and
 * which one is current. `shoal login` writes it; every verb that talks to the hub reads it.
 */
export const CONFIG_API_VERSION = 'shoal/v1'

// yaml and zod load only when there is a config file to read or write: a verb given --hub and
// --token (or SHOAL_HUB and SHOAL_TOKEN) before any login does not pay for them at start.
const lazy = createRequire(import.meta.url)
const yaml = (): typeof Yaml => lazy('yaml') as typeof Yaml

function configFileSchema() {
  const { z } = lazy('zod') as typeof Zod
  const Context = z.strictObject({
    name: z.string().min(1).max(253),
    hub: z.string().url(),
    token: z.string().min(1),
  })
  return z.strictObject({
    apiVersion: z.literal(CONFIG_API_VERSION),
    kind: z.literal('Config'),
    currentContext: z.string().nullable().default(null),
    contexts: z.array(Context).default([]),
  })
}
export type CliConfig = Zod.z.infer<ReturnType<typeof configFileSchema>>
export type Context = CliConfig['contexts'][number]

export const EMPTY_CONFIG: CliConfig = { apiVersion: CONFIG_API_VERSION, kind: 'Config', currentContext: null, contexts: [] }

/** Where the config lives: $SHOAL_CONFIG, else $XDG_CONFIG_HOME/shoal/config.yaml, else ~/.config/shoal/config.yaml. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SHOAL_CONFIG) return env.SHOAL_CONFIG
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(base, 'shoal', 'config.yaml')
}

/** The config at `path`; a missing file is an empty config, a broken one is an error naming the file. */
export function readConfig(path: string): CliConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_CONFIG
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`)
  }
  let value: unknown
  try {
    value = text.trim() === '' ? EMPTY_CONFIG : yaml().parse(text)
  } catch (error) {
    throw new CliError(`${path} is not valid YAML (${firstLine((error as Error).message)}); fix it or remove it and run shoal login again`)
  }
  const parsed = configFileSchema().safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new CliError(
      `${path} is not a shoal config (${issue?.path.join('.') || 'top level'}: ${issue?.message}); fix it or remove it and run shoal login again`,
    )
  }
  return parsed.data
}

/**
 * Writes the config atomically (temporary file, then rename) with mode 0600 in a 0700
 * directory: it holds admin tokens.
 */
export function writeConfig(path: string, config: CliConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, yaml().stringify(config), { mode: 0o600 })
  chmodSync(temporary, 0o600) // the umask may have narrowed it already, never widened; be explicit
  renameSync(temporary, path)
}

/** Adds or replaces the context by name and makes it current. Pure. */
export function withContext(config: CliConfig, context: Context): CliConfig {
  const others = config.contexts.filter((existing) => existing.name !== context.name)
  return { ...config, currentContext: context.name, contexts: [...others, context].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) }
}

/** A context name from a hub URL: its host and port, e.g. "hub.example-8080". */
export function contextNameFor(url: string): string {
  const parsed = new URL(url)
  return parsed.port ? `${parsed.hostname}-${parsed.port}` : parsed.hostname
}

/** A hub URL as given by the operator, checked and without a trailing slash. */
export function normaliseHubUrl(text: string, source: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new CliError(`${source}: ${JSON.stringify(text)} is not a URL; give the hub's address such as http://hub.local:8080`, ExitCode.usage)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(
      `${source}: ${JSON.stringify(text)} is not an http(s) URL; the CLI talks to the hub API, e.g. http://hub.local:8080 (not the broker)`,
      ExitCode.usage,
    )
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** The options every verb that talks to the hub accepts. */
export interface ConnectionOptions {
  hub?: string
  token?: string
  context?: string
}

export function addConnectionOptions(command: Command): Command {
  return command
    .option('--hub <url>', 'hub API URL (overrides SHOAL_HUB and the current context)')
    .option('--token <token>', 'admin token (overrides SHOAL_TOKEN and the current context)')
    .option('--context <name>', 'use this context instead of the current one')
}

export interface Connection {
  readonly hub: string
  readonly token: string
  /** Where the hub URL came from, for messages. */
  readonly source: HubSource
  readonly contextName: string | null
}

/**
 * Which hub and token to use: `--hub`/`--token` flags, then SHOAL_HUB/SHOAL_TOKEN, then the
 * context (--context, else the current one). A token from a context is used only for that
 * context's own hub, so overriding the hub never sends a saved token somewhere else.
 */
export function resolveConnection(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env, path: string = configPath(env)): Connection {
  const config = readConfig(path)
  const contextName = options.context ?? config.currentContext
  const context = contextName ? config.contexts.find((c) => c.name === contextName) : undefined
  if (options.context && !context) throw new CliError(`no context named ${JSON.stringify(options.context)} in ${path}; see shoal context list`, ExitCode.usage)

  let hub: string | undefined
  let source: Connection['source'] = 'context'
  if (options.hub) {
    hub = normaliseHubUrl(options.hub, '--hub')
    source = 'flag'
  } else if (env.SHOAL_HUB) {
    hub = normaliseHubUrl(env.SHOAL_HUB, 'SHOAL_HUB')
    source = 'env'
  } else {
    hub = context?.hub
  }
  if (!hub) throw new CliError('no hub configured; run shoal login URL --token TOKEN (or pass --hub, or set SHOAL_HUB)', ExitCode.usage)

  const sameHub = context !== undefined && normaliseHubUrl(context.hub, path) === hub ? context : undefined
  const token = options.token || env.SHOAL_TOKEN || sameHub?.token
  if (!token) throw new CliError(`no token for ${hub}; run shoal login ${hub} --token TOKEN (or pass --token, or set SHOAL_TOKEN)`, ExitCode.usage)
  return { hub, token, source, contextName: sameHub?.name ?? null }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text
}

/** A client for the resolved hub and token. */
export function connect(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): HubClient {
  const connection = resolveConnection(options, env)
  return new HubClient({ hub: connection.hub, token: connection.token, hubFrom: connection.source })
}
