import { randomBytes } from 'node:crypto'
import { durationMs, memoryBytes, cpuMillis, type EnrollmentRequest, type EnrollmentResponse, renamedNodeId } from '../../protocol/index.js'
import { matchProfile } from '../../firmware-profiles/matcher.js'
import { BrokerCredentialRepository } from '../broker-config/broker-credential-repository.js'
import { nodeBrokerHashes } from '../broker-config/password-hashes.js'
import type { FirmwareProfile } from '../../firmware-profiles/schema.js'
import { hashSecret, randomSecret } from '../store/credential-repository.js'
import type { HubStore } from '../store/hub-store.js'

export interface EnrollmentContext {
  readonly store: HubStore
  readonly profiles: readonly FirmwareProfile[]
  readonly hubPublicKey: string
  readonly transport: { readonly kind: 'embedded' | 'mqtt' | 'nats'; readonly advertisedUrl: string }
  readonly now: () => number
}

/**
 * One-off enrollment: the token is counted, the node gets its own id and broker credentials
 * and learns the hub's public key, which it pins. Labels: the profile's, then the token's,
 * then the node's own (later ones win).
 */
export async function enroll(request: EnrollmentRequest, context: EnrollmentContext): Promise<EnrollmentResponse> {
  const { store } = context
  // Refuse a bad token before hashing: a stream of bad tokens must not cost a bcrypt each (NATS).
  // The transaction below checks again, since the token may be used up meanwhile.
  store.tokens.check(request.token, context.now())
  const choice = matchProfile(request.inventory, context.profiles, request.profile)
  const profile = choice.profile
  const password = randomSecret(24)
  // Hashed before the transaction, which cannot await (bcrypt runs in slices). Also in the
  // external brokers' formats, so the hub can write their user files without the plaintext;
  // bcrypt only on NATS (nodeBrokerHashes says why).
  const [passwordHash, hashes] = await Promise.all([hashSecret(password), nodeBrokerHashes(password, { nats: context.transport.kind === 'nats' })])
  const at = new Date(context.now()).toISOString()
  const nodeId = store.transaction(() => {
    const token = store.tokens.consume(request.token, context.now())
    const id = store.nodes.exists(request.name) ? renamedNodeId(request.name, randomBytes(3).toString('hex')) : request.name
    const capabilities = new Set(profile.capabilities)
    if (request.inventory.gpus.length > 0) capabilities.add('gpu')
    for (const gpu of request.inventory.gpus) if (/nvidia/i.test(gpu.vendor)) capabilities.add('nvidia')
    store.nodes.insert({
      id,
      labels: { ...profile.labels, ...token.labels, ...request.labels },
      capabilities: [...capabilities].sort(),
      arch: request.inventory.arch,
      profile: profile.name,
      inventory: request.inventory,
      capacity: { cpuMillis: request.inventory.cpu.cores * 1000, memoryBytes: request.inventory.memoryBytes, gpus: request.inventory.gpus.length },
      reserved: { cpuMillis: cpuMillis(profile.reserved.cpu), memoryBytes: memoryBytes(profile.reserved.memory) },
      heartbeatIntervalMs: durationMs(profile.agent.heartbeatInterval),
      createdAt: at,
    })
    store.credentials.setHashed(id, id, passwordHash)
    new BrokerCredentialRepository(store.db).set(id, hashes)
    store.status.appendEvent(
      { nodeId: id, type: 'NodeEnrolled', severity: 'info', message: `${id} enrolled with token ${token.id} as ${profile.name}`, at },
      at,
    )
    return id
  })
  return {
    nodeId,
    hubPublicKey: context.hubPublicKey,
    transport: context.transport.kind === 'nats' ? 'nats' : 'mqtt',
    brokerUrl: context.transport.advertisedUrl,
    username: nodeId,
    password,
  }
}
