// The hub on an external nats-server 2.9 with JetStream, whose users and per-user subject
// permissions the hub itself generates (`--broker-auth-dir`, an `include`d authorization file)
// and reloads (SIGHUP): real hub and agent processes, real Docker. Workloads land exactly where
// the selectors say; node A's own credentials, used by a real NATS client, can read its own key
// of the desired-state bucket but not B's (KV get, watch, a hand-made consumer, direct and
// stream gets, plain subscriptions) and cannot publish as B; a revoked node's live connection
// is cut by the reload and its credentials are refused from then on. A node gets no account
// info and the hub keeps the consumers it may make on its own key within a bound.
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { connect, StringCodec, type NatsConnection } from 'nats'
import t from 'tap'
import { inflateDesired } from '../../protocol/desired-compression.js'
import { agentCredentials, enrollAgent, sleeperManifest, startHubProcess, writeBrokerConfig } from '../support/broker-fleet.js'
import { nodeContainers, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startNats, tempDir, testImage, waitFor } from '../support/index.js'

t.setTimeout(150_000)

const BUCKET = 'shoal_v1_desired'
const STREAM = `KV_${BUCKET}`
const sc = StringCodec()

/** Resolves to the error a promise fails with, or fails the test if it resolves within the bound. */
async function failure(promise: Promise<unknown>, what: string): Promise<Error> {
  const outcome = await Promise.race([
    promise.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error: error as Error }),
    ),
    new Promise<{ ok: null }>((resolve) => setTimeout(() => resolve({ ok: null }), 10_000).unref()),
  ])
  if (outcome.ok === false) return outcome.error
  throw new Error(
    outcome.ok === null ? `${what}: neither refused nor answered within 10 s` : `${what} succeeded: ${JSON.stringify(outcome.value).slice(0, 300)}`,
  )
}

/** The first message of a subscription, or its error. */
async function firstMessage(nc: NatsConnection, subject: string): Promise<string> {
  const sub = nc.subscribe(subject, { max: 1 })
  for await (const message of sub) return sc.decode(message.data)
  throw new Error(`subscription to ${subject} ended without a message`)
}

t.test('nats-server with hub-generated users and permissions: placement, isolation, revocation', async (t) => {
  const image = testImage()
  const dir = tempDir(t, 'transport-nats')
  const dataDir = path.join(dir, 'hub')
  const authDir = path.join(dir, 'broker-auth')

  // The operator's part: generate the include once, point nats-server.conf at it, start it.
  await writeBrokerConfig(dataDir, 'nats', authDir)
  // As docs/brokers.md says: JetStream enabled in the file (a reload turns off what only `-js`
  // enabled), and the include relative to the including file (nats-server 2.9 resolves even an
  // absolute include path against it). A pid file, so the hub finds the broker again after
  // the restart below.
  const conf = path.join(dir, 'nats-server.conf')
  const pidFile = path.join(dir, 'nats-server.pid')
  writeFileSync(conf, `jetstream { store_dir: "${path.join(dir, 'jetstream')}" }\npid_file: "${pidFile}"\ninclude "broker-auth/nats-authorization.conf"\n`)
  const broker = await startNats(t, { jetstream: false, args: ['-c', conf] })
  const hub = await startHubProcess(t, { dataDir, args: ['--nats-url', broker.url, '--broker-auth-dir', authDir, '--broker-reload-pid', pidFile] })
  t.match(
    hub.log(),
    /"confirmed":true[^\n]*broker configuration written and reloaded/,
    'the hub rewrote the file, signalled nats-server and saw the reload take effect',
  )

  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', { maxUses: 3 })
  const nodeA = uniqueNodeId('a')
  const nodeB = uniqueNodeId('b')
  const nodeC = uniqueNodeId('c')
  // One after another: each agent's start-up inventory is CPU-heavy on a small machine.
  const a = await enrollAgent(t, hub, { nodeId: nodeA, dataDir: path.join(dir, 'a', 'data'), token, labels: { site: 'east', role: 'web' } })
  const b = await enrollAgent(t, hub, { nodeId: nodeB, dataDir: path.join(dir, 'b', 'data'), token, labels: { site: 'east' } })
  const c = await enrollAgent(t, hub, { nodeId: nodeC, dataDir: path.join(dir, 'c', 'data'), token, labels: { site: 'west', role: 'web' } })

  await t.test('workloads run exactly where the selectors say', async (t) => {
    const manifests = [
      sleeperManifest('web', image, { replicas: 2, selector: { matchLabels: { role: 'web' } }, spread: { topologyKey: 'site' } }),
      sleeperManifest('everywhere', image, { mode: 'every-node' }),
    ]
    await hub.api('POST', '/api/v1/manifests', manifests.map((m) => JSON.stringify(m)).join('\n---\n'), 'application/yaml')
    await Promise.all([waitForRunning(nodeA, ['everywhere', 'web']), waitForRunning(nodeB, ['everywhere']), waitForRunning(nodeC, ['everywhere', 'web'])])
    t.pass('a and c run web and everywhere; b runs everywhere only')
  })

  await t.test("node A's credentials cannot read B's desired document nor publish as B", async (t) => {
    const credsA = agentCredentials(a)
    t.equal(credsA.username, nodeA, 'each node has its own broker user')
    // Agent A stops, so its outbox sequence does not meet the sentinel below; its containers keep running.
    await a.stop()
    const nc = await connect({
      servers: new URL(broker.url).host,
      user: credsA.username,
      pass: credsA.password,
      inboxPrefix: `_INBOX_${nodeA}`,
      reconnect: false,
    })
    t.teardown(() => nc.close())
    const violations: string[] = []
    void (async () => {
      for await (const status of nc.status())
        if (status.permissionContext) violations.push(`${status.permissionContext.operation} ${status.permissionContext.subject}`)
    })()

    const kv = await nc.jetstream({ checkAPI: false }).views.kv(BUCKET, { bindOnly: true })
    const own = await kv.watch({ key: nodeA })
    let ownDocument = ''
    for await (const entry of own) {
      // Gzipped once the document reaches 512 bytes, as the agent reads gzip (docs/protocol.md).
      ownDocument = Buffer.from(inflateDesired(entry.value)).toString('utf8')
      break
    }
    t.match(ownDocument, nodeA, 'A reads its own desired document through a KV watch, bound without account info (the agent does the same)')

    t.match((await failure(kv.get(nodeB), 'KV get of B')).message, /Permissions Violation/, "KV get of B's key is refused")
    t.match((await failure(kv.watch({ key: nodeB }), 'KV watch of B')).message, /Permissions Violation/, "a KV watch of B's key is refused")
    t.match((await failure(kv.watch({ key: '>' }), 'KV watch of every key')).message, /Permissions Violation/, 'a KV watch of every key is refused')
    const direct = await failure(nc.request(`$JS.API.DIRECT.GET.${STREAM}.$KV.${BUCKET}.${nodeB}`, new Uint8Array(), { timeout: 5_000 }), 'direct get')
    t.match(direct.message, /Permissions Violation/, 'a direct get of B is refused')
    const streamGet = await failure(
      nc.request(`$JS.API.STREAM.MSG.GET.${STREAM}`, sc.encode(JSON.stringify({ last_by_subj: `$KV.${BUCKET}.${nodeB}` })), { timeout: 5_000 }),
      'stream message get',
    )
    t.match(streamGet.message, /Permissions Violation/, 'a stream message get of B is refused')
    // The create subject names A's key (allowed), the request body filters B's: the server refuses the mismatch.
    const mismatch = await nc.request(
      `$JS.API.CONSUMER.CREATE.${STREAM}.sneaky.$KV.${BUCKET}.${nodeA}`,
      sc.encode(
        JSON.stringify({
          stream_name: STREAM,
          config: {
            name: 'sneaky',
            filter_subject: `$KV.${BUCKET}.${nodeB}`,
            deliver_subject: `_INBOX_${nodeA}.sneaky`,
            ack_policy: 'none',
            deliver_policy: 'last_per_subject',
          },
        }),
      ),
      { timeout: 5_000 },
    )
    t.match(sc.decode(mismatch.data), /did not match filtered subject/, "a consumer whose body filters B's key under A's create subject is refused")
    for (const subject of [`$KV.${BUCKET}.${nodeB}`, '_INBOX.>', `shoal.v1.nodes.${nodeB}.ack`, `shoal.v1.nodes.${nodeB}.logs-request`, 'shoal.v1.>']) {
      t.match((await failure(firstMessage(nc, subject), `subscribe ${subject}`)).message, /Permissions Violation/, `subscribing to ${subject} is refused`)
    }

    // Forged records as B, then a sentinel on A's own outbox: once the hub has stored it,
    // whatever A sent before has been handled (one connection, in order).
    const at = new Date().toISOString()
    const mark = randomBytes(4).toString('hex')
    const forged = {
      nodeId: nodeB,
      records: [
        {
          nodeId: nodeB,
          seq: Number.MAX_SAFE_INTEGER - 1,
          kind: 'event',
          body: { nodeId: nodeB, type: 'Forged', severity: 'error', message: `forged-${mark}`, at },
        },
      ],
    }
    nc.publish(`shoal.v1.nodes.${nodeB}.outbox`, sc.encode(JSON.stringify(forged)))
    nc.publish(`shoal.v1.nodes.${nodeB}.presence`, sc.encode(JSON.stringify({ nodeId: nodeB, state: 'offline', at })))
    nc.publish(`$KV.${BUCKET}.${nodeB}`, sc.encode('forged desired document'))
    const sentinel = {
      nodeId: nodeA,
      records: [
        {
          nodeId: nodeA,
          seq: Number.MAX_SAFE_INTEGER - 1,
          kind: 'event',
          body: { nodeId: nodeA, type: 'Sentinel', severity: 'info', message: `sentinel-${mark}`, at },
        },
      ],
    }
    nc.publish(`shoal.v1.nodes.${nodeA}.outbox`, sc.encode(JSON.stringify(sentinel)))
    await nc.flush()
    await waitFor(
      async () =>
        (await hub.api<{ items: { message: string }[] }>('GET', `/api/v1/events?node=${nodeA}&limit=1000`)).items.some((e) => e.message === `sentinel-${mark}`),
      {
        what: "the hub to store A's sentinel event",
        timeoutMs: 15_000,
      },
    )
    const eventsB = await hub.api<{ items: { message: string }[] }>('GET', `/api/v1/events?node=${nodeB}&limit=1000`)
    t.notOk(
      eventsB.items.some((e) => e.message === `forged-${mark}`),
      'the hub never got the event A forged as B',
    )
    t.equal((await hub.api<{ online: boolean }>('GET', `/api/v1/nodes/${nodeB}`)).online, true, "B's forged offline presence did not reach the hub")
    await waitFor(
      () => [`shoal.v1.nodes.${nodeB}.outbox`, `shoal.v1.nodes.${nodeB}.presence`, `$KV.${BUCKET}.${nodeB}`].every((s) => violations.includes(`publish ${s}`)),
      {
        what: 'the server to report each forged publish as a violation',
        timeoutMs: 5_000,
      },
    )
    t.pass('nats-server refused each publish as B (outbox, presence, its KV key)')
    await waitForRunning(nodeB, ['everywhere'], 10_000)
  })

  await t.test("A's credentials get no account info and keep at most a few consumers on their key", async (t) => {
    const credsA = agentCredentials(a)
    const nc = await connect({
      servers: new URL(broker.url).host,
      user: credsA.username,
      pass: credsA.password,
      inboxPrefix: `_INBOX_${nodeA}`,
      reconnect: false,
    })
    t.teardown(() => nc.close())
    const info = await failure(nc.request('$JS.API.INFO', new Uint8Array(), { timeout: 5_000 }), 'account info')
    t.match(info.message, /Permissions Violation/, '$JS.API.INFO (account-wide figures) is refused')

    // Twelve push consumers on A's own key, each kept alive by a subscription to its deliveries.
    const made: string[] = []
    for (let i = 0; i < 12; i += 1) {
      const name = `flood${i}`
      const deliver = `_INBOX_${nodeA}.${name}`
      nc.subscribe(deliver, { callback: () => {} })
      const reply = await nc.request(
        `$JS.API.CONSUMER.CREATE.${STREAM}.${name}.$KV.${BUCKET}.${nodeA}`,
        sc.encode(
          JSON.stringify({
            stream_name: STREAM,
            config: { name, filter_subject: `$KV.${BUCKET}.${nodeA}`, deliver_subject: deliver, ack_policy: 'none', deliver_policy: 'last_per_subject' },
          }),
        ),
        { timeout: 5_000 },
      )
      t.notMatch(sc.decode(reply.data), /"error"/, `consumer ${name} created`)
      made.push(name)
    }
    // The hub's view of the stream, with its own broker login.
    const hubPassword = readFileSync(path.join(dataDir, 'broker-hub-password'), 'utf8').trim()
    const hubConnection = await connect({ servers: new URL(broker.url).host, user: 'shoal_hub', pass: hubPassword, reconnect: false })
    t.teardown(() => hubConnection.close())
    const jsm = await hubConnection.jetstreamManager()
    const heldByA = async () => {
      const names: string[] = []
      for await (const consumer of jsm.consumers.list(STREAM)) if (consumer.config.filter_subject === `$KV.${BUCKET}.${nodeA}`) names.push(consumer.name)
      return names
    }
    const left = await waitFor(
      async () => {
        const names = await heldByA()
        return names.length <= 4 ? names : undefined
      },
      { what: "the hub to bound A's consumers", timeoutMs: 30_000, intervalMs: 250 },
    )
    t.same([...left].sort(), made.slice(-4).sort(), 'the hub deleted the oldest and left the four newest')
    await waitFor(() => new RegExp(`"nodeId":"${nodeA}"[^\\n]*node held \\d+ consumers on its desired-state key`).test(hub.log()), {
      what: 'the hub to log the bound it enforced',
      timeoutMs: 10_000,
    })
    t.pass('the hub says which node held how many')
  })

  await t.test('after a broker restart the desired-state watches come back under these permissions', async (t) => {
    // nats.js re-creates an ordered consumer through the plain CONSUMER.CREATE subject, which
    // nodes may not use (it would let them filter any key): the watch fails instead, and the
    // agent watches again through the allowed, key-named subject.
    const before = await Promise.all(
      [nodeB, nodeC].map(async (id) => (await waitForRunning(id, id === nodeB ? ['everywhere'] : ['everywhere', 'web'])).get('everywhere')?.id),
    )
    await broker.stop()
    await broker.start()
    const changed = sleeperManifest('everywhere', image, { mode: 'every-node' }) as { spec: { template: Record<string, unknown> } }
    changed.spec.template.env = { CHANGED: 'after-restart' }
    await hub.api('POST', '/api/v1/manifests', JSON.stringify(changed), 'application/yaml')
    for (const [index, id] of [nodeB, nodeC].entries()) {
      await waitFor(
        async () => {
          const containers = await nodeContainers(id)
          const everywhere = containers.filter((c) => c.workload === 'everywhere')
          return everywhere.length === 1 && everywhere[0]?.state === 'running' && everywhere[0].id !== before[index]
        },
        { what: `node ${id} to run the changed 'everywhere' after the broker restart`, timeoutMs: 60_000, intervalMs: 200 },
      )
    }
    t.pass('B and C received the new document through their re-established KV watches')
  })

  await t.test("a revoked node's connection is cut by the reload and its credentials refused", async (t) => {
    const credsB = agentCredentials(b)
    const linkDownBefore = b.logLines('hub link down; working from the local store').length
    const linkDownC = c.logLines('hub link down; working from the local store').length
    const revoked = await hub.api<{ revoked: string; broker?: { confirmed: boolean | null } }>('DELETE', `/api/v1/nodes/${nodeB}`)
    t.equal(revoked.revoked, nodeB, 'the API revoked B')
    t.equal(revoked.broker?.confirmed, true, 'the API answers after nats-server has loaded the rewritten file')
    await waitFor(() => b.logLines('hub link down; working from the local store').length > linkDownBefore, {
      what: "agent B's broker connection to drop",
      timeoutMs: 15_000,
    })
    await waitFor(() => b.logLines('NATS connection closed for good').length > 0, {
      what: "agent B's reconnects to be refused until the client gives up",
      timeoutMs: 30_000,
    })
    const refused = await failure(connect({ servers: new URL(broker.url).host, user: credsB.username, pass: credsB.password, reconnect: false }), "B's login")
    t.match(refused.message, /Authorization Violation/i, "B's credentials are refused")
    t.notMatch(readFileSync(path.join(authDir, 'nats-authorization.conf'), 'utf8'), `user: "${nodeB}"`, 'B is gone from the authorization file')
    t.equal(c.logLines('hub link down; working from the local store').length, linkDownC, "the reload left C's connection alone")
    t.ok(b.alive, 'the agent itself keeps running (its containers too) without a hub link')
  })
})
