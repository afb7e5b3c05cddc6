// Progressive delivery against the real parts: a hub process, six enrolled agents, real Docker.
// The engine's own event stream is the record of container replacements, so the assertions
// are about what ran, not about what the hub says it did: waves within maxUnavailable, a bad
// revision (one that exits, one that fails its health check) stopped at the first wave and
// rolled back, a canary that holds until promoted, one site at a time, and a rollout that
// survives a hub SIGKILL in the middle.
import t from 'tap'
import { dockerClient, testImage, waitFor, type TestLike } from '../support/index.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { deploymentYaml, sleepTemplate, startHubAgent, startHubProcess, type HubProcess } from '../support/hub-process.js'

t.setTimeout(600_000)

interface ContainerEvent {
  readonly action: 'start' | 'die' | 'create'
  readonly node: string
  readonly revision: number
}

/** Docker's event stream for one deployment's containers: start, die and create, in order. */
async function recordEngine(t: TestLike, deployment: string): Promise<{ events: ContainerEvent[]; stop: () => void }> {
  const stream = (await dockerClient().getEvents({
    filters: { type: ['container'], event: ['create', 'start', 'die'], label: [`io.shoal.deployment=${deployment}`] },
  })) as NodeJS.ReadableStream & { destroy(): void }
  const events: ContainerEvent[] = []
  let buffered = ''
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8')
    let newline = buffered.indexOf('\n')
    while (newline >= 0) {
      const line = buffered.slice(0, newline).trim()
      buffered = buffered.slice(newline + 1)
      newline = buffered.indexOf('\n')
      if (!line) continue
      const raw = JSON.parse(line) as { Action: string; Actor: { Attributes: Record<string, string> } }
      events.push({
        action: raw.Action as ContainerEvent['action'],
        node: raw.Actor.Attributes['io.shoal.node'] ?? '',
        revision: Number(raw.Actor.Attributes['io.shoal.revision']),
      })
    }
  })
  stream.on('error', () => undefined)
  const stop = (): void => stream.destroy()
  t.teardown(stop)
  return { events, stop }
}

/** The most nodes that had no running container of the deployment at one moment, all starting up. */
function mostDown(events: readonly ContainerEvent[], nodes: readonly string[], group: (node: string) => string = () => ''): { nodes: number; groups: number } {
  const running = new Map(nodes.map((n) => [n, 1]))
  let worst = { nodes: 0, groups: 0 }
  for (const event of events) {
    if (event.action === 'create') continue
    running.set(event.node, (running.get(event.node) ?? 0) + (event.action === 'start' ? 1 : -1))
    const down = nodes.filter((n) => (running.get(n) ?? 0) <= 0)
    const groups = new Set(down.map(group)).size
    worst = { nodes: Math.max(worst.nodes, down.length), groups: Math.max(worst.groups, groups) }
  }
  return worst
}

async function rollout(hub: HubProcess, name: string): Promise<any> {
  const response = await hub.api('GET', `/api/v1/deployments/${name}/rollout`)
  if (response.status !== 200) throw new Error(`rollout of ${name}: ${response.status} ${response.text}`)
  return response.body
}

async function waitForPhase(hub: HubProcess, name: string, revision: number, phase: 'complete' | 'failed', timeoutMs = 120_000): Promise<any> {
  return waitFor(
    async () => {
      const status = await rollout(hub, name)
      if (status.revision === revision && status.phase !== 'progressing' && status.phase !== phase)
        throw new Error(`rollout of revision ${revision} ended ${status.phase}: ${JSON.stringify(status.failure)}`)
      return status.revision === revision && status.phase === phase ? status : undefined
    },
    { what: `revision ${revision} of ${name} to be ${phase}`, timeoutMs, intervalMs: 250 },
  )
}

/** The revision each node's running container of the deployment carries, from the engine. */
async function runningRevisions(deployment: string, nodes: readonly string[]): Promise<Map<string, number>> {
  const found = await dockerClient().listContainers({ filters: { label: [`io.shoal.deployment=${deployment}`], status: ['running'] } })
  const result = new Map<string, number>()
  for (const c of found) if (nodes.includes(c.Labels['io.shoal.node'] ?? '')) result.set(c.Labels['io.shoal.node'] ?? '', Number(c.Labels['io.shoal.revision']))
  return result
}

async function waitForRevisions(deployment: string, nodes: readonly string[], want: (node: string) => number, what: string): Promise<void> {
  await waitFor(
    async () => {
      const revisions = await runningRevisions(deployment, nodes)
      return nodes.every((n) => revisions.get(n) === want(n))
    },
    { what, timeoutMs: 120_000, intervalMs: 250 },
  )
}

t.test('rollouts across six real agents', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('roll')
  const token = await hub.createJoinToken({ maxUses: 6, ttl: '10m', labels: { fleet } })
  const sites = ['a', 'a', 'b', 'b', 'c', 'c']
  const names = sites.map((_, i) => uniqueNodeId(`r${i}`))
  await Promise.all(
    names.map((name, i) => startHubAgent(t, hub, { name, token, labels: { site: sites[i] as string, ...(i === 0 ? { ring: 'canary' } : {}) } })),
  )
  await waitFor(async () => (await hub.nodes()).filter((n: any) => n.online).length === 6, { what: 'six online nodes', timeoutMs: 60_000 })
  const siteOf = (node: string): string => sites[names.indexOf(node)] as string
  const name = `web-${fleet}`.slice(0, 63)
  const manifest = (version: string, strategy: Record<string, unknown>, template: Record<string, unknown> = {}): string =>
    deploymentYaml(name, {
      mode: 'every-node',
      selector: { matchLabels: { fleet } },
      strategy,
      template: sleepTemplate(image, { env: { VERSION: version }, ...template }),
    })

  await hub.apply(manifest('1', { maxUnavailable: 2 }))
  await waitForPhase(hub, name, 1, 'complete')
  await waitForRevisions(name, names, () => 1, 'revision 1 on every node')

  await t.test('a good revision rolls in waves of at most maxUnavailable', async (t) => {
    const engine = await recordEngine(t, name)
    await hub.apply(manifest('2', { maxUnavailable: 2 }))
    const done = await waitForPhase(hub, name, 2, 'complete')
    await waitForRevisions(name, names, () => 2, 'revision 2 on every node')
    engine.stop()
    t.equal(done.stableRevision, 2)
    t.ok(
      engine.events.some((e) => e.action === 'start'),
      'the engine recorded the replacements',
    )
    const starts = engine.events.filter((e) => e.action === 'start' && e.revision === 2)
    t.same(new Set(starts.map((e) => e.node)).size, 6, 'every node started revision 2 once')
    t.ok(mostDown(engine.events, names).nodes <= 2, `never more than 2 nodes without a running copy (at worst ${mostDown(engine.events, names).nodes})`)
    const firstDie = engine.events.findIndex((e) => e.action === 'die')
    const thirdStart = engine.events.map((e, i) => [e, i] as const).filter(([e]) => e.action === 'start' && e.revision === 2)[2]?.[1] ?? -1
    t.ok(firstDie >= 0 && thirdStart > firstDie, 'the third node started only after the first wave')
    const history = (await hub.api('GET', `/api/v1/deployments/${name}/revisions`)).body
    t.same(
      history.items.map((r: any) => [r.revision, r.current, r.stable]),
      [
        [2, true, true],
        [1, false, false],
      ],
    )
    const events = (await hub.api('GET', '/api/v1/events?limit=1000')).body.items.filter((e: any) => e.workload === name)
    t.ok(events.filter((e: any) => e.type === 'RolloutWave').length >= 3, 'at least three waves recorded as events')
    t.ok(events.some((e: any) => e.type === 'RolloutComplete'))
    t.ok((await hub.metric('shoal_rollout_events_total', { type: 'RolloutWave' })) >= 3)
  })

  for (const bad of [
    { what: 'exits 1 at start', version: '3', template: { command: ['sh', '-c', 'exit 1'] }, reason: /exited with code 1|crash-loop/ },
    {
      what: 'fails its health check',
      version: '4',
      template: { healthCheck: { exec: { command: ['false'] }, interval: '1s', timeout: '1s', retries: 1 } },
      reason: /health check failing/,
    },
  ]) {
    await t.test(`a revision that ${bad.what} fails at the first wave and the fleet returns to revision 2`, async (t) => {
      const engine = await recordEngine(t, name)
      const applied = await hub.apply(manifest(bad.version, { maxUnavailable: 2 }, bad.template))
      const revision = applied.results[0].revision as number
      const failed = await waitForPhase(hub, name, revision, 'failed')
      t.equal(failed.failure.reason, 'HealthGateFailed')
      t.equal(failed.failure.rolledBack, true)
      t.match(failed.failure.nodes[0].reason, bad.reason)
      t.match(
        failed.conditions.find((c: any) => c.type === 'RolloutFailed'),
        { status: 'True', reason: 'HealthGateFailed', observedRevision: revision },
      )
      await waitForRevisions(name, names, () => 2, 'revision 2 back on every node')
      engine.stop()
      const reached = new Set(engine.events.filter((e) => e.action === 'create' && e.revision === revision).map((e) => e.node))
      t.ok(reached.size >= 1 && reached.size <= 2, `only the first wave ever got revision ${revision} (${[...reached].join(', ')})`)
      const events = (await hub.api('GET', '/api/v1/events?limit=1000')).body.items.filter((e: any) => e.workload === name)
      t.ok(events.some((e: any) => e.type === 'RolloutRolledBack'))
    })
  }

  await t.test('canary: a ring=canary step holds until promoted', async (t) => {
    const canary = { type: 'canary', maxUnavailable: 6, steps: [{ selector: { matchLabels: { ring: 'canary' } }, pause: 'manual' }] }
    const applied = await hub.apply(manifest('5', canary))
    const revision = applied.results[0].revision as number
    const holding = await waitFor(
      async () => {
        const status = await rollout(hub, name)
        return status.conditions.find((c: any) => c.type === 'RolloutPaused' && c.reason === 'AwaitingPromotion') ? status : undefined
      },
      { what: 'the canary step to hold', timeoutMs: 120_000, intervalMs: 250 },
    )
    t.equal(holding.phase, 'progressing')
    const revisions = await runningRevisions(name, names)
    t.equal(revisions.get(names[0] as string), revision, 'the canary node runs the new revision')
    for (const node of names.slice(1)) t.equal(revisions.get(node), 2, `${node} still runs revision 2`)
    const promoted = await hub.api('POST', `/api/v1/deployments/${name}/rollout/promote`)
    t.equal(promoted.status, 200, promoted.text)
    await waitForPhase(hub, name, revision, 'complete')
    await waitForRevisions(name, names, () => revision, 'every node on the canary revision')
    const again = await hub.api('POST', `/api/v1/deployments/${name}/rollout/promote`)
    t.equal(again.status, 409, 'nothing left to promote')
    t.equal(again.body.error.code, 'rollout-conflict')
  })

  await t.test('partitionBy site: never two sites updating at once, and the rollout survives a hub SIGKILL', async (t) => {
    const engine = await recordEngine(t, name)
    const applied = await hub.apply(manifest('6', { maxUnavailable: '100%', partitionBy: 'site', minReadySeconds: 2 }))
    const revision = applied.results[0].revision as number
    // Kill the hub once the first site is on its way; the rest must follow from stored state.
    await waitFor(() => engine.events.some((e) => e.action === 'start' && e.revision === revision), { what: 'the first site to start', timeoutMs: 60_000 })
    await hub.restart('SIGKILL')
    await waitForPhase(hub, name, revision, 'complete', 180_000)
    await waitForRevisions(name, names, () => revision, 'every node on the new revision')
    engine.stop()
    const worst = mostDown(engine.events, names, siteOf)
    t.ok(worst.groups <= 1, `at most one site without running copies at a time (saw ${worst.groups})`)
    const order = [...new Set(engine.events.filter((e) => e.action === 'start' && e.revision === revision).map((e) => siteOf(e.node)))]
    t.same(order, ['a', 'b', 'c'], 'sites in order')
  })

  await t.test('maxSurge 1, maxUnavailable 0: a replicated deployment never has fewer than its replicas running', async (t) => {
    const surged = `surge-${fleet}`.slice(0, 63)
    const replicated = (version: string) =>
      deploymentYaml(surged, {
        replicas: 3,
        selector: { matchLabels: { fleet } },
        strategy: { maxUnavailable: 0, maxSurge: 1, minReadySeconds: 2 },
        template: sleepTemplate(image, { env: { VERSION: version } }),
      })
    const first = await hub.apply(replicated('1'))
    await waitForPhase(hub, surged, first.results[0].revision, 'complete')
    const running = async (): Promise<Map<string, number>> => runningRevisions(surged, names)
    await waitFor(async () => (await running()).size === 3, { what: 'three replicas running', timeoutMs: 60_000 })
    const engine = await recordEngine(t, surged)
    const applied = await hub.apply(replicated('2'))
    const revision = applied.results[0].revision as number
    await waitForPhase(hub, surged, revision, 'complete', 180_000)
    await waitFor(
      async () => {
        const now = await running()
        return now.size === 3 && [...now.values()].every((r) => r === revision)
      },
      { what: 'three replicas on the new revision, the surge copy gone', timeoutMs: 60_000, intervalMs: 250 },
    )
    engine.stop()
    let up = 3
    let fewest = 3
    for (const event of engine.events) {
      if (event.action === 'start') up++
      else if (event.action === 'die') up--
      fewest = Math.min(fewest, up)
    }
    t.ok(fewest >= 3, `never fewer than 3 copies running during the rollout (at fewest ${fewest})`)
    t.ok(
      engine.events.some((e) => e.action === 'start' && e.revision === revision),
      'the new revision started',
    )
    await hub.api('DELETE', `/api/v1/deployments/${surged}`)
  })

  await t.test('local revert: with its hub SIGKILLed, a node puts the fallback back; the returning hub fails the rollout', async (t) => {
    const stable = (await rollout(hub, name)).revision as number
    const engine = await recordEngine(t, name)
    // Runs a few seconds, then exits 1 under `never`: it fails its gate after the hub is gone.
    // minReadySeconds keeps the first wave from counting as updated meanwhile.
    const applied = await hub.apply(
      manifest('7', { maxUnavailable: 1, minReadySeconds: 120, revertWindow: '10m' }, { command: ['sh', '-c', 'sleep 5; exit 1'], restartPolicy: 'never' }),
    )
    const revision = applied.results[0].revision as number
    const first = [...names].sort()[0] as string
    await waitFor(async () => (await runningRevisions(name, [first])).get(first) === revision, {
      what: 'the first node to run the new revision',
      timeoutMs: 60_000,
      intervalMs: 100,
    })
    await hub.kill('SIGKILL')
    await waitFor(async () => (await runningRevisions(name, [first])).get(first) === stable, {
      what: 'the node to revert to the stable revision by itself',
      timeoutMs: 90_000,
      intervalMs: 250,
    })
    t.pass('the agent reverted while its hub was down')
    await hub.start()
    const failed = await waitForPhase(hub, name, revision, 'failed')
    t.equal(failed.failure.reason, 'HealthGateFailed')
    t.match(failed.failure.nodes, [{ nodeId: first, reason: /reverted locally to revision/ }])
    await waitForRevisions(name, names, () => stable, 'every node on the stable revision')
    engine.stop()
    const reached = new Set(engine.events.filter((e) => e.action === 'create' && e.revision === revision).map((e) => e.node))
    t.same([...reached], [first], 'no other node ever got the bad revision')
    const detail = (await hub.api('GET', `/api/v1/nodes/${first}`)).body
    const events = detail.events.map((e: any) => e.type)
    t.ok(events.includes('LocalRevert'), `the node's LocalRevert event reached the hub (${events.join(', ')})`)
  })
})
