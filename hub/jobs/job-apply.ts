/**
 * Applying a Job manifest: a new job, the same job again (nothing happens), or a change to the
 * fields that may change while it runs. Everything else about a job is fixed once applied, as in
 * Kubernetes: its copies already ran with it. Pure but for the repository it is given.
 */
import { canonicalJson, type Job, type JobSpec } from '../../protocol/index.js'
import type { JobRecord, JobRepository } from '../store/job-repository.js'
import type { JobCondition } from './job-controller.js'

/** What a re-apply may change: how many copies run at once, the deadline, the ttl, and labels. */
export const MUTABLE_JOB_FIELDS = ['parallelism', 'activeDeadline', 'ttlAfterFinished'] as const satisfies readonly (keyof JobSpec)[]

/** A re-applied Job whose fixed fields differ from the stored one's: delete it and apply again. */
export class JobImmutableError extends Error {
  constructor(
    readonly job: string,
    readonly fields: readonly string[],
  ) {
    super(
      `Job "${job}": ${fields.map((f) => `spec.${f}`).join(', ')} cannot change after the job is applied (only ${MUTABLE_JOB_FIELDS.map((f) => `spec.${f}`).join(', ')} and labels can); delete it (shoal delete job ${job}) and apply it again`,
    )
    this.name = 'JobImmutableError'
  }
}

export interface JobApplied {
  readonly kind: 'Job'
  readonly name: string
  readonly outcome: 'created' | 'configured' | 'unchanged'
  /** The job's uid: its copies' revision. */
  readonly revision: number
}

export const CREATED_CONDITION: JobCondition = { type: 'Active', reason: 'Created', message: 'waiting for the first pass' }

/** Must run inside the apply's transaction. */
export function applyJob(jobs: JobRepository, manifest: Job, written: Readonly<Record<string, unknown>>, now: number): JobApplied {
  const name = manifest.metadata.name
  const current = jobs.get(name)
  if (current === null) {
    const created = jobs.create(manifest, written, now, CREATED_CONDITION)
    return { kind: 'Job', name, outcome: 'created', revision: created.uid }
  }
  const changed = fixedFieldsChanged(current, manifest)
  if (changed.length > 0) throw new JobImmutableError(name, changed)
  if (canonicalJson(current.manifest) === canonicalJson(manifest)) return { kind: 'Job', name, outcome: 'unchanged', revision: current.uid }
  jobs.update(current.uid, manifest, written)
  return { kind: 'Job', name, outcome: 'configured', revision: current.uid }
}

function fixedFieldsChanged(current: JobRecord, next: Job): string[] {
  const mutable = new Set<string>(MUTABLE_JOB_FIELDS)
  const keys = new Set([...Object.keys(current.manifest.spec), ...Object.keys(next.spec)])
  const before = current.manifest.spec as Record<string, unknown>
  const after = next.spec as Record<string, unknown>
  return [...keys].filter((key) => !mutable.has(key) && canonicalJson(before[key] ?? null) !== canonicalJson(after[key] ?? null)).sort()
}
