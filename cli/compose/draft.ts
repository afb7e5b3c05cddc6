import type { Arch, ContainerTemplateInput, MatchExpression } from '../../protocol/index.js'
import type { NoteTaker } from './notes.js'

/** What the caller knows that the file does not: where relative paths start, and the variables compose would interpolate. */
export interface ConvertOptions {
  /** Absolute directory that relative bind mounts resolve against: the compose file's (the working directory for stdin). */
  readonly baseDir: string
  /** Where `~` in a bind mount points; without it such a mount is not mapped. */
  readonly homeDir?: string
  /** `${NAME}` values, as docker compose takes them from the shell's environment. */
  readonly variables?: Readonly<Record<string, string | undefined>>
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** One service's Deployment as it is being built, before it is checked with the manifest schema. */
export interface ServiceDraft {
  name: string
  labels: Record<string, string>
  replicas?: number
  everyNode?: true
  arch?: Arch[]
  matchLabels: Record<string, string>
  matchExpressions: MatchExpression[]
  template: Mutable<Omit<ContainerTemplateInput, 'image'>> & { image?: string }
  /** Set by network_mode; otherwise the network follows from the ports. */
  networkMode?: 'host' | 'bridge' | 'none'
  /** `network_mode: service:NAME`: the compose service whose network namespace this one shares. */
  sharesNetworkOf?: string
}

/** What each key's mapping step may read and write. */
export interface ServiceContext {
  readonly name: string
  /** The service as written (after interpolation). */
  readonly service: Readonly<Record<string, unknown>>
  readonly draft: ServiceDraft
  /** Notes located under services.NAME. */
  readonly notes: NoteTaker
  readonly options: ConvertOptions
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A string, or a list of strings and numbers, as strings; null for anything else. */
export function stringList(value: unknown): string[] | null {
  if (typeof value === 'string') return [value]
  if (!Array.isArray(value)) return null
  return value.every((item) => typeof item === 'string' || typeof item === 'number') ? value.map(String) : null
}

/** A scalar as compose reads it into a string (numbers and booleans as written); null for a mapping or list. */
export function scalarText(value: unknown): string | null {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : null
}

/** A service or volume name made a Shoal name: lower case, `_` and `.` to `-`, at most 63 characters. */
export function shoalName(text: string): string {
  const name = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '')
  return name === '' ? 'service' : name
}
