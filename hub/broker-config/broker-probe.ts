import mqtt from 'mqtt'
import { connect, ErrorCode } from 'nats'
import { parseNatsServerList } from '../../common/nats/nats-servers.js'

/** Tries one login; true when the broker accepted the credentials. */
export type BrokerProbe = (username: string, password: string) => Promise<boolean>

const ATTEMPT_TIMEOUT_MS = 3_000

/** One MQTT 3.1.1 CONNECT with clean session; the connection is closed at once either way. */
export function mqttProbe(url: string): BrokerProbe {
  return (username, password) =>
    new Promise<boolean>((resolve) => {
      const client = mqtt.connect(url, {
        username,
        password,
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: ATTEMPT_TIMEOUT_MS,
        clientId: `${username}-${Math.random().toString(16).slice(2, 10)}`,
      })
      const finish = (accepted: boolean): void => {
        client.removeAllListeners()
        client.on('error', () => undefined)
        client.end(true)
        resolve(accepted)
      }
      client.once('connect', () => finish(true))
      client.once('error', () => finish(false))
      client.once('close', () => finish(false))
    })
}

/**
 * One NATS CONNECT to each server of the list (one URL or several separated by commas), without
 * reconnecting; each closed at once. Every server reads the same include and is signalled on its
 * own, so the login must be accepted by each server that answers. A server that cannot be reached
 * (down, a cluster member killed, or not answering in time) is skipped: it reads the current file when it starts again.
 * False when none answers or one refuses.
 */
export function natsProbe(url: string): BrokerProbe {
  const { servers } = parseNatsServerList(url)
  return async (user, pass) => {
    const outcomes = await Promise.all(servers.map((server) => natsLogin(server, user, pass)))
    return outcomes.includes('accepted') && !outcomes.includes('refused')
  }
}

async function natsLogin(server: string, user: string, pass: string): Promise<'accepted' | 'refused' | 'unreachable'> {
  try {
    const nc = await connect({ servers: server, user, pass, reconnect: false, timeout: ATTEMPT_TIMEOUT_MS, name: 'shoal-hub-reload-check' })
    await nc.close()
    return 'accepted'
  } catch (error) {
    return (error as { code?: string }).code === ErrorCode.AuthorizationViolation ? 'refused' : 'unreachable'
  }
}

/** Probes until the broker accepts the login or the bound passes; resolves to whether it did. */
export async function probeUntilAccepted(
  probe: BrokerProbe,
  username: string,
  password: string,
  options: { timeoutMs: number; intervalMs: number },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    if (await probe(username, password)) return true
    if (Date.now() + options.intervalMs > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs))
  }
}
