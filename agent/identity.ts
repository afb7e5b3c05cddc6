import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { isRenamedFrom, type Inventory } from '../protocol/index.js'
import { isoNow, type Clock } from '../common/clock.js'
import { PRIVATE_FILE_MODE } from '../common/fs/private-files.js'
import { readPackageVersion } from '../common/version.js'
import { AgentConfigError, nodeNameFromHostname, type AgentConfig } from './config.js'
import { enrollWithHub, identityFromEnrollment } from './enroll.js'
import type { AgentStore, Identity } from './store/agent-store.js'

/** A copy of the identity outside SQLite, so a corrupt database does not cost the node its enrollment. */
export const IDENTITY_FILE = 'identity.json'

export interface SettleIdentityOptions {
  readonly config: AgentConfig
  readonly store: AgentStore
  readonly inventory: Inventory
  readonly logger: Logger
  readonly clock: Clock
}

/**
 * The identity this node runs under: the stored one (or its mirror file after a corrupt database
 * was moved aside), checked against the command line, enrolled with the hub when a token asks for
 * it, then saved to the store and its mirror. Throws AgentConfigError when the command line and
 * the data directory disagree; the caller closes the store.
 */
export async function settleIdentity({ config, store, inventory, logger, clock }: SettleIdentityOptions): Promise<Identity> {
  // The database is the record; the mirror file restores it after a corrupt file was moved aside.
  const known = store.identity() ?? readIdentityMirror(config.dataDir)
  let identity = startingIdentity(known, config, hostname())
  if (needsEnrollment(config, known)) {
    identity = await enrollNode(config, identity, inventory, logger, clock)
  } else if (config.token && known?.enrolledAt) {
    logger.info({ nodeId: known.nodeId, enrolledAt: known.enrolledAt }, 'already enrolled; ignoring --token')
  }
  store.saveIdentity(identity)
  writeIdentityMirror(config.dataDir, identity)
  return identity
}

/**
 * The identity before any enrollment: what the node already knows, else a name from the command
 * line or the host. Refuses a `--name` the data directory does not answer to, and a `--hub-key`
 * that differs from the pinned one.
 */
export function startingIdentity(known: Identity | null, config: Pick<AgentConfig, 'name' | 'hubKey'>, host: string): Identity {
  if (known && config.name && !answersToName(known, config.name)) {
    throw new AgentConfigError('--name', `this data directory belongs to node ${known.nodeId}; refusing to run it as ${config.name}`)
  }
  return {
    nodeId: known?.nodeId ?? config.name ?? nodeNameFromHostname(host),
    hubPublicKey: pinnedKey(known?.hubPublicKey ?? null, config.hubKey),
    brokerUrl: known?.brokerUrl ?? null,
    username: known?.username ?? null,
    password: known?.password ?? null,
    enrolledAt: known?.enrolledAt ?? null,
  }
}

/**
 * Whether this data directory's node may run under `--name`: its own id or, for a node the hub
 * enrolled, the name it asked for. A hub that already has that name assigns `<name>-<6 hex>`
 * (hub/enrollment/), and the unchanged command line must keep working after a restart.
 */
export function answersToName(known: Identity, name: string): boolean {
  return known.nodeId === name || (known.enrolledAt !== null && isRenamedFrom(known.nodeId, name))
}

/** A token and an HTTP(S) hub, and no enrollment yet: once enrolled, a token is ignored. */
export function needsEnrollment(config: Pick<AgentConfig, 'token' | 'hubUrl'>, known: Identity | null): boolean {
  return config.token !== null && config.hubUrl !== null && /^https?:/.test(config.hubUrl) && !known?.enrolledAt
}

/** Trades the join token for this node's identity, broker credentials and the hub key to pin. */
async function enrollNode(config: AgentConfig, identity: Identity, inventory: Inventory, logger: Logger, clock: Clock): Promise<Identity> {
  const response = await enrollWithHub(
    config.hubUrl ?? '',
    {
      token: config.token ?? '',
      name: identity.nodeId,
      labels: { ...config.labels },
      inventory,
      ...(config.profile ? { profile: config.profile } : {}),
      agentVersion: readPackageVersion(),
    },
    logger,
  )
  if (identity.hubPublicKey && identity.hubPublicKey !== response.hubPublicKey) {
    throw new AgentConfigError('--token', 'the hub answered with a different key than the one this node pinned; refusing it')
  }
  logger.info({ nodeId: response.nodeId, broker: response.brokerUrl }, 'enrolled with the hub')
  return identityFromEnrollment(response, isoNow(clock))
}

/** A key is pinned once; a different one later is refused rather than silently trusted. */
function pinnedKey(pinned: string | null, offeredOption: string | null): string | null {
  const offered = offeredOption ? readHubKey(offeredOption) : null
  if (pinned && offered && pinned !== offered) {
    throw new AgentConfigError(
      '--hub-key',
      'differs from the hub key this node already pinned; a node trusts one hub key (re-enroll with a fresh data directory to change it)',
    )
  }
  return pinned ?? offered
}

/** `--hub-key` is the base64 SPKI key itself or a file holding it. */
export function readHubKey(value: string): string {
  const text = existsSync(value) ? readFileSync(value, 'utf8').trim() : value.trim()
  if (!/^[A-Za-z0-9+/]+=*$/.test(text) || text.length < 40) {
    throw new AgentConfigError('--hub-key', 'expected the hub public key (base64 SPKI, as `shoal hub` prints it) or a file holding it')
  }
  return text
}

function readIdentityMirror(dataDir: string): Identity | null {
  try {
    return JSON.parse(readFileSync(join(dataDir, IDENTITY_FILE), 'utf8')) as Identity
  } catch {
    return null
  }
}

function writeIdentityMirror(dataDir: string, identity: Identity): void {
  const path = join(dataDir, IDENTITY_FILE)
  writeFileSync(path, `${JSON.stringify(identity, null, 2)}\n`, { mode: PRIVATE_FILE_MODE })
  chmodSync(path, PRIVATE_FILE_MODE) // the mode above applies only when the file is created
}
