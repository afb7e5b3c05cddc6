/**
 * The hub's schema, as ordered steps run by `migrate` (PRAGMA user_version). Never edit a step
 * that has shipped: add a new one.
 */
export const HUB_MIGRATIONS: readonly { readonly name: string; readonly sql: string }[] = [
  {
    name: 'initial',
    sql: `
      CREATE TABLE nodes (
        id TEXT PRIMARY KEY,
        labels TEXT NOT NULL DEFAULT '{}',
        capabilities TEXT NOT NULL DEFAULT '[]',
        arch TEXT NOT NULL,
        profile TEXT NOT NULL,
        inventory TEXT NOT NULL,
        capacity TEXT NOT NULL,
        reserved TEXT NOT NULL,
        heartbeat_interval_ms INTEGER NOT NULL DEFAULT 30000,
        cordoned INTEGER NOT NULL DEFAULT 0,
        online INTEGER NOT NULL DEFAULT 0,
        offline_since TEXT,
        last_seen_at TEXT,
        last_heartbeat TEXT,
        observed_generation INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
      );
      CREATE TABLE node_credentials (
        node_id TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL
      );
      CREATE TABLE join_tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        labels TEXT NOT NULL DEFAULT '{}',
        max_uses INTEGER,
        uses INTEGER NOT NULL DEFAULT 0,
        expires_at TEXT,
        created_at TEXT NOT NULL
      );
      CREATE TABLE deployments (
        name TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        manifest TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE deployment_revisions (
        name TEXT NOT NULL,
        revision INTEGER NOT NULL,
        manifest TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (name, revision)
      );
      CREATE TABLE placements (
        node_id TEXT NOT NULL,
        workload TEXT NOT NULL,
        deployment TEXT NOT NULL,
        replica INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (node_id, workload)
      );
      CREATE INDEX placements_by_deployment ON placements (deployment);
      CREATE TABLE desired_documents (
        node_id TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        body TEXT NOT NULL,
        issued_at TEXT NOT NULL
      );
      CREATE TABLE node_seq (
        node_id TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL
      );
      CREATE TABLE workload_status (
        node_id TEXT NOT NULL,
        workload TEXT NOT NULL,
        deployment TEXT NOT NULL,
        revision INTEGER NOT NULL,
        state TEXT NOT NULL,
        health TEXT NOT NULL,
        restarts INTEGER NOT NULL,
        exit_code INTEGER,
        message TEXT,
        container_id TEXT,
        since TEXT NOT NULL,
        reported_at TEXT NOT NULL,
        PRIMARY KEY (node_id, workload)
      );
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        node_id TEXT,
        seq INTEGER,
        type TEXT NOT NULL,
        severity TEXT NOT NULL,
        workload TEXT,
        message TEXT NOT NULL,
        data TEXT,
        at TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
      CREATE INDEX events_by_node ON events (node_id, id);
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT
      );
    `,
  },
  {
    // Each node's broker password in Mosquitto's ($7$ PBKDF2-SHA512) and nats-server's (bcrypt)
    // formats, so the hub can write those brokers' user files at any time (hub/broker-config).
    name: 'broker-credentials',
    sql: `
      CREATE TABLE broker_credentials (
        node_id TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
        mosquitto_hash TEXT NOT NULL,
        nats_hash TEXT NOT NULL
      );
    `,
  },
  {
    // The bcrypt hash becomes optional: it is made only when the hub's transport is NATS
    // (hub/broker-config/password-hashes.ts, nodeBrokerHashes). SQLite cannot drop NOT NULL in
    // place, so the table is rebuilt; nothing references it.
    name: 'broker-credentials-nats-optional',
    sql: `
      CREATE TABLE broker_credentials_v3 (
        node_id TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
        mosquitto_hash TEXT NOT NULL,
        nats_hash TEXT
      );
      INSERT INTO broker_credentials_v3 (node_id, mosquitto_hash, nats_hash) SELECT node_id, mosquitto_hash, nats_hash FROM broker_credentials;
      DROP TABLE broker_credentials;
      ALTER TABLE broker_credentials_v3 RENAME TO broker_credentials;
    `,
  },
  {
    // Dedupe moves from (node, seq) to (node, epoch, seq): an agent whose database was recreated
    // starts a new epoch whose seqs may be lower (clock in the past). What node_seq held is the
    // legacy epoch ('') of each node, which agents from before epochs keep using.
    name: 'outbox-epochs',
    sql: `
      CREATE TABLE node_epoch_seq (
        node_id TEXT NOT NULL,
        epoch TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (node_id, epoch)
      );
      INSERT INTO node_epoch_seq (node_id, epoch, last_seq) SELECT node_id, '', last_seq FROM node_seq;
      DROP TABLE node_seq;
    `,
  },
  {
    // Progressive delivery: each copy runs the revision its rollout assigned it (NULL rows come
    // from before rollouts: they run the deployment's revision of the time), and the hub's own
    // clock says since when it has been ready. One rollout record per deployment.
    name: 'rollouts',
    sql: `
      ALTER TABLE placements ADD COLUMN revision INTEGER;
      ALTER TABLE placements ADD COLUMN ready_since INTEGER;
      ALTER TABLE workload_status ADD COLUMN revert TEXT;
      UPDATE placements SET revision = (SELECT revision FROM deployments WHERE deployments.name = placements.deployment);
      CREATE TABLE rollouts (
        deployment TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    // The hub keeps its own time (issue 20): when each node's latest heartbeat arrived, the
    // node's clock offset estimated from heartbeats and since when it has had ClockSkew, and
    // when each workload's state began on the hub's clock (hub_since; since stays the node's).
    name: 'hub-time',
    sql: `
      ALTER TABLE nodes ADD COLUMN heartbeat_received_at TEXT;
      ALTER TABLE nodes ADD COLUMN clock_offset_ms INTEGER;
      ALTER TABLE nodes ADD COLUMN clock_skew_since TEXT;
      ALTER TABLE workload_status ADD COLUMN hub_since TEXT;
    `,
  },
  {
    // Configs and Secrets (issue 12): each object's current version, every version a revision may
    // still pin (a Secret's body encrypted at rest), the versions each revision pins, the node's
    // sealing key, and the versions each copy reported running.
    name: 'config-objects',
    sql: `
      CREATE TABLE config_objects (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        labels TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (kind, name)
      );
      CREATE TABLE config_object_versions (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (kind, name, version)
      );
      ALTER TABLE deployment_revisions ADD COLUMN pins TEXT;
      ALTER TABLE nodes ADD COLUMN sealing_key TEXT;
      ALTER TABLE workload_status ADD COLUMN object_versions TEXT;
    `,
  },
  {
    // Devices and node policy (issue 19): what each node last reported, as JSON (a sorted list of
    // device paths; a NodePolicy). NULL: never reported, so the scheduler assumes no devices and
    // the default policy.
    name: 'node-devices-policy',
    sql: `
      ALTER TABLE nodes ADD COLUMN devices TEXT;
      ALTER TABLE nodes ADD COLUMN policy TEXT;
    `,
  },
  {
    // Readiness (issue 19): whether the copy passed its readiness check, as the agent reported;
    // NULL from agents that predate it (readiness is then judged from state and health).
    name: 'workload-ready',
    sql: `
      ALTER TABLE workload_status ADD COLUMN ready INTEGER;
    `,
  },
  {
    // Several containers in one copy (issue 19): each container's state as the agent reported it,
    // as JSON (a list of ContainerStatus); NULL for a one-container copy.
    name: 'workload-containers',
    sql: `
      ALTER TABLE workload_status ADD COLUMN containers TEXT;
    `,
  },
  {
    // Alerts (issue 16): one row per occurrence of a rule's condition, times in epoch ms on the
    // hub's clock. A row is open until it is resolved and acknowledged; a key has at most one
    // open row (hub/alerts/alert-lifecycle.ts), closed rows are history.
    name: 'alerts',
    sql: `
      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        node_id TEXT,
        deployment TEXT,
        workload TEXT,
        message TEXT NOT NULL,
        state TEXT NOT NULL,
        holding_since INTEGER,
        fired_at INTEGER,
        resolved_at INTEGER,
        acknowledged_at INTEGER,
        acknowledged_by TEXT
      );
      CREATE INDEX alerts_by_state ON alerts (state, acknowledged_at);
    `,
  },
  {
    // YAML in, YAML out (issue 16): each deployment's manifest as last applied, the document as
    // written (field order kept, no defaults), as JSON; NULL for deployments applied before.
    name: 'deployment-applied',
    sql: `
      ALTER TABLE deployments ADD COLUMN applied TEXT;
    `,
  },
  {
    // Bandwidth budgets (issue 15): a revision applied with --pull-now carries pullNow in the
    // desired documents, and its images are pulled whatever the nodes' bandwidth rules say.
    name: 'revision-pull-now',
    sql: `
      ALTER TABLE deployment_revisions ADD COLUMN pull_now INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    // Prefetch (issue 15): how the pull-ahead of a copy's next revision stands on its node, as
    // the agent reported it (JSON); the rollout moves the copy once it says present.
    name: 'workload-prefetch',
    sql: `
      ALTER TABLE workload_status ADD COLUMN prefetch TEXT;
    `,
  },
  {
    // Cron jobs the hub delivers (issue 17): each as last applied, with a revision per change; and
    // per cron job and node its recent runs, skips and misses as the agents' events report them
    // (one row per run try, skip or missed batch, keyed so an event delivered twice is one row),
    // bounded by the cron job's history limits, with running totals of skips and misses beside.
    name: 'cron-jobs',
    sql: `
      CREATE TABLE cron_jobs (
        name TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        manifest TEXT NOT NULL,
        applied TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE cron_runs (
        cron_job TEXT NOT NULL,
        node_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        scheduled_at TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        workload TEXT,
        outcome TEXT,
        exit_code INTEGER,
        reason TEXT,
        started_at TEXT,
        finished_at TEXT,
        count INTEGER NOT NULL DEFAULT 1,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (cron_job, node_id, kind, scheduled_at, attempt)
      );
      CREATE TABLE cron_counts (
        cron_job TEXT NOT NULL,
        node_id TEXT NOT NULL,
        skipped INTEGER NOT NULL DEFAULT 0,
        missed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (cron_job, node_id)
      );
    `,
  },
  {
    // Jobs (issue 17): each Job as applied (uid never reused: its copies carry it as their
    // revision, so a report about a deleted job's copy is not taken for a new job's of the same
    // name), how it ended, and every copy attempt, times in epoch ms on the hub's clock. A copy's
    // last lines of output, as its node reported them when it exited, are kept with it: its
    // container is removed once the outcome is recorded. workload_status keeps the lines a node
    // reports, so the job controller can copy them.
    name: 'jobs',
    sql: `
      CREATE TABLE jobs (
        uid INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        manifest TEXT NOT NULL,
        applied TEXT,
        created_at INTEGER NOT NULL,
        condition TEXT NOT NULL,
        finished_at INTEGER
      );
      CREATE TABLE job_runs (
        job_uid INTEGER NOT NULL,
        copy_index INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        node_id TEXT NOT NULL,
        workload TEXT NOT NULL,
        state TEXT NOT NULL,
        exit_code INTEGER,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        reason TEXT,
        log_lines TEXT,
        PRIMARY KEY (job_uid, copy_index, attempt)
      );
      ALTER TABLE workload_status ADD COLUMN last_log_lines TEXT;
    `,
  },
  {
    // Remote sessions (issue 13): one row per session the hub relayed, written when it opens and
    // again when it ends (bytes each way at the end). A row with no ended_at when the hub starts
    // was cut by a restart and is closed as such.
    name: 'sessions',
    sql: `
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        node_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        workload TEXT,
        container TEXT,
        detail TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        exit_code INTEGER,
        error TEXT,
        bytes_in INTEGER NOT NULL DEFAULT 0,
        bytes_out INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX sessions_by_node ON sessions (node_id, started_at);
      CREATE INDEX sessions_by_start ON sessions (started_at);
    `,
  },
]
