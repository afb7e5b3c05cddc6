import type { Logger } from 'pino'
import { setUpBrokerAccess, type BrokerAuthConfig, type ExternalBrokerSetup } from '../broker-config/external-broker.js'
import type { HubStore } from '../store/hub-store.js'
import { EmbeddedBroker } from '../transport/embedded-broker.js'
import type { HubTransport } from '../transport/hub-transport.js'
import { MqttHubTransport } from '../transport/mqtt-hub-transport.js'
import { NatsHubTransport } from '../transport/nats-hub-transport.js'

export type HubTransportConfig =
  | {
      readonly kind: 'embedded'
      readonly host: string
      readonly port: number
      readonly advertisedHost?: string
      readonly tls?: { readonly cert: string; readonly key: string }
    }
  | { readonly kind: 'mqtt'; readonly url: string; readonly advertisedUrl?: string }
  | {
      readonly kind: 'nats'
      /** One nats:// URL, or a cluster's several separated by commas. */
      readonly url: string
      readonly advertisedUrl?: string
      /** Copies of the desired-state bucket (`--nats-replicas`); default 1. */
      readonly replicas?: number
    }

/**
 * The transport the hub connects with: an external broker whose users the hub manages is
 * reached with the hub's own generated credentials (`hubUrl`); otherwise as configured. Pure.
 */
export function transportConfigFor(config: HubTransportConfig, broker: Pick<ExternalBrokerSetup, 'hubUrl'> | null): HubTransportConfig {
  return broker && config.kind !== 'embedded' ? { ...config, url: broker.hubUrl } : config
}

/**
 * The hub's link to its agents: the external broker's users and rights when the hub manages
 * them (`--broker-auth-dir`), and the transport (embedded aedes, external MQTT, or NATS). Not
 * started yet. Wiring only.
 */
export function createBrokerLink(
  config: { readonly transport: HubTransportConfig; readonly brokerAuth?: BrokerAuthConfig; readonly dataDir: string },
  store: HubStore,
  logger: Logger,
): { readonly transport: HubTransport; readonly broker: ExternalBrokerSetup | null } {
  const broker = config.brokerAuth ? setUpBrokerAccess(config.transport, config.brokerAuth, { dataDir: config.dataDir, db: store.db, logger }) : null
  return { transport: createTransport(transportConfigFor(config.transport, broker), store, logger), broker }
}

function createTransport(config: HubTransportConfig, store: HubStore, logger: Logger): HubTransport {
  switch (config.kind) {
    case 'embedded':
      return new EmbeddedBroker({
        host: config.host,
        port: config.port,
        ...(config.advertisedHost ? { advertisedHost: config.advertisedHost } : {}),
        ...(config.tls ? { tls: config.tls } : {}),
        logger,
        authenticate: (u, p) => store.credentials.authenticate(u, p),
      })
    case 'mqtt':
      return new MqttHubTransport({ url: config.url, ...(config.advertisedUrl ? { advertisedUrl: config.advertisedUrl } : {}), logger })
    case 'nats':
      return new NatsHubTransport({
        url: config.url,
        ...(config.advertisedUrl ? { advertisedUrl: config.advertisedUrl } : {}),
        ...(config.replicas !== undefined ? { replicas: config.replicas } : {}),
        logger,
      })
  }
}
