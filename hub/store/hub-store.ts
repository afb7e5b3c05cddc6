import type { Database } from 'better-sqlite3'
import { AlertRepository } from './alert-repository.js'
import { AuditRepository } from './audit-repository.js'
import { ConfigObjectRepository } from './config-object-repository.js'
import { CredentialRepository } from './credential-repository.js'
import { CronJobRepository } from './cron-job-repository.js'
import { DeploymentRepository } from './deployment-repository.js'
import { DesiredRepository } from './desired-repository.js'
import { JobRepository } from './job-repository.js'
import { NodeRepository } from './node-repository.js'
import { RolloutRepository } from './rollout-repository.js'
import { SessionRepository } from './session-repository.js'
import { StatusRepository } from './status-repository.js'
import { TokenRepository } from './token-repository.js'

/** The hub's SQLite store, one repository per concept over one connection. */
export class HubStore {
  readonly nodes: NodeRepository
  readonly deployments: DeploymentRepository
  readonly desired: DesiredRepository
  readonly rollouts: RolloutRepository
  readonly status: StatusRepository
  readonly credentials: CredentialRepository
  readonly tokens: TokenRepository
  readonly audit: AuditRepository
  readonly configObjects: ConfigObjectRepository
  readonly alerts: AlertRepository
  readonly cronJobs: CronJobRepository
  readonly jobs: JobRepository
  readonly sessions: SessionRepository

  constructor(readonly db: Database) {
    this.nodes = new NodeRepository(db)
    this.deployments = new DeploymentRepository(db)
    this.desired = new DesiredRepository(db)
    this.rollouts = new RolloutRepository(db)
    this.status = new StatusRepository(db)
    this.credentials = new CredentialRepository(db)
    this.tokens = new TokenRepository(db)
    this.audit = new AuditRepository(db)
    this.configObjects = new ConfigObjectRepository(db)
    this.alerts = new AlertRepository(db)
    this.cronJobs = new CronJobRepository(db)
    this.jobs = new JobRepository(db)
    this.sessions = new SessionRepository(db)
  }

  /** Runs fn in one transaction (synchronous: no await inside). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)()
  }

  /** A consistent copy of the live database (SQLite's online backup API). */
  async backup(destination: string): Promise<void> {
    await this.db.backup(destination)
  }

  close(): void {
    this.db.close()
  }
}
