// Kept apart from static-workloads.ts, which loads the YAML parser: the cron runner needs these
// names on every agent with a static directory, and the module graph of one without stays small.

/** The prefix of every workload from the static directory, so none collides with what the hub sends. */
export const STATIC_PREFIX = 'static-'

/**
 * Static Deployment names may not begin with this: a cron job's runs are workloads named
 * `static-cron-<job>-<id>` (agent/jobs/run-naming.ts), which such a deployment could take.
 */
export const CRON_RUN_STEM = 'cron-'
