// Several containers in one copy (issue 19, item 4): the template's validation with its errors,
// and the agent's pure decisions: the containers a copy runs as, their order, their namespace,
// and the one status they report as.
import t from 'tap'
import {
  copyHolds,
  copyMembers,
  foldCopy,
  memberHash,
  orderHolds,
  splitMemberName,
  type CopyMember,
  type MemberReport,
} from '../../agent/reconcile/copy-members.js'
import type { Hold } from '../../agent/reconcile/admission.js'
import type { ObservedContainer } from '../../agent/runtime/runtime.js'
import { copyRequest } from '../../hub/scheduler/demand.js'
import { templateRefs } from '../../hub/config-objects/template-refs.js'
import {
  copyContainers,
  copyPolicyRefusals,
  DEFAULT_NODE_POLICY,
  issuesFromZod,
  templateImages,
  Workload,
  WorkloadTemplate,
  type WorkloadTemplateInput,
} from '../../protocol/index.js'

const NODE = 'pi-1'

function issuesOf(input: unknown): string[] {
  const result = WorkloadTemplate.safeParse(input)
  return result.success ? [] : issuesFromZod(result.error).map((issue) => `${issue.path}: ${issue.message}`)
}

function copy(name: string, template: WorkloadTemplateInput, revision = 1): Workload {
  return Workload.parse({ name, deployment: name, revision, template })
}

function observed(member: CopyMember, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `${member.workload.name}-id`,
    name: `shoal-${NODE}-${member.workload.name}`,
    workload: member.workload.name,
    deployment: member.workload.deployment,
    revision: member.workload.revision,
    configHash: member.configHash,
    state: 'running',
    exitCode: null,
    health: 'none',
    restartCount: 0,
    startedAt: '2026-12-07T00:00:00.000Z',
    finishedAt: null,
    ...overrides,
  }
}

const pod: WorkloadTemplateInput = {
  network: 'none',
  initContainers: [
    { name: 'fetch', image: 'busybox:1', command: ['true'] },
    { name: 'migrate', image: 'busybox:1', command: ['true'] },
  ],
  containers: [
    { name: 'web', image: 'nginx:1', ports: [{ containerPort: 80, hostPort: 8080 }], resources: { cpu: '500m', memory: '64Mi' } },
    { name: 'sidecar', image: 'busybox:1', ports: [{ containerPort: 9100 }], resources: { cpu: '250m', memory: '32Mi' } },
  ],
}

t.test('the template: one container or several, with errors that say which', async (t) => {
  t.same(issuesOf({ image: 'nginx:1' }), [], 'one container, as ever')
  t.same(issuesOf(pod), [], 'several')
  const typo = issuesOf({ imagee: 'nginx:1' })
  t.ok(
    typo.some((m) => m.includes('unknown field "imagee"')),
    `a typo in a one-container template is named: ${typo.join('; ')}`,
  )
  t.notOk(
    typo.some((m) => m.includes('containers')),
    'and not blamed on the several-container form',
  )
  t.same(issuesOf({ containers: [{ name: 'a', image: 'x', portz: [] }] }), ['containers[0].portz: unknown field "portz"'])
  t.same(issuesOf({ containers: [{ image: 'x' }] }), ['containers[0].name: Invalid input: expected string, received undefined'])
  t.same(issuesOf({ containers: [] }), ['containers: Too small: expected array to have >=1 items'])
  t.same(
    issuesOf({ containers: [{ name: 'a', image: 'x', network: 'host' }] }),
    ['containers[0].network: unknown field "network"'],
    'the network is the copy’s',
  )
  t.same(
    issuesOf({ initContainers: [{ name: 'a', image: 'x', readiness: { tcp: { port: 1 } } }], containers: [{ name: 'b', image: 'x' }] }),
    ['initContainers[0].readiness: unknown field "readiness"'],
    'an init container has no checks',
  )
  t.same(issuesOf({ initContainers: [{ name: 'a', image: 'x' }], containers: [{ name: 'a', image: 'y' }] }), [
    'containers[0].name: another container of this copy is named a',
  ])
})

t.test('copyContainers: init first, the network filled in; one container is named after its deployment', async (t) => {
  const parsed = WorkloadTemplate.parse(pod)
  t.same(
    copyContainers(parsed, 'shop').map((c) => [c.name, c.init, c.template.network, c.template.restartPolicy]),
    [
      ['fetch', true, 'none', 'on-failure'],
      ['migrate', true, 'none', 'on-failure'],
      ['web', false, 'none', 'always'],
      ['sidecar', false, 'none', 'always'],
    ],
  )
  t.same(
    copyContainers(WorkloadTemplate.parse({ image: 'x' }), 'shop').map((c) => c.name),
    ['shop'],
  )
  t.equal(templateImages(parsed), 'web=nginx:1, sidecar=busybox:1')
})

t.test('the hub: a copy asks for its containers’ sum, or its largest init container; refs and policy of every container', async (t) => {
  const parsed = WorkloadTemplate.parse({
    ...pod,
    initContainers: [{ name: 'big', image: 'x', resources: { cpu: 2, memory: '16Mi' } }],
  })
  t.same(copyRequest(parsed), { cpuMillis: 2000, memoryBytes: 96 * 1024 * 1024, gpus: 0 })
  t.same(copyRequest(WorkloadTemplate.parse({ image: 'x' })), { cpuMillis: 0, memoryBytes: 0, gpus: 0 })
  const withRefs = WorkloadTemplate.parse({
    initContainers: [{ name: 'i', image: 'x', env: { A: { config: 'c', key: 'k' } } }],
    containers: [{ name: 'm', image: 'x', volumes: [{ secret: 's', path: '/s' }] }],
  })
  t.same(
    templateRefs(withRefs).map((r) => r.field),
    ['initContainers[0].env.A', 'containers[0].volumes[0].secret'],
  )
  const privileged = WorkloadTemplate.parse({
    containers: [
      { name: 'a', image: 'x', securityContext: { privileged: true } },
      { name: 'b', image: 'x', securityContext: { privileged: true } },
    ],
  })
  t.same(copyPolicyRefusals(privileged, DEFAULT_NODE_POLICY), ['privileged not allowed'], 'each refusal once')
})

t.test('copyMembers: names, ports on the namespace holder, who joins whom, hashes over the whole copy', async (t) => {
  const members = copyMembers(copy('shop', pod), NODE)
  t.same(
    members.map((m) => [m.workload.name, m.container, m.init, m.joins ?? null]),
    [
      ['shop.fetch', 'fetch', true, null],
      ['shop.migrate', 'migrate', true, null],
      ['shop.web', 'web', false, null],
      ['shop.sidecar', 'sidecar', false, 'shop.web'],
    ],
  )
  t.same(
    members[2]?.workload.template.ports?.map((p) => p.containerPort),
    [80, 9100],
    'Docker publishes only on the namespace’s owner',
  )
  t.equal(members[3]?.workload.template.ports, undefined)
  const changed = copyMembers(
    copy('shop', {
      ...pod,
      containers: [...(pod as { containers: object[] }).containers.slice(0, 1), { name: 'sidecar', image: 'busybox:2' }],
    } as WorkloadTemplateInput),
    NODE,
  )
  t.not(changed[0]?.configHash, members[0]?.configHash, 'a change to one container changes them all (init containers run again)')
  t.equal(new Set(members.map((m) => m.configHash)).size, members.length, 'each its own hash')

  const single = copyMembers(copy('web', { image: 'nginx:1' }), NODE)
  t.same(
    single.map((m) => [m.workload.name, m.container, m.grouped]),
    [['web', 'web', false]],
    'a one-container copy runs under its own name, as before',
  )
  const host = copyMembers(copy('shop', { ...pod, network: 'host' } as WorkloadTemplateInput), NODE)
  t.ok(
    host.every((m) => m.joins === undefined),
    'on host networking every container already shares the node’s',
  )
  t.same(splitMemberName('shop.web'), { copy: 'shop', container: 'web' })
  t.equal(splitMemberName('web'), null)
})

t.test('memberHash: a joined container follows its namespace holder’s id and start', async (t) => {
  const members = copyMembers(copy('shop', pod), NODE)
  const web = members[2] as CopyMember
  const sidecar = members[3] as CopyMember
  t.equal(memberHash(web, []), web.configHash)
  t.equal(memberHash(sidecar, []), sidecar.configHash, 'no holder running: its own hash')
  const first = memberHash(sidecar, [observed(web)])
  t.not(first, sidecar.configHash)
  t.equal(memberHash(sidecar, [observed(web)]), first, 'stable while the holder is')
  t.not(memberHash(sidecar, [observed(web, { startedAt: '2026-12-07T00:05:00.000Z' })]), first, 'a restarted holder: recreate into its new namespace')
  t.not(memberHash(sidecar, [observed(web, { id: 'other' })]), first, 'a replaced holder too')
})

t.test('orderHolds: init containers one at a time, then the rest; a joined container waits for its holder', async (t) => {
  const members = copyMembers(copy('shop', pod), NODE)
  const hashes = new Map(members.map((m) => [m.workload.name, m.configHash]))
  const [fetch, migrate, web] = members as [CopyMember, CopyMember, CopyMember, CopyMember]
  const reasons = (holds: Map<string, Hold>) => Object.fromEntries([...holds].map(([name, hold]) => [name, hold.reason]))
  t.same(reasons(orderHolds(members, [], hashes)), {
    'shop.migrate': 'waiting for init container fetch',
    'shop.web': 'waiting for init container fetch',
    'shop.sidecar': 'waiting for init container fetch',
  })
  const fetched = observed(fetch, { state: 'exited', exitCode: 0 })
  t.same(reasons(orderHolds(members, [fetched, observed(migrate, { state: 'exited', exitCode: 1 })], hashes)), {
    'shop.web': 'waiting for init container migrate',
    'shop.sidecar': 'waiting for init container migrate',
  })
  const inits = [fetched, observed(migrate, { state: 'exited', exitCode: 0 })]
  t.same(reasons(orderHolds(members, inits, hashes)), { 'shop.sidecar': 'waiting for container web (its network)' })
  t.same(reasons(orderHolds(members, [...inits, observed(web)], hashes)), {}, 'all may run')
  t.same(
    reasons(orderHolds(members, [observed(fetch, { state: 'exited', exitCode: 0, configHash: 'old' }), ...inits.slice(1), observed(web)], hashes)),
    {
      'shop.migrate': 'waiting for init container fetch',
      'shop.web': 'waiting for init container fetch',
      'shop.sidecar': 'waiting for init container fetch',
    },
    'an init container that ran for another revision does not count',
  )
  t.same(reasons(orderHolds(copyMembers(copy('web', { image: 'x' }), NODE), [], new Map())), {}, 'a one-container copy waits for nothing')
})

t.test('copyHolds: a refused container refuses its whole copy; a device wait comes before the order', async (t) => {
  const members = copyMembers(copy('shop', pod), NODE)
  const refused: Hold = { kind: 'refused', reason: 'refused by node policy: privileged not allowed' }
  const device: Hold = { kind: 'waiting', reason: 'waiting for device /dev/ttyUSB0', missing: ['/dev/ttyUSB0'] }
  const order: Hold = { kind: 'waiting', reason: 'waiting for init container fetch', missing: [] }
  const all = copyHolds(members, new Map([['shop.sidecar', refused]]), new Map([['shop.web', order]]))
  t.same(
    [...all.values()].map((h) => h.kind),
    ['refused', 'refused', 'refused', 'refused'],
  )
  const mixed = copyHolds(members, new Map([['shop.web', device]]), new Map([['shop.web', order]]))
  t.equal(mixed.get('shop.web'), device)
  t.equal(mixed.size, 1)
})

t.test('foldCopy: where an unfinished init container is, else the worst container; ready when all are', async (t) => {
  const members = copyMembers(copy('shop', pod), NODE)
  const report = (member: CopyMember | undefined, overrides: Partial<MemberReport> = {}): MemberReport => ({
    member: member as CopyMember,
    state: 'running',
    health: 'none',
    ready: true,
    restarts: 0,
    exitCode: null,
    message: null,
    ...overrides,
  })
  const [fetch, migrate, web, sidecar] = members
  const done = { state: 'exited' as const, exitCode: 0, ready: false }
  const running = foldCopy([report(fetch, done), report(migrate, done), report(web, { restarts: 1 }), report(sidecar, { restarts: 2 })])
  t.match(running, { state: 'running', ready: true, restarts: 3, exitCode: null, message: null })
  t.same(
    running.containers.map((c) => [c.name, c.init, c.state]),
    [
      ['fetch', true, 'exited'],
      ['migrate', true, 'exited'],
      ['web', false, 'running'],
      ['sidecar', false, 'running'],
    ],
  )
  const failing = foldCopy([
    report(fetch, done),
    report(migrate, { state: 'crash-loop', exitCode: 3, ready: false, message: 'crashed 3 times' }),
    report(web, { state: 'pending', ready: false, message: 'waiting for init container migrate' }),
    report(sidecar, { state: 'pending', ready: false }),
  ])
  t.match(failing, { state: 'crash-loop', exitCode: 3, ready: false, message: 'init container migrate: crashed 3 times' })
  t.match(foldCopy([report(fetch, { state: 'running', ready: false }), report(web, { state: 'pending' })]), {
    state: 'starting',
    message: 'init container fetch: running',
  })
  const unready = foldCopy([
    report(fetch, done),
    report(migrate, done),
    report(web),
    report(sidecar, { ready: false, health: 'unhealthy', message: 'not ready: x' }),
  ])
  t.match(unready, { state: 'running', ready: false, health: 'unhealthy', message: 'sidecar: not ready: x' })
  const exited = foldCopy([report(fetch, done), report(migrate, done), report(web, { state: 'exited', exitCode: 2, ready: false }), report(sidecar)])
  t.match(exited, { state: 'exited', exitCode: 2 })
  t.throws(() => foldCopy([]), RangeError)
})
