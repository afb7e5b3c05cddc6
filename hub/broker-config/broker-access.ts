import type { Database } from 'better-sqlite3'
import type { Logger } from 'pino'
import { randomSecret } from '../store/credential-repository.js'
import { BrokerCredentialRepository } from './broker-credential-repository.js'
import { renderBrokerFiles, writeBrokerFiles } from './broker-files.js'
import { probeUntilAccepted, type BrokerProbe } from './broker-probe.js'
import { signalReload } from './broker-reload.js'
import { HUB_BROKER_USERNAME, RELOAD_CHECK_USERNAME, type BrokerAuthInput, type BrokerKind, type BrokerUser } from './broker-users.js'
import { brokerHashes } from './password-hashes.js'

export interface BrokerAccessOptions {
  readonly kind: BrokerKind
  /** Where the broker's password/ACL or authorization files go. */
  readonly dir: string
  readonly db: Database
  readonly hubPassword: string
  /** PIDs or pid files to send SIGHUP after each rewrite (none: the operator reloads). */
  readonly reloadTargets: readonly string[]
  /** A login attempt against the broker, to confirm a reload took effect; null to skip. */
  readonly probe: BrokerProbe | null
  readonly logger: Logger
  readonly confirmTimeoutMs?: number
}

export interface BrokerSyncResult {
  readonly files: readonly string[]
  readonly nodes: number
  /** Nodes left out for lack of a hash in this broker's format (see BrokerCredentialRepository.users). */
  readonly missing: readonly string[]
  readonly signalled: readonly number[]
  /** true: the broker accepted this rewrite's reload-check login; null: nothing to confirm with. */
  readonly confirmed: boolean | null
  readonly error?: string
}

/** Builds the configuration input from the store: hub, optional reload check, every node with credentials. */
export function brokerAuthInput(db: Database, kind: BrokerKind, hub: BrokerUser, reloadCheck?: BrokerUser): { input: BrokerAuthInput; missing: string[] } {
  const { users, missing } = new BrokerCredentialRepository(db).users(kind)
  return { input: { hub, nodes: users, ...(reloadCheck ? { reloadCheck } : {}) }, missing }
}

/**
 * Keeps an external broker's users and rights in step with the hub's store: rewrites the files
 * after every enrollment and revocation, asks the broker to reload, and confirms the reload by
 * logging in as a rights-less user whose password is new in this rewrite. Requests that arrive
 * while a rewrite runs share the next one, so a burst of enrollments costs two rewrites, not one
 * each. `sync` never throws: an operator-facing result says what happened.
 */
export class BrokerAccess {
  private readonly hub: BrokerUser
  private readonly logger: Logger
  private running: Promise<BrokerSyncResult> | null = null
  private queued: Promise<BrokerSyncResult> | null = null

  constructor(private readonly options: BrokerAccessOptions) {
    this.hub = { username: HUB_BROKER_USERNAME, hashes: brokerHashes(options.hubPassword) }
    this.logger = options.logger.child({ component: 'broker-access', broker: options.kind })
  }

  get kind(): BrokerKind {
    return this.options.kind
  }

  sync(reason: string): Promise<BrokerSyncResult> {
    if (this.queued !== null) return this.queued
    const previous = this.running ?? Promise.resolve(null)
    // .then runs later, so `next` is assigned by the time the callback reads it
    const next: Promise<BrokerSyncResult> = previous
      .catch(() => null)
      .then(async () => {
        this.queued = null
        this.running = next
        try {
          return await this.syncNow(reason)
        } finally {
          if (this.running === next) this.running = null
        }
      })
    this.queued = next
    return next
  }

  private async syncNow(reason: string): Promise<BrokerSyncResult> {
    const { kind, dir, reloadTargets, probe } = this.options
    const confirm = reloadTargets.length > 0 && probe !== null
    const checkPassword = randomSecret(24)
    let files: string[]
    let nodes = 0
    let missing: string[] = []
    try {
      const built = brokerAuthInput(
        this.options.db,
        kind,
        this.hub,
        confirm ? { username: RELOAD_CHECK_USERNAME, hashes: brokerHashes(checkPassword) } : undefined,
      )
      nodes = built.input.nodes.length
      missing = built.missing
      files = writeBrokerFiles(dir, renderBrokerFiles(kind, built.input))
    } catch (error) {
      this.logger.error({ err: error, reason }, 'cannot write the broker configuration')
      return { files: [], nodes, missing, signalled: [], confirmed: false, error: (error as Error).message }
    }
    if (missing.length > 0)
      this.logger.warn(
        { nodes: missing },
        'nodes without a password hash for this broker (enrolled before the hub kept broker hashes, or, for NATS, while the hub was not on NATS) are left out; enroll them again',
      )
    if (reloadTargets.length === 0) {
      this.logger.info({ reason, files, nodes }, 'broker configuration written; reload the broker to apply it')
      return { files, nodes, missing, signalled: [], confirmed: null }
    }
    const reload = signalReload(reloadTargets)
    for (const failure of reload.failed) this.logger.error({ target: failure.target, reason: failure.reason }, 'cannot signal the broker to reload')
    let confirmed: boolean | null = null
    if (confirm && probe) {
      confirmed = await probeUntilAccepted(probe, RELOAD_CHECK_USERNAME, checkPassword, { timeoutMs: this.options.confirmTimeoutMs ?? 10_000, intervalMs: 100 })
      if (!confirmed)
        this.logger.error(
          { reason, files },
          'the broker did not take up the new configuration in time; check that it reads these files and that the hub may signal it',
        )
    }
    this.logger.info({ reason, nodes, signalled: reload.signalled, confirmed }, 'broker configuration written and reloaded')
    return {
      files,
      nodes,
      missing,
      signalled: reload.signalled,
      confirmed,
      ...(reload.failed.length > 0 ? { error: reload.failed.map((f) => `${f.target}: ${f.reason}`).join('; ') } : {}),
    }
  }
}
