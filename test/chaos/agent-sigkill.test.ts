// Chaos: the agent SIGKILLed at random moments while it reconciles new revisions and writes its
// outbox. After every kill: its SQLite file passes integrity_check, and once restarted it adopts
// or replaces containers without ever running two of one workload; at the hub, no record arrives
// twice and seqs only grow within an epoch. Moments come from a seeded PRNG (the seed is printed)
// so a failure can be replayed; the number of rounds bounds the time.
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { dockerClient, testImage, waitFor } from '../support/index.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { deploymentYaml, manifestsYaml, sleepTemplate, startHubAgent, startHubProcess } from '../support/hub-process.js'
import { prng } from '../support/prng.js'

t.setTimeout(420_000)

const ROUNDS = 8
const SEED = Number(process.env.SHOAL_CHAOS_SEED ?? 20261206)

t.test('the agent SIGKILLed mid-reconcile and mid-outbox, again and again', async (t) => {
  t.comment(`seed ${SEED} (replay with SHOAL_CHAOS_SEED=${SEED})`)
  const random = prng(SEED)
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('chaos')
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('chaos'), labels: { fleet } })
  const nodeId = agent.nodeId
  const names = ['alpha', 'beta', 'gamma'].map((n) => `${n}-${fleet}`.slice(0, 63))
  const apply = (round: number) =>
    hub.apply(
      manifestsYaml(
        ...names.map((name) =>
          deploymentYaml(name, {
            mode: 'every-node',
            selector: { matchLabels: { fleet } },
            strategy: { maxUnavailable: '100%', minReadySeconds: 0 },
            template: sleepTemplate(image, { env: { ROUND: String(round) } }),
          }),
        ),
      ),
    )
  const containers = async () => {
    const found = await dockerClient().listContainers({ all: true, filters: { label: [`io.shoal.node=${nodeId}`] } })
    return found.map((c) => ({ workload: c.Labels['io.shoal.workload'] ?? '', revision: Number(c.Labels['io.shoal.revision']), state: c.State }))
  }
  const converged = async (revision: number): Promise<boolean> => {
    const list = await containers()
    return names.every((name) => list.filter((c) => c.workload === name && c.state === 'running' && c.revision === revision).length === 1)
  }
  const figures = { kills: 0, integrityChecks: 0, maxContainersPerWorkload: 0, eventsAtHub: 0 }

  const first = await apply(0)
  await waitFor(() => converged(first.results[0].revision), { what: 'the first revision running', timeoutMs: 90_000, intervalMs: 250 })

  for (let round = 1; round <= ROUNDS; round++) {
    const applied = await apply(round)
    const revision = applied.results[0].revision as number
    // Somewhere in the window where the agent receives, stores, stops, creates and reports.
    const delayMs = Math.floor(random() * 2_500)
    await new Promise((resolve) => setTimeout(resolve, delayMs))
    const exit = await agent.kill('SIGKILL')
    t.equal(exit.signal, 'SIGKILL', `round ${round}: killed ${delayMs} ms after the apply`)
    figures.kills++
    const db = new Database(path.join(agent.dataDir, 'agent.db'), { readonly: true, fileMustExist: true })
    try {
      t.equal(db.pragma('integrity_check', { simple: true }), 'ok', `round ${round}: integrity_check`)
      figures.integrityChecks++
    } finally {
      db.close()
    }
    await agent.start()
    await waitFor(() => converged(revision), { what: `round ${round}: revision ${revision} running once per workload`, timeoutMs: 90_000, intervalMs: 250 })
    const list = await containers()
    for (const name of names) figures.maxContainersPerWorkload = Math.max(figures.maxContainersPerWorkload, list.filter((c) => c.workload === name).length)
  }
  t.equal(figures.maxContainersPerWorkload, 1, 'never two containers of one workload after a restart')

  // Everything the agent reported reached the hub once, in order.
  await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'the outbox to drain', timeoutMs: 60_000 })
  const events = (await hub.events(nodeId)).filter((e) => e.seq !== null)
  figures.eventsAtHub = events.length
  const seqs = events.map((e) => e.seq as number)
  t.equal(new Set(seqs).size, seqs.length, 'no record stored twice at the hub')
  const outOfOrder = seqs.filter((seq, i) => i > 0 && seq <= (seqs[i - 1] as number))
  t.same(outOfOrder, [], 'seqs only grow, in the order the hub stored them')
  t.comment(`figures: ${JSON.stringify(figures)}`)
})
