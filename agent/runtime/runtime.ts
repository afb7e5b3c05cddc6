import type { ContainerTemplate, HealthState, Workload } from '../../protocol/index.js'

/** Labels on every container an agent owns; it never touches a container without them. */
export const LABEL = {
  node: 'io.shoal.node',
  workload: 'io.shoal.workload',
  deployment: 'io.shoal.deployment',
  revision: 'io.shoal.revision',
  configHash: 'io.shoal.config-hash',
  /** `name=version,...` of the Configs and the Secrets a container was given (absent when none). */
  configVersions: 'io.shoal.config-versions',
  secretVersions: 'io.shoal.secret-versions',
} as const

/**
 * One container the agent runs: a one-container copy itself, or one container of a
 * several-container copy (named COPY.CONTAINER; names hold no dots otherwise).
 */
export type ContainerWorkload = Omit<Workload, 'template' | 'fallback' | 'prefetch'> & { readonly template: ContainerTemplate }

export type ContainerRunState = 'created' | 'running' | 'restarting' | 'paused' | 'exited' | 'dead' | 'removing'

/** A container as the runtime reports it, reduced to what reconciling needs. */
export interface ObservedContainer {
  readonly id: string
  readonly name: string
  readonly workload: string
  readonly deployment: string
  readonly revision: number
  readonly configHash: string
  readonly state: ContainerRunState
  readonly exitCode: number | null
  readonly health: HealthState
  /** The engine's own restart counter (its restart policy at work). */
  readonly restartCount: number
  readonly startedAt: string | null
  readonly finishedAt: string | null
  /** The Config and Secret versions the container was created with (its labels); absent when none. */
  readonly configVersions?: Readonly<Record<string, number>>
  readonly secretVersions?: Readonly<Record<string, number>>
  /** The container's own IP on a bridge network; absent on host and none, or while it has none. */
  readonly address?: string
}

/**
 * What a workload's Config and Secret references come to on this node, ready for the engine:
 * env values, the host directories of its value volumes, and the versions they came from.
 * Holds secret values: never log it.
 */
export interface ContainerValues {
  /** Only the variables that refer to a Config or Secret key. */
  readonly env: Readonly<Record<string, string>>
  /** Config name → host directory with its files. */
  readonly configDirs: Readonly<Record<string, string>>
  /** Secret name → host directory (on tmpfs) with its files. */
  readonly secretDirs: Readonly<Record<string, string>>
  readonly configVersions: Readonly<Record<string, number>>
  readonly secretVersions: Readonly<Record<string, number>>
}

/** Registry credentials as the engine takes them (from the template inline, or read from a Secret). */
export interface RegistryCredentials {
  /** Default: the image's registry. */
  readonly registry?: string
  readonly username: string
  readonly password: string
}

/** Everything needed to create one container for a workload. */
export interface ContainerSpec {
  readonly nodeId: string
  readonly name: string
  readonly workload: ContainerWorkload
  readonly configHash: string
  /** The container whose network namespace this one joins (the first of a several-container copy on bridge or none). */
  readonly networkOf?: string
  /** Added to the io.shoal.* labels (an operator's own inventory labels, a test run id). */
  readonly extraLabels: Readonly<Record<string, string>>
  /** Present when the template refers to a Config or Secret. */
  readonly values?: ContainerValues
  /** The node's bound on a container's log when the template sets none (the firmware profile's, or 10Mi x 3). */
  readonly logDefaults?: ContainerLogLimits
}

/** How much log one container may keep on disk: files of maxSizeBytes, maxFiles of them. */
export interface ContainerLogLimits {
  readonly maxSizeBytes: number
  readonly maxFiles: number
}

export interface PullProgress {
  readonly image: string
  readonly status: string
  /** The layer a line is about (the engine's `id`); absent on lines about the whole image. */
  readonly layer?: string
  readonly currentBytes?: number
  readonly totalBytes?: number
}

export interface LogLine {
  readonly stream: 'stdout' | 'stderr'
  readonly text: string
  /** RFC 3339 time the engine recorded, when asked for timestamps. */
  readonly at?: string
}

export interface LogOptions {
  readonly tail?: number
  readonly since?: Date
  readonly follow?: boolean
  readonly timestamps?: boolean
  readonly signal?: AbortSignal
}

export type RuntimeEventAction = 'create' | 'start' | 'die' | 'stop' | 'destroy' | 'health_status' | 'oom' | 'restart'

export interface RuntimeEvent {
  readonly action: RuntimeEventAction
  readonly containerId: string
  readonly workload: string | null
  readonly exitCode?: number
  readonly health?: HealthState
  readonly at: Date
}

export interface ImageInfo {
  readonly id: string
  readonly tags: readonly string[]
  readonly sizeBytes: number
  readonly createdAt: Date
}

export interface RuntimeDiskUsage {
  readonly usedBytes: number
  readonly totalBytes: number
}

/** Typed failures from the runtime, so the reconciler can tell "retry later" from "this will never work". */
export class RuntimeError extends Error {
  constructor(
    readonly code: 'unavailable' | 'not-found' | 'pull-failed' | 'create-failed' | 'conflict' | 'timeout' | 'failed',
    message: string,
    readonly context: Readonly<Record<string, string>> = {},
  ) {
    super(message)
    this.name = 'RuntimeError'
  }
}

/**
 * What the agent needs from a container engine. Docker ships; another engine (containerd,
 * podman) implements this and nothing else changes.
 */
export interface ContainerRuntime {
  readonly name: string
  version(): Promise<string>
  /** Containers labelled for this node, running or not. */
  list(nodeId: string): Promise<ObservedContainer[]>
  imageExists(image: string): Promise<boolean>
  pull(image: string, credentials: RegistryCredentials | undefined, onProgress?: (progress: PullProgress) => void): Promise<void>
  create(spec: ContainerSpec): Promise<string>
  start(containerId: string): Promise<void>
  /** Without a timeout, the container's own grace period (its template's stopGracePeriod) applies. */
  stop(containerId: string, timeoutSeconds?: number): Promise<void>
  remove(containerId: string): Promise<void>
  logs(containerId: string, options: LogOptions): AsyncIterable<LogLine>
  /** Runs a command in a running container and resolves with its exit code; a `timeout` RuntimeError after `timeoutMs` (the command may run on: engines cannot kill an exec). */
  exec(containerId: string, command: readonly string[], timeoutMs: number): Promise<number>
  /** Engine events for this node's containers until the signal aborts; reconnects by itself. */
  events(nodeId: string, signal: AbortSignal): AsyncIterable<RuntimeEvent>
  listImages(): Promise<ImageInfo[]>
  removeImage(imageId: string): Promise<void>
  diskUsage(): Promise<RuntimeDiskUsage | null>
}
