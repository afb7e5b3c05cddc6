// A real hub (embedded aedes broker) and three real agents that enroll with join tokens,
// each with its own labels and firmware profile. Deployments land exactly where their
// selectors, profiles and capabilities say, checked in the Docker engine by node label; the
// API reports ready counts and says why the GPU deployment is pending; a dry run shows
// placements without changing anything.
import t from 'tap'
import { freePort, testImage, waitFor } from '../support/index.js'
import { fetchText, nodeContainers, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { deploymentContainers, deploymentYaml, httpdTemplate, manifestsYaml, sleepTemplate, startHubAgent, startHubProcess } from '../support/hub-process.js'

t.setTimeout(150_000)

t.test('three enrolled agents run exactly what selectors, profiles and capabilities say', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('fleet')
  const token = await hub.createJoinToken({ maxUses: 3, ttl: '10m', labels: { fleet } })
  const ids = { north: uniqueNodeId('north'), south: uniqueNodeId('south'), gw: uniqueNodeId('gw') }
  const [north, south, gw] = await Promise.all([
    startHubAgent(t, hub, { name: ids.north, token, labels: { site: 'north', ring: 'edge' } }),
    startHubAgent(t, hub, { name: ids.south, token, labels: { site: 'south', ring: 'edge' }, profile: 'raspberry-pi-4' }),
    startHubAgent(t, hub, { name: ids.gw, token, labels: { site: 'south', ring: 'core' }, profile: 'x86-industrial-gateway' }),
  ])
  const all = [ids.north, ids.south, ids.gw]

  await t.test('enrollment: one node each, labels from profile, token and node; the token is used up', async (t) => {
    const nodes = await waitFor(
      async () => {
        const items = await hub.nodes()
        return items.length === 3 && items.every((n: any) => n.online) ? items : undefined
      },
      { what: 'three online nodes', timeoutMs: 30_000 },
    )
    const byId = new Map(nodes.map((n: any) => [n.id, n]))
    t.same(byId.get(ids.north)?.labels, { 'device-class': 'generic', fleet, site: 'north', ring: 'edge' })
    t.equal(byId.get(ids.south)?.profile, 'raspberry-pi-4')
    t.match(byId.get(ids.south)?.labels, { tier: 'edge', fleet, site: 'south' })
    t.equal(byId.get(ids.gw)?.profile, 'x86-industrial-gateway')
    t.match(byId.get(ids.gw)?.labels, { tier: 'gateway', fleet, site: 'south', ring: 'core' })
    for (const node of nodes) t.notOk((node.capabilities as string[]).includes('gpu'), `${node.id} has no gpu`)
    const { inventory } = await hub.node(ids.north)
    const refused = await hub.api('POST', '/api/v1/enroll', { token, name: 'one-too-many', labels: {}, inventory, agentVersion: '0.1.0' }, { token: null })
    t.equal(refused.status, 403, `a fourth enrollment with the 3-use token is refused: ${refused.text}`)
    t.match(refused.body.error, { code: 'token-refused', message: /used 3 of 3 times/ })
    const fresh = await hub.createJoinToken({ maxUses: 1 })
    const wrongKey = await hub.api('POST', '/api/v1/enroll', { token: fresh, name: 'x', labels: {}, inventory: {}, agentVersion: '0.1.0' }, { token: null })
    t.equal(wrongKey.status, 400, 'an invalid enrollment request is a 400')
    // The agents pinned this hub's key.
    t.equal((await north.status()).hubKeyPinned, true)
  })

  const webPort = await freePort()
  const manifests = manifestsYaml(
    deploymentYaml('every', { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(image) }),
    deploymentYaml('edge-worker', {
      replicas: 2,
      selector: { matchLabels: { fleet }, matchExpressions: [{ key: 'ring', operator: 'In', values: ['edge'] }] },
      template: sleepTemplate(image),
    }),
    deploymentYaml('gateway-web', {
      replicas: 1,
      selector: { matchLabels: { fleet, site: 'south' } },
      requires: { profiles: ['x86-industrial-gateway'] },
      template: httpdTemplate(image, webPort, 'hello-gateway'),
    }),
    deploymentYaml('gpu-job', { replicas: 1, selector: { matchLabels: { fleet } }, requires: { capabilities: ['gpu'] }, template: sleepTemplate(image) }),
  )

  await t.test('apply: containers run exactly where the scheduler placed them', async (t) => {
    const applied = await hub.apply(manifests)
    t.same(
      applied.results.map((r: any) => [r.name, r.outcome]),
      [
        ['every', 'created'],
        ['edge-worker', 'created'],
        ['gateway-web', 'created'],
        ['gpu-job', 'created'],
      ],
    )
    const [onNorth, onSouth, onGw] = await Promise.all([
      waitForRunning(ids.north, ['edge-worker', 'every'], 90_000),
      waitForRunning(ids.south, ['edge-worker', 'every'], 90_000),
      waitForRunning(ids.gw, ['every', 'gateway-web'], 90_000),
    ])
    t.equal(onNorth.size + onSouth.size + onGw.size, 6, 'six containers in all')
    t.equal(await waitFor(() => fetchText(webPort), { what: 'gateway-web to serve', timeoutMs: 20_000 }), 'hello-gateway')
    t.same(await deploymentContainers('gpu-job', all), [], 'no gpu-job container anywhere')
    for (const [node, containers] of [
      [ids.north, onNorth],
      [ids.south, onSouth],
      [ids.gw, onGw],
    ] as const) {
      for (const c of containers.values()) t.equal(c.labels['io.shoal.node'], node, `${c.workload} on ${node} carries its node label`)
    }
  })

  await t.test('the API shows ready counts and why the GPU deployment is pending', async (t) => {
    const list = await waitFor(
      async () => {
        const items = (await hub.ok('GET', '/api/v1/deployments')).items as any[]
        const by = new Map(items.map((d) => [d.name, d]))
        const ready = (name: string, n: number): boolean => by.get(name)?.ready === n
        return ready('every', 3) && ready('edge-worker', 2) && ready('gateway-web', 1) ? by : undefined
      },
      { what: 'ready counts 3, 2, 1 in GET /api/v1/deployments', timeoutMs: 60_000, intervalMs: 500 },
    )
    t.match(list.get('every'), { desired: 3, placed: 3, ready: 3, pending: 0, mode: 'every-node' })
    t.match(list.get('edge-worker'), { desired: 2, placed: 2, ready: 2, pending: 0 })
    t.match(list.get('gateway-web'), { desired: 1, placed: 1, ready: 1, pending: 0 })
    t.match(list.get('gpu-job'), { desired: 1, placed: 0, ready: 0, pending: 1 })

    const gpu = await hub.deployment('gpu-job')
    t.match(gpu.why, /3 lack capability gpu/, `why: ${gpu.why}`)
    t.same(gpu.placements, [])
    const web = await hub.deployment('gateway-web')
    t.same(
      web.placements.map((p: any) => p.nodeId),
      [ids.gw],
    )
    t.equal(web.placements[0].status.state, 'running')
    t.match(web.why, /1\/3 nodes match/, `why: ${web.why}`)
    const worker = await hub.deployment('edge-worker')
    t.same(worker.placements.map((p: any) => p.nodeId).sort(), [ids.north, ids.south].sort())

    const gwNode = await hub.node(ids.gw)
    t.equal(gwNode.condition.type, 'Ready')
    t.same(gwNode.placements.map((p: any) => p.deployment).sort(), ['every', 'gateway-web'])
    t.equal(gwNode.generation.latest, (await gw.status()).generation, 'the agent accepted the latest generation')
  })

  await t.test('a dry run shows placements and changes nothing', async (t) => {
    const before = { deployments: (await hub.ok('GET', '/api/v1/deployments')).items, nodes: (await hub.nodes()).map((n: any) => [n.id, n.generation.latest]) }
    const containersBefore = (await Promise.all(all.map((id) => nodeContainers(id))))
      .flat()
      .map((c) => c.id)
      .sort()
    const preview = await hub.ok(
      'POST',
      '/api/v1/manifests?dryRun=true',
      manifestsYaml(
        deploymentYaml('preview-south', { mode: 'every-node', selector: { matchLabels: { fleet, site: 'south' } }, template: sleepTemplate(image) }),
        deploymentYaml('edge-worker', {
          replicas: 3,
          selector: { matchLabels: { fleet }, matchExpressions: [{ key: 'ring', operator: 'In', values: ['edge'] }] },
          template: sleepTemplate(image),
        }),
      ),
    )
    t.equal(preview.dryRun, true)
    const southPreview = preview.results.find((r: any) => r.name === 'preview-south')
    t.same(southPreview.placements.map((p: any) => p.nodeId).sort(), [ids.south, ids.gw].sort(), 'would run on both south nodes')
    const worker = preview.results.find((r: any) => r.name === 'edge-worker')
    t.equal(worker.placements.length, 2, 'three edge replicas fit on two edge nodes only')
    t.equal(worker.pending, 1)
    t.match(worker.why, /1 pending/)

    t.same((await hub.ok('GET', '/api/v1/deployments')).items, before.deployments, 'deployments unchanged')
    t.same(
      (await hub.nodes()).map((n: any) => [n.id, n.generation.latest]),
      before.nodes,
      'no node got a new generation',
    )
    t.equal((await hub.api('GET', '/api/v1/deployments/preview-south')).status, 404)
    const containersAfter = (await Promise.all(all.map((id) => nodeContainers(id))))
      .flat()
      .map((c) => c.id)
      .sort()
    t.same(containersAfter, containersBefore, 'no container started or removed')
  })

  await t.test('deleting a deployment removes its containers everywhere', async (t) => {
    await hub.ok('DELETE', '/api/v1/deployments/every')
    await Promise.all([waitForRunning(ids.north, ['edge-worker']), waitForRunning(ids.south, ['edge-worker']), waitForRunning(ids.gw, ['gateway-web'])])
    t.same(await deploymentContainers('every', all), [])
    t.ok(gw.alive && south.alive && north.alive, 'agents still running')
  })
})
