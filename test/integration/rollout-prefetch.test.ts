// Prefetch end to end: a real hub, two real agents, real Docker and images of their own in the
// run's loopback registry. With `strategy.prefetch`, each node pulls the new revision's image
// ahead of its copy's move, so the switch itself pulls nothing, and the rollout holds a copy
// whose node cannot get the image yet (its bandwidth rules defer it) until it can.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { uniqueNodeId } from '../support/agent-process.js'
import { deploymentYaml, sleepTemplate, startHubAgent, startHubProcess, type HubProcess } from '../support/hub-process.js'
import { dockerClient, tempDir, waitFor } from '../support/index.js'
import { pushUniqueImage } from '../support/unique-image.js'
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

t.test('prefetch: nodes pull the new image ahead of their wave, and a node that cannot yet holds its copy back', async (t) => {
  const first = await pushUniqueImage(t, 'prefetch-a')
  const second = await pushUniqueImage(t, 'prefetch-b')
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('pf')
  const open = await startHubAgent(t, hub, { name: uniqueNodeId('pf-open'), token: await hub.createJoinToken({ maxUses: 1, labels: { fleet } }) })
  // Pulls only over a wired link, and on LTE for now: every pull it would make by the rules waits.
  const meteredToken = await hub.createJoinToken({ maxUses: 1, labels: { fleet, 'shoal.io/pull-on-links': 'wired', link: 'lte' } })
  const metered = await startHubAgent(t, hub, { name: uniqueNodeId('pf-lte'), token: meteredToken })
  const connection = ['--hub', hub.apiUrl, '--token', hub.adminToken]
  const file = path.join(tempDir(t, 'prefetch'), 'cams.yaml')
  const manifest = (image: string) =>
    deploymentYaml('cams', {
      mode: 'every-node',
      selector: { matchLabels: { fleet } },
      strategy: { maxUnavailable: 1, minReadySeconds: 0, prefetch: true, progressDeadline: '5m' },
      template: sleepTemplate(image),
    })

  // Revision 1 with --pull-now: the LTE node gets it despite its rules.
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
      const copyOf = (nodeId: string) => status.copies.find((c: any) => c.nodeId === nodeId)
      const done = copyOf(open.nodeId)
      const waiting = copyOf(metered.nodeId)
      if (status.phase === 'failed') throw new Error(`the rollout failed: ${JSON.stringify(status.failure)}`)
      return status.revision === 2 && done?.gate === 'updated' && waiting?.prefetch === 'pull-deferred' ? status : undefined
    },
    { what: 'the open node updated and the LTE node held with its pull-ahead deferred', timeoutMs: 90_000, intervalMs: 250 },
  )
  const waiting = held.copies.find((c: any) => c.nodeId === metered.nodeId)
  t.equal(waiting.gate, 'old', 'the LTE copy was not moved')
  t.match(waiting.reason, /waiting for its node to prefetch revision 2's images \(pull-deferred: pull of .* deferred: link is lte; pulls only over wired/)
  t.equal(held.phase, 'progressing')
  t.equal(await runningRevision('cams', metered.nodeId), 1, 'the LTE node still runs revision 1')
  t.equal(await runningRevision('cams', open.nodeId), 2)

  const status = await cli(['rollout', 'status', 'cams', ...connection])
  t.match(status.out, /prefetch/, 'the strategy line says prefetch')
  t.match(status.out, /PREFETCH/, 'and the copies have a PREFETCH column')
  t.match(status.out, /pull-deferred/)

  // The node moves to a wired link: its pull-ahead goes, then its copy.
  const relabel = await cli(['label', 'node', metered.nodeId, 'link=wired', ...connection])
  t.equal(relabel.code, 0, relabel.err)
  await waitFor(
    async () => {
      const current = await rollout(hub, 'cams')
      if (current.phase === 'failed') throw new Error(`the rollout failed: ${JSON.stringify(current.failure)}`)
      return current.phase === 'complete' && current.revision === 2 ? current : undefined
    },
    { what: 'the rollout to complete once the LTE node could pull', timeoutMs: 120_000, intervalMs: 250 },
  )
  t.equal(await runningRevision('cams', metered.nodeId), 2)

  for (const agent of [open, metered]) {
    const events = await hub.events(agent.nodeId)
    const pullsOfSecond = events.filter((e) => e.type === 'ImagePulling' && e.message.includes(second.ref))
    t.same(pullsOfSecond, [], `${agent.nodeId}: the switch to revision 2 downloaded nothing (its image was there)`)
  }
})
