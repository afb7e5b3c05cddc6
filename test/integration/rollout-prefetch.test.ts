// Prefetch end to end: a real hub, two real agents, real Docker and images of their own in the
// run's loopback registry. With `strategy.prefetch`, the rollout holds every copy whose node cannot
// get the new image yet (its bandwidth rules defer the pull-ahead), and moves them once it is
// there, so the switch itself pulls nothing. Which copy waits for which node's report is the
// planner's, tested node by node in test/unit/rollout-plan.test.ts.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { uniqueNodeId } from '../support/agent-process.js'
import { deploymentYaml, sleepTemplate, startHubAgent, startHubProcess, type HubProcess } from '../support/hub-process.js'
import { dockerClient, tempDir, waitFor } from '../support/index.js'
import { imagePresent, pushUniqueImage } from '../support/unique-image.js'
import { cli } from './cli-harness.js'

t.setTimeout(300_000)

async function rollout(hub: HubProcess, name: string): Promise<any> {
  const response = await hub.api('GET', `/api/v1/deployments/${name}/rollout`)
  if (response.status !== 200) throw new Error(`rollout of ${name}: ${response.status} ${response.text}`)
  return response.body
}

/** The revision of the deployment's running container on the node, from the engine; null when none runs. */
async function runningRevision(deployment: string, nodeId: string): Promise<number | null> {
  const found = await dockerClient().listContainers({
    filters: { label: [`io.shoal.deployment=${deployment}`, `io.shoal.node=${nodeId}`], status: ['running'] },
  })
  return found.length === 1 ? Number(found[0]?.Labels['io.shoal.revision']) : null
}

t.test('prefetch: copies are held while their nodes cannot pull the new image, and move once it is there, with no pull at the switch', async (t) => {
  const first = await pushUniqueImage(t, 'prefetch-a')
  const second = await pushUniqueImage(t, 'prefetch-b')
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('pf')
  // Both pull only over a wired link and are on LTE for now: every pull they would make by the rules waits.
  // The two agents share this machine's engine, so an image one of them pulls is there for the other too.
  const meteredLabels = { fleet, 'shoal.io/pull-on-links': 'wired', link: 'lte' }
  const nodeA = await startHubAgent(t, hub, { name: uniqueNodeId('pf-a'), token: await hub.createJoinToken({ maxUses: 1, labels: meteredLabels }) })
  const nodeB = await startHubAgent(t, hub, { name: uniqueNodeId('pf-b'), token: await hub.createJoinToken({ maxUses: 1, labels: meteredLabels }) })
  const nodes = [nodeA.nodeId, nodeB.nodeId]
  const connection = ['--hub', hub.apiUrl, '--token', hub.adminToken]
  const file = path.join(tempDir(t, 'prefetch'), 'cams.yaml')
  const manifest = (image: string) =>
    deploymentYaml('cams', {
      mode: 'every-node',
      selector: { matchLabels: { fleet } },
      strategy: { maxUnavailable: 1, minReadySeconds: 0, prefetch: true, progressDeadline: '5m' },
      template: sleepTemplate(image),
    })

  // Revision 1 with --pull-now: the nodes get it despite their rules.
  writeFileSync(file, manifest(first.ref))
  const applied = await cli(['apply', '-f', file, '--pull-now', ...connection])
  t.equal(applied.code, 0, applied.err)
  await waitFor(async () => ((await rollout(hub, 'cams')).phase === 'complete' ? true : undefined), {
    what: 'revision 1 to run on both nodes',
    timeoutMs: 90_000,
    intervalMs: 250,
  })

  writeFileSync(file, manifest(second.ref))
  const next = await cli(['apply', '-f', file, ...connection])
  t.equal(next.code, 0, next.err)
  const held = await waitFor(
    async () => {
      const status = await rollout(hub, 'cams')
      if (status.phase === 'failed') throw new Error(`the rollout failed: ${JSON.stringify(status.failure)}`)
      const deferred = status.copies.filter((c: any) => c.gate === 'old' && c.prefetch === 'pull-deferred')
      return status.revision === 2 && deferred.length === 2 ? status : undefined
    },
    { what: "both copies held with their nodes' pull-ahead deferred", timeoutMs: 90_000, intervalMs: 250 },
  )
  t.equal(held.phase, 'progressing')
  for (const copy of held.copies)
    t.match(copy.reason, /waiting for its node to prefetch revision 2's images \(pull-deferred: pull of .* deferred: link is lte; pulls only over wired/)
  t.notOk(await imagePresent(second.ref), 'the new image was not pulled')
  for (const nodeId of nodes) t.equal(await runningRevision('cams', nodeId), 1, `${nodeId} still runs revision 1`)

  const status = await cli(['rollout', 'status', 'cams', ...connection])
  t.match(status.out, /prefetch/, 'the strategy line says prefetch')
  t.match(status.out, /PREFETCH/, 'and the copies have a PREFETCH column')
  t.match(status.out, /pull-deferred/)

  // One node moves to a wired link: it pulls ahead; the image is then on the engine both share,
  // so both report it present and the copies move, one at a time.
  const relabel = await cli(['label', 'node', nodeA.nodeId, 'link=wired', ...connection])
  t.equal(relabel.code, 0, relabel.err)
  await waitFor(
    async () => {
      const current = await rollout(hub, 'cams')
      if (current.phase === 'failed') throw new Error(`the rollout failed: ${JSON.stringify(current.failure)}`)
      return current.phase === 'complete' && current.revision === 2 ? current : undefined
    },
    { what: 'the rollout to complete once the image could be pulled', timeoutMs: 120_000, intervalMs: 250 },
  )
  for (const nodeId of nodes) t.equal(await runningRevision('cams', nodeId), 2, `${nodeId} runs revision 2`)
  for (const nodeId of nodes) {
    const events = await hub.events(nodeId)
    const pullsOfSecond = events.filter((e) => e.type === 'ImagePulling' && e.message.includes(second.ref))
    t.same(pullsOfSecond, [], `${nodeId}: the switch to revision 2 downloaded nothing (its image was there)`)
  }
})
