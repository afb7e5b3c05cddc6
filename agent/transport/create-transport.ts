import type { Logger } from 'pino'
import { NatsServerListError, parseNatsServerList, type NatsServerList } from '../../common/nats/nats-servers.js'
import type { Presence } from '../../protocol/index.js'
import { AgentConfigError, type AgentConfig } from '../config.js'
import type { Identity } from '../store/agent-store.js'
import type { ReconnectHints } from './reconnect-hint.js'
import type { AgentTransport, BrokerCredentials } from './transport.js'

/** Where and as whom the agent connects, with the credentials out of the URL. */
export type BrokerEndpoint =
  | { readonly kind: 'nats'; readonly servers: readonly string[]; readonly credentials: BrokerCredentials }
  | { readonly kind: 'mqtt'; readonly url: string; readonly credentials: BrokerCredentials }

/**
 * The broker the enrollment named, else `--hub`; null when there is neither (a node without a
 * hub). Credentials from the enrollment win over those written in the URL. An HTTP(S) hub is
 * refused: it needs enrollment with a token first.
 */
export function brokerEndpoint(identity: Pick<Identity, 'brokerUrl' | 'username' | 'password'>, hubUrl: string | null): BrokerEndpoint | null {
  const url = identity.brokerUrl ?? hubUrl
  if (!url) return null
  if (url.includes(',')) {
    // A NATS cluster's servers (the hub hands out every server it was given).
    const list = natsServersOf(url)
    const credentials = {
      ...((identity.username ?? list.user) ? { username: identity.username ?? list.user } : {}),
      ...((identity.password ?? list.pass) ? { password: identity.password ?? list.pass } : {}),
    }
    return { kind: 'nats', servers: list.servers, credentials }
  }
  const parsed = new URL(url)
  const credentials = {
    ...((identity.username ?? parsed.username) ? { username: identity.username ?? decodeURIComponent(parsed.username) } : {}),
    ...((identity.password ?? parsed.password) ? { password: identity.password ?? decodeURIComponent(parsed.password) } : {}),
  }
  parsed.username = ''
  parsed.password = ''
  if (parsed.protocol === 'nats:' || parsed.protocol === 'tls:') return { kind: 'nats', servers: [`${parsed.hostname}:${parsed.port || '4222'}`], credentials }
  if (parsed.protocol === 'mqtt:' || parsed.protocol === 'mqtts:') return { kind: 'mqtt', url: parsed.toString(), credentials }
  throw new AgentConfigError(
    '--hub',
    `${parsed.protocol}// needs enrollment with --token first; give the broker URL (mqtt:// or nats://) directly for a pre-provisioned node`,
  )
}

function natsServersOf(text: string): NatsServerList {
  try {
    return parseNatsServerList(text)
  } catch (error) {
    if (error instanceof NatsServerListError) throw new AgentConfigError('--hub', `${error.message}; only a NATS cluster is given as a list`)
    throw error
  }
}

/** Loads only the client library the node uses: mqtt.js and nats.js each cost 10-20 MB of RSS. */
export async function createTransport(
  config: Pick<AgentConfig, 'hubUrl'>,
  identity: Identity,
  logger: Logger,
  presence: (state: Presence['state']) => Buffer,
  hints: ReconnectHints,
): Promise<AgentTransport | null> {
  const endpoint = brokerEndpoint(identity, config.hubUrl)
  if (endpoint === null) return null
  const { credentials } = endpoint
  if (endpoint.kind === 'nats') {
    const { NatsTransport } = await import('./nats-transport.js')
    return new NatsTransport({ servers: endpoint.servers, nodeId: identity.nodeId, credentials, logger, online: () => presence('online'), hints })
  }
  const { MqttTransport } = await import('./mqtt-transport.js')
  return new MqttTransport({
    url: endpoint.url,
    nodeId: identity.nodeId,
    credentials,
    logger,
    will: presence('offline'),
    online: () => presence('online'),
    hints,
  })
}
