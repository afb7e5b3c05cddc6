// The hub double over NATS: the desired document goes into the JetStream KV bucket the agent
// watches (one key per node), outbox batches come on `shoal.v1.nodes.<id>.outbox`, acks go
// back on `shoal.v1.nodes.<id>.ack`. The ledger (dedupe, order, acks) is the MQTT double's.
import { connect, type KV, type NatsConnection } from 'nats'
import { NATS_DESIRED_BUCKET, natsDesiredKey, natsSubject, natsWildcard, parseNatsSubject, type SigningKeys } from '../../protocol/index.js'
import { HubDouble } from './hub-double.js'
import type { TestLike } from './types.js'

export class NatsHubDouble extends HubDouble {
  private nc: NatsConnection | null = null
  private kv: KV | null = null

  async connect(url: string): Promise<void> {
    const nc = await connect({ servers: url, name: 'hub-double', maxReconnectAttempts: -1, reconnectTimeWait: 200 })
    this.nc = nc
    // The hub owns the bucket; the agent only binds to it. Latest value per key is all that counts.
    const kv = await nc.jetstream().views.kv(NATS_DESIRED_BUCKET, { history: 1 })
    this.kv = kv
    nc.subscribe(natsWildcard('outbox'), {
      callback: (error, message) => {
        if (error) return
        const parsed = parseNatsSubject(message.subject)
        if (parsed?.channel === 'outbox') this.ledger.receive(parsed.nodeId, Buffer.from(message.data))
      },
    })
    // Make sure the subscription is registered with the server before anyone publishes.
    await nc.flush()
    this.attach({
      publishDocument: async (nodeId, payload) => {
        await kv.put(natsDesiredKey(nodeId), payload)
      },
      sendAck: async (nodeId, payload) => {
        nc.publish(natsSubject(nodeId, 'ack'), payload)
      },
      close: async () => {
        await nc.drain().catch(() => nc.close())
      },
    })
  }

  /** The bucket, for tests that look at what the agent is watching. */
  get bucket(): KV {
    if (!this.kv) throw new Error('NATS hub double is not connected')
    return this.kv
  }

  get connection(): NatsConnection {
    if (!this.nc) throw new Error('NATS hub double is not connected')
    return this.nc
  }
}

/** A NATS hub double connected to `url` (JetStream must be on), closed when the test ends. */
export async function startNatsHubDouble(t: TestLike, url: string, keys?: SigningKeys): Promise<NatsHubDouble> {
  const hub = new NatsHubDouble(keys)
  t.teardown(() => hub.close())
  await hub.connect(url)
  return hub
}
