import { randomBytes } from 'node:crypto'
import {
  RuntimeError,
  type ContainerRunState,
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

/**
 * SIMULATED: a container engine held in memory, so that "hollow" agents (the real agent code
 * over this runtime) can stand in for a fleet in fleet-scale benchmarks, the way Kubernetes'
 * kubemark runs hollow kubelets. Nothing is executed; containers "run" until told to stop or
 * crash. Besides benchmarks, unit tests drive the reconciler over it (test/unit/reconciler.test.ts)
 * where the engine's behaviour is not what is tested; everything about Docker itself is
 * tested against the real engine.
 */

/** One lifecycle change, with the node that owns the container, for observers (benchmarks time fan-out with it). */
export interface HollowRuntimeEvent extends RuntimeEvent {
  readonly nodeId: string
  readonly name: string
  readonly revision: number
}

export interface HollowRuntimeOptions {
  /** Images the simulated engine holds from the start (tags such as `shoal-test/busybox:1`). */
  readonly images?: readonly string[]
  /** Added to every simulated engine call, in milliseconds (default 0: no engine cost at all). */
  readonly latencyMs?: number
  /** Sees every simulated lifecycle change. */
  readonly onEvent?: (event: HollowRuntimeEvent) => void
}

interface HollowContainer {
  readonly id: string
  readonly spec: ContainerSpec
  state: ContainerRunState
  exitCode: number | null
  restartCount: number
  startedAt: string | null
  finishedAt: string | null
}

interface Subscriber {
  readonly nodeId: string
  readonly push: (event: RuntimeEvent) => void
}

/** The simulated runtime; one instance per hollow agent (or shared: containers are kept per node label). */
export class HollowRuntime implements ContainerRuntime {
  readonly name = 'hollow (simulated)'
  private readonly containers = new Map<string, HollowContainer>()
  private readonly images = new Map<string, ImageInfo>()
  private readonly subscribers = new Set<Subscriber>()

  constructor(private readonly options: HollowRuntimeOptions = {}) {
    for (const tag of options.images ?? []) this.addImage(tag)
  }

  async version(): Promise<string> {
    await this.delay()
    return '0.0.0-hollow'
  }

  async list(nodeId: string): Promise<ObservedContainer[]> {
    await this.delay()
    return [...this.containers.values()].filter((c) => c.spec.nodeId === nodeId).map(observed)
  }

  async imageExists(image: string): Promise<boolean> {
    await this.delay()
    return this.images.has(image)
  }

  async pull(image: string, _credentials: RegistryCredentials | undefined, onProgress?: (progress: PullProgress) => void): Promise<void> {
    await this.delay()
    onProgress?.({ image, status: 'Pull complete (simulated)' })
    this.addImage(image)
  }

  async create(spec: ContainerSpec): Promise<string> {
    await this.delay()
    const image = spec.workload.template.image
    if (!this.images.has(image))
      throw new RuntimeError('not-found', `create container ${spec.name}: image ${image} is not present; pull it first (simulated engine)`, {
        name: spec.name,
        image,
      })
    if ([...this.containers.values()].some((c) => c.spec.name === spec.name)) {
      throw new RuntimeError('conflict', `create container ${spec.name}: the name is taken (simulated engine)`, { name: spec.name })
    }
    const id = randomBytes(32).toString('hex')
    const container: HollowContainer = { id, spec, state: 'created', exitCode: null, restartCount: 0, startedAt: null, finishedAt: null }
    this.containers.set(id, container)
    this.emit(container, 'create')
    return id
  }

  async start(containerId: string): Promise<void> {
    await this.delay()
    const container = this.require(containerId, 'start')
    if (container.state === 'running') return
    container.state = 'running'
    container.exitCode = null
    container.startedAt = new Date().toISOString()
    this.emit(container, 'start')
  }

  async stop(containerId: string, _timeoutSeconds?: number): Promise<void> {
    await this.delay()
    const container = this.require(containerId, 'stop')
    if (container.state !== 'running') return
    container.state = 'exited'
    container.exitCode = 143
    container.finishedAt = new Date().toISOString()
    this.emit(container, 'die', 143)
    this.emit(container, 'stop')
  }

  async remove(containerId: string): Promise<void> {
    await this.delay()
    const container = this.containers.get(containerId)
    if (!container) return
    if (container.state === 'running') {
      container.state = 'exited'
      container.exitCode = 137
      this.emit(container, 'die', 137)
    }
    this.containers.delete(containerId)
    this.emit(container, 'destroy')
  }

  /** SIMULATED fault: the container's process exits by itself with this code, as a crash does. */
  crash(containerId: string, exitCode: number): void {
    const container = this.require(containerId, 'crash')
    if (container.state !== 'running') return
    container.state = 'exited'
    container.exitCode = exitCode
    container.finishedAt = new Date().toISOString()
    this.emit(container, 'die', exitCode)
  }

  // Simulated containers print nothing.
  async *logs(containerId: string, _options: LogOptions): AsyncGenerator<LogLine> {
    await this.delay()
    this.require(containerId, 'read logs of')
  }

  /** Events for this node's containers until the signal aborts. */
  /** A hollow container passes every command. */
  async exec(containerId: string, _command: readonly string[], _timeoutMs: number): Promise<number> {
    if (!this.containers.has(containerId)) throw new RuntimeError('not-found', `no such container ${containerId}`, { containerId })
    return 0
  }

  async *events(nodeId: string, signal: AbortSignal): AsyncGenerator<RuntimeEvent> {
    const queue: RuntimeEvent[] = []
    let wake: (() => void) | null = null
    const subscriber: Subscriber = {
      nodeId,
      push: (event) => {
        queue.push(event)
        wake?.()
      },
    }
    const onAbort = (): void => wake?.()
    this.subscribers.add(subscriber)
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      while (!signal.aborted) {
        const next = queue.shift()
        if (next) {
          yield next
          continue
        }
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = null
      }
    } finally {
      this.subscribers.delete(subscriber)
      signal.removeEventListener('abort', onAbort)
    }
  }

  async listImages(): Promise<ImageInfo[]> {
    await this.delay()
    return [...this.images.values()]
  }

  async removeImage(imageId: string): Promise<void> {
    await this.delay()
    const image = [...this.images.entries()].find(([, info]) => info.id === imageId)
    if (!image) return
    const tags = new Set(image[1].tags)
    if ([...this.containers.values()].some((c) => tags.has(c.spec.workload.template.image))) {
      throw new RuntimeError('conflict', `remove image ${imageId}: a container uses it (simulated engine)`, { imageId })
    }
    this.images.delete(image[0])
  }

  async diskUsage(): Promise<RuntimeDiskUsage | null> {
    await this.delay()
    return null
  }

  private addImage(tag: string): void {
    if (this.images.has(tag)) return
    this.images.set(tag, { id: `sha256:${randomBytes(32).toString('hex')}`, tags: [tag], sizeBytes: 0, createdAt: new Date() })
  }

  private require(containerId: string, what: string): HollowContainer {
    const container = this.containers.get(containerId)
    if (!container) throw new RuntimeError('not-found', `${what} container ${containerId}: no such container (simulated engine)`, { containerId })
    return container
  }

  private emit(container: HollowContainer, action: RuntimeEvent['action'], exitCode?: number): void {
    const event: RuntimeEvent = {
      action,
      containerId: container.id,
      workload: container.spec.workload.name,
      at: new Date(),
      ...(exitCode !== undefined ? { exitCode } : {}),
    }
    for (const subscriber of this.subscribers) if (subscriber.nodeId === container.spec.nodeId) subscriber.push(event)
    this.options.onEvent?.({ ...event, nodeId: container.spec.nodeId, name: container.spec.name, revision: container.spec.workload.revision })
  }

  private async delay(): Promise<void> {
    const ms = this.options.latencyMs ?? 0
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
  }
}

function observed(container: HollowContainer): ObservedContainer {
  const { spec } = container
  return {
    id: container.id,
    name: spec.name,
    workload: spec.workload.name,
    deployment: spec.workload.deployment,
    revision: spec.workload.revision,
    configHash: spec.configHash,
    state: container.state,
    exitCode: container.state === 'exited' || container.state === 'dead' ? container.exitCode : null,
    health: 'none',
    restartCount: container.restartCount,
    startedAt: container.startedAt,
    finishedAt: container.finishedAt,
    ...(spec.values && Object.keys(spec.values.configVersions).length > 0 ? { configVersions: spec.values.configVersions } : {}),
    ...(spec.values && Object.keys(spec.values.secretVersions).length > 0 ? { secretVersions: spec.values.secretVersions } : {}),
  }
}
