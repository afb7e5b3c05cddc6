import http from 'node:http'
import type { Socket } from 'node:net'
import { type ArchiveUpload, uploadArchive } from './docker-archive-upload.js'
import { hijack } from './docker-exec-attach.js'
import { MAX_STOP_GRACE_MS } from '../../protocol/container-template.js'

/**
 * A small client for the Docker Engine API over `node:http`: the dozen calls the agent makes,
 * nothing else. It replaces dockerode, whose dependency tree (ssh2, gRPC, protobufjs) cost the
 * agent 20+ MB of RSS on devices that have little.
 *
 * Paths are unversioned, as dockerode sent them: the engine answers at its own API version, and
 * an engine that dropped old versions (Docker 29 refuses below 1.44) still answers. The fields we
 * read have not changed across versions.
 */

/** Where the engine listens: a unix socket, or plain HTTP on host:port. */
export type DockerEndpoint = { readonly socketPath: string } | { readonly host: string; readonly port: number }

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock'

/** Idle timeout of calls that are not streams: an engine this slow to answer is as good as gone. */
const DEFAULT_TIMEOUT_MS = 30_000
/** Removals delete layers and volumes: slow on an SD card, and the engine says nothing until done. */
const REMOVE_TIMEOUT_MS = 120_000

/**
 * The engine to talk to: `docker` (a socket path, or a DOCKER_HOST-style URL), else DOCKER_HOST,
 * else /var/run/docker.sock. Only unix:// and plain tcp:// are spoken; anything else throws.
 */
export function dockerEndpoint(docker: string | undefined, env: NodeJS.ProcessEnv = process.env): DockerEndpoint {
  if (docker !== undefined && docker !== '') return /^[a-z][a-z0-9+.-]*:\/\//i.test(docker) ? parseDockerHost(docker, env) : { socketPath: docker }
  const host = env.DOCKER_HOST?.trim()
  return host ? parseDockerHost(host, env) : { socketPath: DEFAULT_DOCKER_SOCKET }
}

function parseDockerHost(value: string, env: NodeJS.ProcessEnv): DockerEndpoint {
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length)
    if (socketPath === '') throw new RangeError(`Docker host ${value} names no socket; write unix:///var/run/docker.sock`)
    return { socketPath }
  }
  if (value.startsWith('tcp://') || value.startsWith('http://')) {
    if (env.DOCKER_TLS_VERIFY) {
      throw new RangeError(`Docker host ${value} with DOCKER_TLS_VERIFY: the agent speaks plain HTTP only; use the engine's unix socket`)
    }
    const url = new URL(value.replace(/^tcp:/, 'http:'))
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? 2375 : Number(url.port) }
  }
  throw new RangeError(`Docker host ${value} is not supported: use unix:///path/to/docker.sock or tcp://host:port`)
}

/**
 * A failed engine call. `statusCode` is the HTTP status when the engine answered (its own words
 * are the message); `code` is the socket error (ECONNREFUSED, ENOENT, ETIMEDOUT...) when it did not.
 */
export class DockerEngineError extends Error {
  constructor(
    message: string,
    readonly request: string,
    readonly statusCode: number | undefined,
    readonly code: string | undefined,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options)
    this.name = 'DockerEngineError'
  }
}

type Query = Readonly<Record<string, string | number | boolean | undefined>>

interface RequestOptions {
  readonly query?: Query
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  /** Statuses besides 2xx that mean success (304 "already started"). */
  readonly ok?: readonly number[]
  /** Non-streaming calls: idle timeout. Streams: time to the response headers. 0: none. */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

export class DockerEngineClient {
  readonly endpoint: DockerEndpoint
  private readonly timeoutMs: number
  /** No keep-alive: a fresh connection per call costs little on a socket and never meets a stale one. */
  private readonly agent = new http.Agent({ keepAlive: false })

  constructor(options: { readonly endpoint: DockerEndpoint; readonly timeoutMs?: number }) {
    this.endpoint = options.endpoint
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  version(): Promise<EngineVersion> {
    return this.json('GET', '/version')
  }

  info(): Promise<EngineInfo> {
    return this.json('GET', '/info')
  }

  listContainers(filters: Filters): Promise<ContainerSummary[]> {
    return this.json('GET', '/containers/json', { query: { all: true, filters: JSON.stringify(filters) } })
  }

  inspectContainer(id: string): Promise<ContainerInspect> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/json`)
  }

  /** The new container's id; `name` goes in the query, the rest is the body. */
  async createContainer(options: ContainerCreateOptions): Promise<string> {
    const { name, ...body } = options
    return (await this.json<{ Id: string }>('POST', '/containers/create', { query: { name }, body })).Id
  }

  /** Already running (304) counts as done. */
  async startContainer(id: string): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(id)}/start`, { ok: [304] })
  }

  /**
   * Already stopped (304) counts as done. The engine answers after up to `seconds` of grace;
   * without them, after the container's own StopTimeout (at most MAX_STOP_GRACE_MS).
   */
  async stopContainer(id: string, seconds?: number): Promise<void> {
    const graceMs = seconds === undefined ? MAX_STOP_GRACE_MS : seconds * 1000
    await this.call('POST', `/containers/${encodeURIComponent(id)}/stop`, {
      ...(seconds === undefined ? {} : { query: { t: seconds } }),
      ok: [304],
      timeoutMs: graceMs + this.timeoutMs,
    })
  }

  async removeContainer(id: string, options: { readonly force: boolean; readonly volumes: boolean }): Promise<void> {
    await this.call('DELETE', `/containers/${encodeURIComponent(id)}`, { query: { force: options.force, v: options.volumes }, timeoutMs: REMOVE_TIMEOUT_MS })
  }

  /**
   * A command to run in a running container, not started yet. Without `attach` its output is not
   * attached (a probe needs only the exit code); with it, stdout and stderr are, stdin when asked.
   */
  async createExec(id: string, command: readonly string[], attach?: ExecAttach): Promise<string> {
    const body = attach
      ? {
          Cmd: command,
          AttachStdin: attach.stdin,
          AttachStdout: true,
          AttachStderr: true,
          Tty: attach.tty,
          ...(attach.env && attach.env.length > 0 ? { Env: attach.env } : {}),
          // [height, width]; engines before API 1.42 ignore it, and a resize after the start follows.
          ...(attach.size ? { ConsoleSize: [attach.size.rows, attach.size.cols] } : {}),
        }
      : { Cmd: command, AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false }
    return (await this.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(id)}/exec`, { body })).Id
  }

  /**
   * Starts an attached exec and takes over its connection (the engine's stream hijacking): the
   * socket carries stdin one way and the output the other, multiplexed unless `tty`. Ending the
   * socket's write side closes the command's stdin.
   */
  attachExec(execId: string, tty: boolean): Promise<Socket> {
    return hijack(this.endpoint, `/exec/${encodeURIComponent(execId)}/start`, { Detach: false, Tty: tty }, this.timeoutMs)
  }

  async resizeExec(execId: string, size: { readonly cols: number; readonly rows: number }): Promise<void> {
    await this.call('POST', `/exec/${encodeURIComponent(execId)}/resize`, { query: { h: size.rows, w: size.cols } })
  }

  /** A tar of `path` (a file or a directory) in the container, streamed; 404 when the path does not exist. */
  getArchive(id: string, path: string, signal?: AbortSignal): Promise<http.IncomingMessage> {
    return this.stream('GET', `/containers/${encodeURIComponent(id)}/archive`, { query: { path }, ...(signal ? { signal } : {}) })
  }

  /**
   * Unpacks a tar, written to `body` as it comes, into the directory `path` of the container
   * (which must exist); a directory never replaces a file or the other way round. `accepted`
   * settles once the engine answered: after `body` ended, or earlier when it refuses.
   */
  putArchive(id: string, path: string): ArchiveUpload {
    return uploadArchive(this.endpoint, `/containers/${encodeURIComponent(id)}/archive${queryString({ path, noOverwriteDirNonDir: true })}`)
  }

  /** Starts it detached: the engine answers at once, inspectExec says when it ended. */
  async startExec(execId: string): Promise<void> {
    await this.call('POST', `/exec/${encodeURIComponent(execId)}/start`, { body: { Detach: true, Tty: false } })
  }

  inspectExec(execId: string): Promise<ExecInspect> {
    return this.json('GET', `/exec/${encodeURIComponent(execId)}/json`)
  }

  /** The whole log so far, raw (multiplexed unless the container has a TTY). */
  containerLogs(id: string, query: LogQuery): Promise<Buffer> {
    return this.call('GET', `/containers/${encodeURIComponent(id)}/logs`, { query: { ...query, follow: false } })
  }

  /** The log, raw, until the container stops or the signal aborts. */
  followContainerLogs(id: string, query: LogQuery, signal?: AbortSignal): Promise<http.IncomingMessage> {
    return this.stream('GET', `/containers/${encodeURIComponent(id)}/logs`, { query: { ...query, follow: true }, ...(signal ? { signal } : {}) })
  }

  /** Newline-delimited JSON until the engine stops or the signal aborts. */
  events(filters: Filters, since: number | undefined, signal?: AbortSignal): Promise<http.IncomingMessage> {
    return this.stream('GET', '/events', { query: { filters: JSON.stringify(filters), since }, ...(signal ? { signal } : {}) })
  }

  /**
   * Newline-delimited JSON progress; failures after the start come inside it. Never times out
   * (a pull takes what it takes). X-Registry-Auth always goes, `{}` without credentials: engines
   * (20.10) want the header even for a registry without auth.
   */
  pullImage(image: string, auth: AuthConfig | undefined, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const { repository, tag } = splitImageReference(image)
    const header = Buffer.from(JSON.stringify(auth ?? {})).toString('base64url')
    return this.stream('POST', '/images/create', {
      query: { fromImage: repository, tag },
      headers: { 'X-Registry-Auth': header.padEnd(Math.ceil(header.length / 4) * 4, '=') },
      timeoutMs: 0,
      ...(signal ? { signal } : {}),
    })
  }

  inspectImage(image: string): Promise<unknown> {
    return this.json('GET', `/images/${encodeURIComponent(image)}/json`)
  }

  listImages(): Promise<ImageSummary[]> {
    return this.json('GET', '/images/json')
  }

  async removeImage(image: string): Promise<void> {
    await this.call('DELETE', `/images/${encodeURIComponent(image)}`, { timeoutMs: REMOVE_TIMEOUT_MS })
  }

  private async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const body = await this.call(method, path, options)
    try {
      return JSON.parse(body.toString('utf8')) as T
    } catch (error) {
      throw new DockerEngineError(`the engine answered ${method} ${path} with something that is not JSON`, `${method} ${path}`, undefined, 'EBADRESPONSE', {
        cause: error,
      })
    }
  }

  /** A call whose answer is read whole; fails on a non-success status or after `timeoutMs` of silence. */
  private async call(method: string, path: string, options: RequestOptions = {}): Promise<Buffer> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    const timer = { expired: false }
    try {
      const response = await this.open(method, path, { ...options, timeoutMs }, timer, false)
      const body = await readAll(response)
      if (!succeeded(response.statusCode, options.ok)) throw failure(method, path, response.statusCode, body)
      return body
    } catch (error) {
      if (timer.expired)
        throw new DockerEngineError(`the engine did not answer ${method} ${path} within ${timeoutMs} ms`, `${method} ${path}`, undefined, 'ETIMEDOUT', {
          cause: error,
        })
      throw asEngineError(error, method, path)
    }
  }

  /** A streaming call: the response once the engine accepted it; the caller reads (and destroys) it. */
  private async stream(method: string, path: string, options: RequestOptions): Promise<http.IncomingMessage> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    const timer = { expired: false }
    try {
      const response = await this.open(method, path, { ...options, timeoutMs }, timer, true)
      if (succeeded(response.statusCode, options.ok)) return response
      throw failure(method, path, response.statusCode, await readAll(response))
    } catch (error) {
      if (timer.expired)
        throw new DockerEngineError(`the engine did not answer ${method} ${path} within ${timeoutMs} ms`, `${method} ${path}`, undefined, 'ETIMEDOUT', {
          cause: error,
        })
      throw asEngineError(error, method, path)
    }
  }

  /** `headersOnly`: the timeout guards the wait for the response headers, not the body. */
  private open(method: string, path: string, options: RequestOptions, timer: { expired: boolean }, headersOnly: boolean): Promise<http.IncomingMessage> {
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body))
    const headers: Record<string, string> = { ...options.headers }
    if (body) {
      headers['Content-Type'] = 'application/json'
      headers['Content-Length'] = String(body.length)
    }
    return new Promise((resolve, reject) => {
      const request = http.request({
        ...this.endpoint,
        agent: this.agent,
        method,
        path: path + queryString(options.query),
        headers,
        ...(options.signal ? { signal: options.signal } : {}),
      })
      if (options.timeoutMs) {
        request.setTimeout(options.timeoutMs, () => {
          timer.expired = true
          request.destroy()
        })
      }
      request.once('response', (response) => {
        if (headersOnly) request.setTimeout(0)
        resolve(response)
      })
      // Every error rejects (the first one wins); a listener must stay, or a late one would throw.
      request.on('error', reject)
      request.end(body)
    })
  }
}

/** An image reference as fromImage and tag, split as dockerode did (a digest goes in the tag; no tag means latest). */
export function splitImageReference(image: string): { readonly repository: string; readonly tag: string } {
  const at = image.indexOf('@')
  const separator = at >= 0 ? at : image.lastIndexOf(':')
  const tag = separator >= 0 ? image.slice(separator + 1) : ''
  // A colon followed by a slash belongs to a registry's port ("host:5000/app"), not a tag.
  if (separator < 0 || tag.includes('/')) return { repository: image, tag: 'latest' }
  return { repository: image.slice(0, separator), tag }
}

export function queryString(query: Query | undefined): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue
    params.set(key, typeof value === 'boolean' ? (value ? '1' : '0') : String(value))
  }
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

const succeeded = (status: number | undefined, ok: readonly number[] | undefined): boolean =>
  status !== undefined && ((status >= 200 && status < 300) || (ok?.includes(status) ?? false))

export async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** The engine's error body is `{"message": "..."}`; a proxy or an old engine may send text. */
export function failure(method: string, path: string, status: number | undefined, body: Buffer): DockerEngineError {
  const text = body.toString('utf8').trim()
  let message = text
  try {
    const parsed = JSON.parse(text) as { message?: unknown }
    if (typeof parsed.message === 'string') message = parsed.message.trim()
  } catch {
    // not JSON: the text is the message
  }
  return new DockerEngineError(message || `HTTP ${status ?? '?'}`, `${method} ${path}`, status, undefined)
}

export function asEngineError(error: unknown, method: string, path: string): DockerEngineError {
  if (error instanceof DockerEngineError) return error
  const { message, code } = (error ?? {}) as { message?: string; code?: unknown }
  return new DockerEngineError(message ?? String(error), `${method} ${path}`, undefined, typeof code === 'string' ? code : undefined, { cause: error })
}

/* The parts of the API's types the agent reads or writes. */

export type Filters = Readonly<Record<string, readonly string[]>>

export interface LogQuery {
  readonly stdout: boolean
  readonly stderr: boolean
  readonly timestamps: boolean
  readonly tail?: number
  /** Unix seconds, fractions allowed. */
  readonly since?: string
}

export interface EngineVersion {
  readonly Version: string
  readonly ApiVersion?: string
}

export interface EngineInfo {
  readonly DockerRootDir?: string
}

export interface ContainerSummary {
  readonly Id: string
}

export interface ContainerInspect {
  readonly Id: string
  readonly Name: string
  readonly RestartCount?: number
  readonly Config?: { readonly Labels?: Readonly<Record<string, string>> | null; readonly Tty?: boolean }
  readonly State: {
    readonly Status: string
    readonly ExitCode: number
    readonly StartedAt?: string
    readonly FinishedAt?: string
    readonly Health?: { readonly Status?: string }
  }
  readonly NetworkSettings?: { readonly Networks?: Readonly<Record<string, { readonly IPAddress?: string }>> | null } | null
}

/** How an attached exec runs (createExec). */
export interface ExecAttach {
  readonly stdin: boolean
  readonly tty: boolean
  /** NAME=value pairs added to the container's environment. */
  readonly env?: readonly string[]
  readonly size?: { readonly cols: number; readonly rows: number }
}

export interface ExecInspect {
  readonly Running: boolean
  readonly ExitCode: number | null
}

export interface ImageSummary {
  readonly Id: string
  readonly RepoTags?: readonly string[] | null
  readonly Size: number
  /** Unix seconds. */
  readonly Created: number
}

export interface AuthConfig {
  readonly username: string
  readonly password: string
  readonly serveraddress: string
}

export interface RestartPolicy {
  Name: 'no' | 'always' | 'unless-stopped' | 'on-failure'
  MaximumRetryCount?: number
}

/** Durations in nanoseconds. */
export interface HealthConfig {
  Test: string[]
  Interval: number
  Timeout: number
  StartPeriod: number
  Retries: number
}

export interface VolumeMount {
  Type: 'volume'
  Source: string
  Target: string
  ReadOnly: boolean
  VolumeOptions: { NoCopy: boolean; Labels: Record<string, string>; DriverConfig: { Name: string; Options: Record<string, string> } }
}

/** A host file or directory bound into the container (a hostPath volume, or the files of a Config or Secret volume). */
export interface BindMount {
  Type: 'bind'
  Source: string
  Target: string
  ReadOnly: boolean
}

export interface HostConfig {
  RestartPolicy: RestartPolicy
  NetworkMode: string
  NanoCpus?: number
  Memory?: number
  DeviceRequests?: Array<{ Driver: string; Count: number; Capabilities: string[][] }>
  Mounts?: Array<VolumeMount | BindMount>
  PortBindings?: Record<string, Array<{ HostIp: string; HostPort: string }>>
  Devices?: Array<{ PathOnHost: string; PathInContainer: string; CgroupPermissions: string }>
  Privileged?: boolean
  CapAdd?: string[]
  CapDrop?: string[]
  ReadonlyRootfs?: boolean
  /** Mount path → mount options such as `size=16777216`. */
  Tmpfs?: Record<string, string>
  LogConfig?: { Type: string; Config: Record<string, string> }
}

/** `POST /containers/create`: `name` goes in the query, the rest is the body. */
export interface ContainerCreateOptions {
  name: string
  Image: string
  Labels: Record<string, string>
  Env: string[]
  Entrypoint?: string[]
  Cmd?: string[]
  Tty: boolean
  /** uid or uid:gid. */
  User?: string
  HostConfig: HostConfig
  Healthcheck?: HealthConfig
  ExposedPorts?: Record<string, Record<string, never>>
  StopSignal?: string
  /** Seconds the engine waits after StopSignal when a stop names no timeout. */
  StopTimeout?: number
}
