// The API contract against a real hub process with a real enrolled agent and Docker: the OpenAPI
// document it serves, and real answers of the main routes parsed with the contract's response
// schemas (strict: a field the hub sends but the contract lacks fails here, as does a missing one).
import t, { type Test } from 'tap'
import type { z } from 'zod'
import {
  AlertList,
  ApiErrorBody,
  ApplyResponse,
  AuditList,
  BulkNodeResult,
  CronJobDeleted,
  CronJobDetail,
  CronJobList,
  DeploymentDetail,
  DeploymentList,
  DrainResult,
  DryRunResponse,
  EventList,
  Health,
  NodeDetail,
  NodeList,
  NodeView,
  RevisionChange,
  RevisionHistory,
  RolloutStatus,
  SessionList,
  TokenCreated,
  TokenList,
} from '../../protocol/api/index.js'
import { testImage, waitFor } from '../support/index.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { deploymentYaml, sleepTemplate, startHubAgent, startHubProcess, type HubProcess } from '../support/hub-process.js'

t.setTimeout(240_000)

/** Fetches a route and parses its JSON with the schema; resolves to the parsed value. */
async function conforming<S extends z.ZodType>(
  t: Test,
  hub: HubProcess,
  schema: S,
  method: string,
  path: string,
  body?: unknown,
  status = 200,
): Promise<z.infer<S>> {
  const response = await hub.api(method, path, body)
  t.equal(response.status, status, `${method} ${path} answers ${status}${response.status === status ? '' : `: ${response.text.slice(0, 300)}`}`)
  const parsed = schema.safeParse(response.body)
  t.same(parsed.error?.issues ?? [], [], `${method} ${path} parses with its response schema`)
  if (!parsed.success) throw new Error(`${method} ${path}: ${JSON.stringify(parsed.error.issues.slice(0, 5))}`)
  return parsed.data
}

interface OpenApiDoc {
  readonly openapi: string
  readonly paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema?: { $ref?: string } }> }> }>>
  readonly components: { readonly schemas: Record<string, unknown> }
}

t.test('a real hub serves its contract, and its answers parse with it', async (t) => {
  const hub = await startHubProcess(t)

  await t.test('GET /api/v1/openapi.json: the document, to the admin token only', async (t) => {
    const anonymous = await hub.api('GET', '/api/v1/openapi.json', undefined, { token: null })
    t.equal(anonymous.status, 401, 'the map of the API is not public')
    const doc = await hub.ok<OpenApiDoc>('GET', '/api/v1/openapi.json')
    t.equal(doc.openapi, '3.1.0')
    const answerOf = (path: string, method = 'get', status = '200') => doc.paths[path]?.[method]?.responses[status]?.content['application/json']?.schema?.$ref
    t.equal(answerOf('/api/v1/nodes'), '#/components/schemas/NodeList')
    t.equal(answerOf('/api/v1/nodes/{id}'), '#/components/schemas/NodeDetail')
    t.equal(answerOf('/api/v1/deployments'), '#/components/schemas/DeploymentList')
    t.equal(answerOf('/api/v1/events'), '#/components/schemas/EventList')
    t.equal(answerOf('/api/v1/deployments/{name}/rollout'), '#/components/schemas/RolloutStatus')
    t.equal(answerOf('/api/v1/tokens', 'post', '201'), '#/components/schemas/TokenCreated')
    for (const name of ['NodeList', 'NodeDetail', 'DeploymentList', 'EventList', 'RolloutStatus', 'TokenCreated'])
      t.ok(name in doc.components.schemas, `component ${name}`)
  })

  const token = await conforming(t, hub, TokenCreated, 'POST', '/api/v1/tokens', { maxUses: 1, ttl: '10m', labels: { site: 'a' } }, 201)
  t.equal(token.maxUses, 1)
  const tokens = await conforming(t, hub, TokenList, 'GET', '/api/v1/tokens')
  t.ok(
    tokens.items.some((item) => item.id === token.id && item.usesLeft === 1),
    'the new token is listed with its use left',
  )

  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('contract'), token: token.token })
  const nodeId = agent.nodeId
  await waitFor(async () => (await hub.nodes()).some((n) => n.id === nodeId && n.condition.type === 'Ready' && n.usage !== null), {
    what: `${nodeId} Ready with a heartbeat`,
    timeoutMs: 60_000,
  })

  await t.test('nodes', async (t) => {
    const list = await conforming(t, hub, NodeList, 'GET', '/api/v1/nodes')
    t.match(
      list.items.find((n) => n.id === nodeId),
      { labels: { site: 'a' }, online: true, condition: { type: 'Ready' } },
    )
    const selected = await conforming(t, hub, NodeList, 'GET', '/api/v1/nodes?selector=site%3Da')
    t.same(
      selected.items.map((n) => n.id),
      [nodeId],
    )
    const detail = await conforming(t, hub, NodeDetail, 'GET', `/api/v1/nodes/${nodeId}`)
    t.ok(detail.inventory.memoryBytes > 0, 'with its inventory')
    const patched = await conforming(t, hub, NodeView, 'PATCH', `/api/v1/nodes/${nodeId}`, { labels: { tier: 'edge' } })
    t.match(patched.labels, { site: 'a', tier: 'edge' }, 'the new label beside those from enrollment')
  })

  const image = testImage()
  const applied = await conforming(
    t,
    hub,
    ApplyResponse,
    'POST',
    '/api/v1/manifests',
    deploymentYaml('contract', { replicas: 1, template: sleepTemplate(image) }),
  )
  t.match(applied.results, [{ kind: 'Deployment', name: 'contract', outcome: 'created', revision: 1 }])
  await waitFor(
    async () => {
      const status = await hub.ok('GET', '/api/v1/deployments/contract/rollout')
      return status.phase === 'complete' && status.counts.updated === 1
    },
    { what: 'revision 1 of contract to be available', timeoutMs: 120_000, intervalMs: 250 },
  )

  await t.test('deployments', async (t) => {
    const list = await conforming(t, hub, DeploymentList, 'GET', '/api/v1/deployments')
    t.match(list.items, [{ name: 'contract', desired: 1, ready: 1, upToDate: 1, rollout: { phase: 'complete' } }])
    const detail = await conforming(t, hub, DeploymentDetail, 'GET', '/api/v1/deployments/contract')
    t.equal(detail.placements[0]?.status?.state, 'running', 'the placement carries its workload status')
    const preview = await conforming(
      t,
      hub,
      DryRunResponse,
      'POST',
      '/api/v1/manifests?dryRun=true',
      deploymentYaml('contract-preview', { replicas: 1, template: sleepTemplate(image) }),
    )
    t.match(preview.results, [{ name: 'contract-preview', desired: 1, pending: 0 }])
  })

  await t.test('cron jobs', async (t) => {
    const cron = `apiVersion: shoal/v1\nkind: CronJob\nmetadata:\n  name: contract-cron\nspec:\n  schedule: "0 3 * * *"\n  timeZone: Europe/Berlin\n  jobTemplate:\n    template:\n      image: ${image}\n      command: ["true"]\n`
    const applied = await conforming(t, hub, ApplyResponse, 'POST', '/api/v1/manifests', cron)
    t.match(applied.results, [{ kind: 'CronJob', name: 'contract-cron', outcome: 'created', revision: 1 }])
    const list = await conforming(t, hub, CronJobList, 'GET', '/api/v1/cronjobs')
    t.match(list.items, [{ name: 'contract-cron', schedule: '0 3 * * *', timeZone: 'Europe/Berlin', suspend: false, lastRun: null }])
    const detail = await conforming(t, hub, CronJobDetail, 'GET', '/api/v1/cronjobs/contract-cron')
    t.ok(detail.perNode.length > 0, 'every node runs it')
    t.match(detail.perNode[0], { placed: true, zone: 'Europe/Berlin', nextFireAt: String, runs: [] })
    await conforming(t, hub, CronJobDeleted, 'DELETE', '/api/v1/cronjobs/contract-cron')
  })

  await t.test('rollout', async (t) => {
    const status = await conforming(t, hub, RolloutStatus, 'GET', '/api/v1/deployments/contract/rollout')
    t.match(status, { deployment: 'contract', revision: 1, phase: 'complete', copies: [{ nodeId, gate: 'updated' }] })
    t.ok(status.conditions.length > 0, 'with its conditions')
    const history = await conforming(t, hub, RevisionHistory, 'GET', '/api/v1/deployments/contract/revisions')
    t.match(history.items, [{ revision: 1, current: true }])
    const restarted = await conforming(t, hub, RevisionChange, 'POST', '/api/v1/deployments/contract/rollout/restart')
    t.match(restarted, { revision: 2, from: 1, rollout: { deployment: 'contract' } })
    const paused = await conforming(t, hub, RolloutStatus, 'POST', '/api/v1/deployments/contract/rollout/pause')
    t.equal(paused.paused, true)
    const resumed = await conforming(t, hub, RolloutStatus, 'POST', '/api/v1/deployments/contract/rollout/resume')
    t.equal(resumed.paused, false)
  })

  await t.test('events, audit, health and a refusal', async (t) => {
    const events = await conforming(t, hub, EventList, 'GET', '/api/v1/events?limit=1000')
    t.ok(
      events.items.some((e) => e.type === 'NodeEnrolled' && e.nodeId === nodeId),
      'the enrollment is among them',
    )
    t.ok(
      events.items.some((e) => e.nodeId === nodeId && e.seq !== null),
      'and events the agent reported',
    )
    const paged = await conforming(t, hub, EventList, 'GET', '/api/v1/events?since=0&limit=2')
    t.equal(paged.items.length, 2)
    const audit = await conforming(t, hub, AuditList, 'GET', '/api/v1/audit')
    t.ok(audit.items.some((a) => a.action === 'rollout.pause' && a.target === 'contract'))
    const sessions = await conforming(t, hub, SessionList, 'GET', `/api/v1/sessions?node=${nodeId}&limit=5`)
    t.same(sessions.items, [], 'no remote session yet (test/integration/remote-sessions.test.ts checks real rows)')
    const health = Health.parse((await hub.api('GET', '/healthz', undefined, { token: null })).body)
    t.equal(health.ok, true)
    const missing = await conforming(t, hub, ApiErrorBody, 'GET', '/api/v1/nodes/no-such-node', undefined, 404)
    t.equal(missing.error.code, 'not-found')
    const badQuery = await conforming(t, hub, ApiErrorBody, 'GET', '/api/v1/events?limit=0', undefined, 400)
    t.equal(badQuery.error.message, 'limit must be between 1 and 1000')
  })

  await t.test('bulk node actions and alerts', async (t) => {
    const dry = await conforming(t, hub, BulkNodeResult, 'POST', '/api/v1/nodes/bulk', { nodes: [nodeId, 'ghost'], action: 'drain', dryRun: true })
    t.match(dry, {
      dryRun: true,
      nodes: [
        { id: nodeId, outcome: 'changed' },
        { id: 'ghost', outcome: 'not-found' },
      ],
      moves: [{ deployment: 'contract', from: nodeId, to: null }],
    })
    t.equal((await hub.nodes()).find((n) => n.id === nodeId)?.cordoned, false, 'a dry run cordons nothing')
    const labeled = await conforming(t, hub, BulkNodeResult, 'POST', '/api/v1/nodes/bulk', { nodes: [nodeId], action: 'label', labels: { bulk: 'yes' } })
    t.match(labeled, { dryRun: false, nodes: [{ id: nodeId, outcome: 'changed', message: 'labeled' }], moves: [] })
    const refused = await conforming(t, hub, ApiErrorBody, 'POST', '/api/v1/nodes/bulk', { nodes: [], action: 'cordon' }, 400)
    t.match(JSON.stringify(refused.error), /name at least one node/, 'a 400 naming the problem')
    // This machine's disk may be past the default 90 %, so the list is only checked for its shape.
    await conforming(t, hub, AlertList, 'GET', '/api/v1/alerts?all=true')
    const unknown = await conforming(t, hub, ApiErrorBody, 'POST', '/api/v1/alerts/999999/acknowledge', undefined, 404)
    t.match(unknown.error.message, /alert 999999 not found/)
    const badId = await conforming(t, hub, ApiErrorBody, 'POST', '/api/v1/alerts/abc/acknowledge', undefined, 400)
    t.match(badId.error.message, /alert id must be a whole number/)
  })

  await t.test('drain', async (t) => {
    const drained = await conforming(t, hub, DrainResult, 'POST', `/api/v1/nodes/${nodeId}/drain`)
    t.match(drained, { drained: nodeId, cordoned: true, evicted: [{ deployment: 'contract', movedTo: null }] })
  })
})
