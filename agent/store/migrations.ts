import type { Migration } from '../../common/sqlite/migrate.js'

/**
 * Ordered schema steps; `PRAGMA user_version` records how many have run. Never edit a step
 * that has shipped: add a new one. Each step runs in its own transaction with the version bump.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'initial',
    sql: `
      CREATE TABLE identity (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        node_id TEXT NOT NULL,
        hub_public_key TEXT,
        broker_url TEXT,
        username TEXT,
        password TEXT,
        enrolled_at TEXT
      );
      CREATE TABLE desired (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        generation INTEGER NOT NULL,
        body TEXT NOT NULL,
        signature TEXT NOT NULL,
        accepted_at TEXT NOT NULL
      );
      CREATE TABLE workload_state (
        name TEXT PRIMARY KEY,
        deployment TEXT NOT NULL,
        revision INTEGER NOT NULL,
        config_hash TEXT NOT NULL,
        container_id TEXT,
        state TEXT NOT NULL,
        health TEXT NOT NULL DEFAULT 'none',
        restarts INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER,
        last_error TEXT,
        recent_crashes TEXT NOT NULL DEFAULT '[]',
        backoff_until INTEGER NOT NULL DEFAULT 0,
        since TEXT NOT NULL
      );
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('status', 'event')),
        body TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE outbox_meta (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        next_seq INTEGER NOT NULL,
        dropped_events INTEGER NOT NULL DEFAULT 0
      );
    `,
  },
  {
    // A random id for this database's outbox: the hub dedupes by (node, epoch, seq), so a fresh
    // database after corruption may restart its seqs below the old ones (clock in the past) and
    // still be stored. A database that already has outbox state keeps the legacy epoch (''),
    // because its unacknowledged records were numbered against the hub's legacy mark.
    name: 'outbox-epoch',
    sql: `
      CREATE TABLE outbox_epoch (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        epoch TEXT NOT NULL
      );
      INSERT INTO outbox_epoch (id, epoch)
        SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM outbox_meta) OR EXISTS (SELECT 1 FROM outbox) THEN '' ELSE lower(hex(randomblob(16))) END;
    `,
  },
  {
    // Local revert (docs/agent.md): when a copy's revert window started, and the copies the
    // agent put back on their fallback. Both must outlive a reboot inside the window. The
    // template is the protocol's ContainerTemplate as JSON, like the desired document itself.
    name: 'local-revert',
    sql: `
      CREATE TABLE revert_window (
        workload TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        started_at INTEGER NOT NULL
      );
      CREATE TABLE local_revert (
        workload TEXT PRIMARY KEY,
        from_revision INTEGER NOT NULL,
        to_revision INTEGER NOT NULL,
        template TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
      );
    `,
  },
  {
    // The hub's reconnect hint (the cap of the reconnect backoff, from its fleet's size), so a
    // restarted agent reconnects as the hub last advised from its first attempt.
    name: 'reconnect-hint',
    sql: `
      CREATE TABLE reconnect_hint (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        cap_ms INTEGER NOT NULL,
        received_at TEXT NOT NULL
      );
    `,
  },
  {
    // A local revert keeps its fallback's Configs and Secrets with its template (JSON of the
    // protocol's WorkloadValues, Secrets still sealed; NULL when it had none).
    name: 'local-revert-values',
    sql: `ALTER TABLE local_revert ADD COLUMN vals TEXT;`,
  },
  {
    // Bytes the agent counted per calendar month (its local time) and category, for bandwidth
    // budgets (agent/bandwidth/traffic-meter.ts); saved in batches, not per message.
    name: 'traffic',
    sql: `
      CREATE TABLE traffic (
        month TEXT NOT NULL,
        category TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (month, category)
      );
    `,
  },
  {
    // Cron jobs run from the static directory (agent/jobs/): per cron job, the latest firing
    // handled (persisted before acting, so a clock stepping back never fires twice) and a hash
    // of its schedule and zone (a changed one starts afresh from the time it was accepted); and
    // each run, with the template it started with (the protocol's WorkloadTemplate as JSON: an
    // edited manifest changes later runs, never restarts one under way) and its outcome.
    name: 'cron-jobs',
    sql: `
      CREATE TABLE cron_fire_state (
        cron_job TEXT PRIMARY KEY,
        spec_hash TEXT NOT NULL,
        handled_through INTEGER NOT NULL,
        accepted_at INTEGER NOT NULL
      );
      CREATE TABLE cron_run (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        cron_job TEXT NOT NULL,
        scheduled_at INTEGER NOT NULL,
        workload TEXT NOT NULL UNIQUE,
        template TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        exit_code INTEGER,
        outcome TEXT CHECK (outcome IN ('succeeded', 'failed')),
        reason TEXT,
        reported INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX cron_run_job ON cron_run (cron_job, finished_at);
    `,
  },
  {
    // When each cron job fires next, as the runner last decided (shown by `shoal agent status`,
    // which reads the database alone and cannot compute it without the manifest); NULL: never.
    name: 'cron-next-fire',
    sql: `ALTER TABLE cron_fire_state ADD COLUMN next_fire_at INTEGER;`,
  },
  {
    // Which try of its firing a cron run is (1 = the first; more with the jobTemplate's
    // backoffLimit). A retry is stored when the try before it fails, with started_at in the future.
    name: 'cron-run-attempts',
    sql: `ALTER TABLE cron_run ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;`,
  },
]
