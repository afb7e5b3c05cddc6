import type { Database } from 'better-sqlite3'
import type { Logger } from 'pino'
import { BrokerAccess } from './broker-access.js'
import { mqttProbe, natsProbe } from './broker-probe.js'
import { formatNatsServerList, parseNatsServerList } from '../../common/nats/nats-servers.js'
import { HUB_BROKER_USERNAME, type BrokerKind } from './broker-users.js'
import { HUB_BROKER_PASSWORD_FILE, loadOrCreateHubBrokerPassword } from './hub-broker-password.js'

/** `hub serve --broker-auth-dir DIR [--broker-reload-pid PID|FILE]...` */
export interface BrokerAuthConfig {
  readonly dir: string
  readonly reloadTargets?: readonly string[]
}

export class BrokerAuthConfigError extends Error {
  readonly code = 'broker-auth-config'
  constructor(message: string) {
    super(message)
    this.name = 'BrokerAuthConfigError'
  }
}

export interface ExternalBrokerSetup {
  readonly access: BrokerAccess
  /** The broker URL with the hub's own generated credentials in it. */
  readonly hubUrl: string
  /** The hub's broker password file, when this start created it. */
  readonly createdPath: string | null
}

/**
 * The hub manages the users of its external broker: it logs in as `shoal_hub` with a password it
 * made itself (data dir, 0600) and keeps the broker's user files in `auth.dir` in step with
 * enrollments and revocations. `mqtt` means a Mosquitto 2.x broker, `nats` a nats-server.
 */
export function setUpBrokerAccess(
  transport: { readonly kind: 'embedded' | 'mqtt' | 'nats'; readonly url?: string },
  auth: BrokerAuthConfig,
  deps: { readonly dataDir: string; readonly db: Database; readonly logger: Logger },
): ExternalBrokerSetup {
  if (transport.kind === 'embedded' || !transport.url)
    throw new BrokerAuthConfigError("--broker-auth-dir writes an external broker's users: use it with --mqtt-url (Mosquitto) or --nats-url")
  const kind: BrokerKind = transport.kind === 'nats' ? 'nats' : 'mosquitto'
  const credentialsError = new BrokerAuthConfigError(
    `with --broker-auth-dir the hub logs in as ${HUB_BROKER_USERNAME} with the password in ${HUB_BROKER_PASSWORD_FILE} (data dir); drop user:pass from ${kind === 'nats' ? '--nats-url' : '--mqtt-url'}`,
  )
  let bare: string
  let hubUrl: (password: string) => string
  if (kind === 'nats') {
    // A cluster: every server reads the same include, each is signalled, each is probed.
    const list = parseNatsServerList(transport.url)
    if (list.user !== undefined || list.pass !== undefined) throw credentialsError
    bare = formatNatsServerList(list)
    hubUrl = (password) => formatNatsServerList({ servers: list.servers, user: HUB_BROKER_USERNAME, pass: password })
  } else {
    const url = new URL(transport.url)
    if (url.username || url.password) throw credentialsError
    bare = url.toString()
    hubUrl = (password) => {
      url.username = HUB_BROKER_USERNAME
      url.password = encodeURIComponent(password)
      return url.toString()
    }
  }
  const hubPassword = loadOrCreateHubBrokerPassword(deps.dataDir)
  const access = new BrokerAccess({
    kind,
    dir: auth.dir,
    db: deps.db,
    hubPassword: hubPassword.password,
    reloadTargets: auth.reloadTargets ?? [],
    probe: kind === 'nats' ? natsProbe(bare) : mqttProbe(bare),
    logger: deps.logger,
  })
  return { access, hubUrl: hubUrl(hubPassword.password), createdPath: hubPassword.created ? hubPassword.path : null }
}
