import { statfs } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import type { Logger } from 'pino'
import { containerCreateOptions, pullAuthConfig } from './docker-container-config.js'
import { DockerEngineClient, dockerEndpoint, type ContainerSummary, type LogQuery } from './docker-engine-client.js'
import { httpStatus, isUnreachable, engineMessage, toRuntimeError } from './docker-errors.js'
import { EVENT_ACTIONS, NdjsonSplitter, followEvents } from './docker-events.js'
import { DockerLogDemuxer } from './docker-log-demux.js'
import { observedFromInspect } from './docker-observed.js'
import {
  LABEL,
  RuntimeError,
  type ContainerRuntime,
  type ContainerSpec,
  type ImageInfo,
  type LogLine,
  type LogOptions,
  type ObservedContainer,
  type PullProgress,
  type RegistryCredentials,
  type RuntimeDiskUsage,
  type RuntimeEvent,
} from './runtime.js'

export interface DockerRuntimeOptions {
  /**
   * The engine: a unix socket path, or a DOCKER_HOST-style unix:// or tcp:// (plain HTTP) URL.
   * Default: DOCKER_HOST, else /var/run/docker.sock.
   */
  readonly docker?: string
  readonly logger: Logger
}

/** Parallel inspects in list(): enough to hide latency, few enough not to queue up the engine. */
const INSPECT_CONCURRENCY = 8
/** An exec probe's end is polled at 20 ms, 40 ms ... 250 ms: quick commands are seen quickly. */
const EXEC_POLL_FIRST_MS = 20
const EXEC_POLL_MAX_MS = 250

/**
 * Connect to the engine (lazily: nothing is sent until the first call). Rejects when the
 * engine address is one we cannot speak to (ssh://, TLS).
 */
export async function createDockerRuntime(options: DockerRuntimeOptions): Promise<DockerRuntime> {
  const client = new DockerEngineClient({ endpoint: dockerEndpoint(options.docker) })
  return new DockerRuntime({ client, logger: options.logger })
}

/** ContainerRuntime over the Docker Engine API (docker-engine-client.ts). */
export class DockerRuntime implements ContainerRuntime {
  readonly name = 'docker'
  private readonly docker: DockerEngineClient
  private readonly log: Logger
  private dockerRootDir: string | undefined

  constructor(options: { readonly client: DockerEngineClient; readonly logger: Logger }) {
    this.docker = options.client
    this.log = options.logger.child({ component: 'docker' })
  }

  async version(): Promise<string> {
    try {
      return (await this.docker.version()).Version
    } catch (error) {
      throw toRuntimeError(error, 'read the Docker engine version', 'unavailable')
    }
  }

  /** One list call, then one inspect per container (for the restart count and health); fine for ≤256. */
  async list(nodeId: string): Promise<ObservedContainer[]> {
    let summaries: ContainerSummary[]
    try {
      summaries = await this.docker.listContainers({ label: [`${LABEL.node}=${nodeId}`] })
    } catch (error) {
      throw toRuntimeError(error, `list containers of node ${nodeId}`, 'failed', { nodeId })
    }
    const observed = await mapLimit(summaries, INSPECT_CONCURRENCY, async (summary) => {
      try {
        return observedFromInspect(await this.docker.inspectContainer(summary.Id))
      } catch (error) {
        // Removed between the list and the inspect: it is simply gone.
        if (httpStatus(error) === 404) return null
        throw toRuntimeError(error, `inspect container ${summary.Id}`, 'failed', { containerId: summary.Id })
      }
    })
    return observed.filter((container): container is ObservedContainer => container !== null)
  }

  async imageExists(image: string): Promise<boolean> {
    try {
      await this.docker.inspectImage(image)
      return true
    } catch (error) {
      if (httpStatus(error) === 404) return false
      throw toRuntimeError(error, `inspect image ${image}`, 'failed', { image })
    }
  }

  /**
   * One attempt; retries and backoff are the caller's. Progress events are handled one by one,
   * never all kept; a malformed line is skipped.
   */
  async pull(image: string, credentials: RegistryCredentials | undefined, onProgress?: (progress: PullProgress) => void): Promise<void> {
    const failed = (error: unknown): RuntimeError =>
      isUnreachable(error) && httpStatus(error) === undefined
        ? toRuntimeError(error, `pull ${image}`, 'unavailable', { image })
        : new RuntimeError('pull-failed', `pull ${image}: ${engineMessage(error)}`, { image })
    const authconfig = pullAuthConfig(image, credentials)
    const started = Date.now()
    let stream: IncomingMessage
    try {
      stream = await this.docker.pullImage(image, authconfig)
    } catch (error) {
      throw failed(error)
    }
    // The engine reports most failures (a missing tag, a refused login) inside a 200 stream.
    let streamError: string | undefined
    const splitter = new NdjsonSplitter()
    try {
      for await (const chunk of stream) {
        const events = splitter.push(chunk, (line) => this.log.warn({ image, line: line.slice(0, 200) }, 'skipping a pull progress line that is not JSON'))
        for (const event of events as PullEvent[]) {
          const message = event.errorDetail?.message ?? event.error
          if (message !== undefined) streamError ??= message
          else if (onProgress && typeof event.status === 'string') this.report(onProgress, image, event)
        }
      }
    } catch (error) {
      throw failed(error)
    } finally {
      stream.destroy()
    }
    if (streamError !== undefined) throw new RuntimeError('pull-failed', `pull ${image}: ${streamError}`, { image })
    this.log.info({ image, ms: Date.now() - started }, 'image pulled')
  }

  private report(onProgress: (progress: PullProgress) => void, image: string, event: PullEvent): void {
    try {
      onProgress({
        image,
        status: event.status ?? '',
        ...(typeof event.id === 'string' && event.id !== '' ? { layer: event.id } : {}),
        ...(typeof event.progressDetail?.current === 'number' ? { currentBytes: event.progressDetail.current } : {}),
        ...(typeof event.progressDetail?.total === 'number' ? { totalBytes: event.progressDetail.total } : {}),
      })
    } catch (error) {
      this.log.warn({ err: error, image }, 'pull progress callback threw')
    }
  }

  async create(spec: ContainerSpec): Promise<string> {
    const image = spec.workload.template.image
    try {
      const containerId = await this.docker.createContainer(containerCreateOptions(spec))
      this.log.debug({ containerId, name: spec.name, workload: spec.workload.name }, 'container created')
      return containerId
    } catch (error) {
      const context = { name: spec.name, image, workload: spec.workload.name }
      const status = httpStatus(error)
      if (status === 409) throw new RuntimeError('conflict', `create container ${spec.name}: the name is taken (${engineMessage(error)})`, context)
      if (status === 404 && /no such image/i.test(engineMessage(error))) {
        throw new RuntimeError('not-found', `create container ${spec.name}: image ${image} is not present; pull it first (${engineMessage(error)})`, context)
      }
      throw toRuntimeError(error, `create container ${spec.name}`, 'create-failed', context)
    }
  }

  /** Already running counts as done. */
  async start(containerId: string): Promise<void> {
    try {
      await this.docker.startContainer(containerId)
    } catch (error) {
      throw toRuntimeError(error, `start container ${containerId}`, 'failed', { containerId })
    }
  }

  /** Already stopped counts as done. */
  async stop(containerId: string, timeoutSeconds?: number): Promise<void> {
    try {
      await this.docker.stopContainer(containerId, timeoutSeconds === undefined ? undefined : Math.max(0, Math.round(timeoutSeconds)))
    } catch (error) {
      throw toRuntimeError(error, `stop container ${containerId}`, 'failed', { containerId })
    }
  }

  /**
   * Force-removes (a container the restart policy just revived still goes) with `v: true`:
   * that removes only anonymous volumes, which nothing could reuse anyway; named volumes,
   * the workload's data, always survive. Gone already, or being removed, counts as done.
   */
  async remove(containerId: string): Promise<void> {
    try {
      await this.docker.removeContainer(containerId, { force: true, volumes: true })
    } catch (error) {
      const status = httpStatus(error)
      if (status === 404) return
      if (status === 409 && /already in progress/i.test(engineMessage(error))) return
      throw toRuntimeError(error, `remove container ${containerId}`, 'failed', { containerId })
    }
  }

  /** Polls the detached exec: its output is not needed, and polling needs no stream hijacking. */
  async exec(containerId: string, command: readonly string[], timeoutMs: number): Promise<number> {
    const what = `exec in container ${containerId}`
    const deadline = Date.now() + timeoutMs
    try {
      const execId = await this.docker.createExec(containerId, command)
      await this.docker.startExec(execId)
      for (let wait = EXEC_POLL_FIRST_MS; ; wait = Math.min(wait * 2, EXEC_POLL_MAX_MS)) {
        const state = await this.docker.inspectExec(execId)
        if (!state.Running && state.ExitCode !== null) return state.ExitCode
        if (Date.now() >= deadline) break
        await new Promise((resolve) => setTimeout(resolve, Math.min(wait, Math.max(0, deadline - Date.now()))))
      }
    } catch (error) {
      if (httpStatus(error) === 404) throw new RuntimeError('not-found', `${what}: no such container`, { containerId })
      if (httpStatus(error) === 409) throw new RuntimeError('conflict', `${what}: ${engineMessage(error)}`, { containerId })
      throw toRuntimeError(error, what, 'failed', { containerId })
    }
    throw new RuntimeError('timeout', `${what}: ${command.join(' ')} did not finish within ${timeoutMs} ms`, { containerId })
  }

  /** Lines of both streams in the engine's order; with `follow`, until the signal aborts or the container stops. */
  async *logs(containerId: string, options: LogOptions): AsyncGenerator<LogLine> {
    const what = `read logs of container ${containerId}`
    let tty: boolean
    try {
      tty = (await this.docker.inspectContainer(containerId)).Config?.Tty ?? false
    } catch (error) {
      throw toRuntimeError(error, what, 'failed', { containerId })
    }
    const demux = new DockerLogDemuxer({ multiplexed: !tty, timestamps: options.timestamps ?? false })
    const query: LogQuery = {
      stdout: true,
      stderr: true,
      timestamps: options.timestamps ?? false,
      ...(options.tail !== undefined ? { tail: options.tail } : {}),
      // Fractional seconds are accepted by the engine; whole seconds would repeat lines.
      ...(options.since !== undefined ? { since: (options.since.getTime() / 1000).toFixed(3) } : {}),
    }
    if (!options.follow) {
      let bytes: Buffer
      try {
        bytes = await this.docker.containerLogs(containerId, query)
      } catch (error) {
        throw toRuntimeError(error, what, 'failed', { containerId })
      }
      let lines: LogLine[]
      try {
        lines = [...demux.push(bytes), ...demux.end()]
      } catch (error) {
        throw toRuntimeError(error, what, 'failed', { containerId })
      }
      yield* lines
      return
    }
    if (options.signal?.aborted) return
    let stream: IncomingMessage
    try {
      stream = await this.docker.followContainerLogs(containerId, query, options.signal)
    } catch (error) {
      if (options.signal?.aborted) return
      throw toRuntimeError(error, what, 'failed', { containerId })
    }
    try {
      for await (const chunk of stream) {
        yield* demux.push(chunk as Buffer)
      }
    } catch (error) {
      if (options.signal?.aborted) return
      throw toRuntimeError(error, what, 'failed', { containerId })
    } finally {
      stream.destroy()
    }
    let last: LogLine[]
    try {
      last = demux.end()
    } catch (error) {
      throw toRuntimeError(error, what, 'failed', { containerId })
    }
    yield* last
  }

  events(nodeId: string, signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    return followEvents({
      signal,
      logger: this.log,
      open: (since) => this.docker.events({ type: ['container'], label: [`${LABEL.node}=${nodeId}`], event: EVENT_ACTIONS }, since, signal),
    })
  }

  async listImages(): Promise<ImageInfo[]> {
    try {
      const images = await this.docker.listImages()
      return images.map((image) => ({
        id: image.Id,
        tags: (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>'),
        sizeBytes: image.Size,
        createdAt: new Date(image.Created * 1000),
      }))
    } catch (error) {
      throw toRuntimeError(error, 'list images', 'failed')
    }
  }

  /** Gone already counts as done; an image a container still uses fails with `conflict`. */
  async removeImage(imageId: string): Promise<void> {
    try {
      await this.docker.removeImage(imageId)
    } catch (error) {
      if (httpStatus(error) === 404) return
      throw toRuntimeError(error, `remove image ${imageId}`, 'failed', { imageId })
    }
  }

  /**
   * Used and total bytes of the filesystem holding the engine's data (DockerRootDir), by
   * statfs: cheap, unlike `docker system df`, which sizes every layer. Null when that path is
   * not visible from here (the agent in a container without it mounted).
   */
  async diskUsage(): Promise<RuntimeDiskUsage | null> {
    if (this.dockerRootDir === undefined) {
      try {
        const info = await this.docker.info()
        this.dockerRootDir = info.DockerRootDir ?? ''
      } catch (error) {
        throw toRuntimeError(error, 'read the engine info', 'failed')
      }
    }
    if (this.dockerRootDir === '') return null
    try {
      const fs = await statfs(this.dockerRootDir)
      return { usedBytes: (fs.blocks - fs.bfree) * fs.bsize, totalBytes: fs.blocks * fs.bsize }
    } catch (error) {
      this.log.debug({ err: error, path: this.dockerRootDir }, 'cannot statfs the Docker root dir')
      return null
    }
  }
}

interface PullEvent {
  readonly status?: string
  readonly id?: string
  readonly error?: string
  readonly errorDetail?: { readonly message?: string }
  readonly progressDetail?: { readonly current?: number; readonly total?: number }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
