import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Command } from 'commander'
import type * as Yaml from 'yaml'
import { HubClient, type HubSource } from './api-client.js'
import { CliError, ExitCode } from './io.js'

/**
 * kubectl-like contexts: named (hub URL, admin token) pairs in one YAML file, mode 0600, and
 * which one is current. `shoal login` writes it; every verb that talks to the hub reads it.
 */
export const CONFIG_API_VERSION = 'shoal/v1'

// The file is written as JSON, which YAML reads too, so a verb reads it with JSON.parse and a
// small check: yaml and zod cost a fresh process 100-130 ms to load, more than the rest of
// `shoal get nodes`. yaml loads only for a file someone wrote by hand in YAML's own syntax (or
// one written by an earlier version).
const lazy = createRequire(import.meta.url)
const yaml = (): typeof Yaml => lazy('yaml') as typeof Yaml

export interface Context {
  readonly name: string
  readonly hub: string
  readonly token: string
}
export interface CliConfig {
  readonly apiVersion: typeof CONFIG_API_VERSION
  readonly kind: 'Config'
  readonly currentContext: string | null
  readonly contexts: readonly Context[]
}

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
  const value = text.trim() === '' ? EMPTY_CONFIG : parseConfigText(text, path)
  const problem = configProblem(value)
  if (problem) throw new CliError(`${path} is not a shoal config (${problem}); fix it or remove it and run shoal login again`)
  const config = value as { apiVersion: typeof CONFIG_API_VERSION; kind: 'Config'; currentContext?: string | null; contexts?: Context[] }
  return {
    apiVersion: config.apiVersion,
    kind: config.kind,
    currentContext: config.currentContext ?? null,
    contexts: (config.contexts ?? []).map(({ name, hub, token }) => ({ name, hub, token })),
  }
}

function parseConfigText(text: string, path: string): unknown {
  if (text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text)
    } catch {
      // Not JSON after all (YAML's flow style also opens with a brace): the YAML parser decides.
    }
  }
  try {
    return yaml().parse(text)
  } catch (error) {
    throw new CliError(`${path} is not valid YAML (${firstLine((error as Error).message)}); fix it or remove it and run shoal login again`)
  }
}

const CONFIG_KEYS = new Set(['apiVersion', 'kind', 'currentContext', 'contexts'])
const CONTEXT_KEYS = new Set(['name', 'hub', 'token'])

/** What makes `value` not a config, as "path: problem", or null when it is one. */
export function configProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'top level: expected a mapping'
  const unknownKey = Object.keys(value).find((key) => !CONFIG_KEYS.has(key))
  if (unknownKey !== undefined) return `top level: unknown field ${JSON.stringify(unknownKey)}`
  if (value.apiVersion !== CONFIG_API_VERSION) return `apiVersion: expected ${JSON.stringify(CONFIG_API_VERSION)}`
  if (value.kind !== 'Config') return 'kind: expected "Config"'
  if (value.currentContext !== undefined && value.currentContext !== null && typeof value.currentContext !== 'string') {
    return 'currentContext: expected a context name or null'
  }
  if (value.contexts === undefined) return null
  if (!Array.isArray(value.contexts)) return 'contexts: expected a list'
  for (const [index, context] of value.contexts.entries()) {
    const at = `contexts.${index}`
    if (!isRecord(context)) return `${at}: expected a mapping with name, hub and token`
    const extra = Object.keys(context).find((key) => !CONTEXT_KEYS.has(key))
    if (extra !== undefined) return `${at}: unknown field ${JSON.stringify(extra)}`
    if (typeof context.name !== 'string' || context.name.length === 0 || context.name.length > 253) return `${at}.name: expected a name of 1-253 characters`
    if (typeof context.hub !== 'string' || !URL.canParse(context.hub)) return `${at}.hub: expected a URL`
    if (typeof context.token !== 'string' || context.token.length === 0) return `${at}.token: expected a token`
  }
  return null
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Writes the config atomically (temporary file, then rename) with mode 0600 in a 0700
 * directory: it holds admin tokens.
 */
export function writeConfig(path: string, config: CliConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 })
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
