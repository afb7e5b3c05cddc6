import t from 'tap'
import { effectiveRules, hasPullRules } from '../../agent/bandwidth/bandwidth-rules.js'
import { deferralKey, deferralMessage, expectedPullBytes, gatePulls, repositoryOf } from '../../agent/bandwidth/pull-gate.js'
import type { PullVerdict } from '../../agent/bandwidth/pull-decision.js'
import type { Step } from '../../agent/reconcile/plan.js'
import { deriveWorkloadState } from '../../agent/reconcile/workload-status.js'
import { loadProfiles } from '../../firmware-profiles/catalog.js'
import { FirmwareProfile } from '../../firmware-profiles/schema.js'
import { contentHash, nextDocument } from '../../hub/fleet/desired-builder.js'
import { bandwidthFromLabels } from '../../hub/fleet/node-bandwidth.js'
import { ContainerTemplate, DesiredDocument, Workload } from '../../protocol/index.js'

t.test('the rules in force: the node (hub) replaces the profile field by field; the link from the hub, else the agent label', async (t) => {
  t.same(effectiveRules(undefined, undefined, {}), { budgetBytes: null, windows: null, links: null, link: null })
  t.notOk(hasPullRules(effectiveRules(undefined, { link: 'wired' }, {})), 'a link alone limits nothing')
  const profile = { monthlyBudget: '2Gi', pullWindows: ['01:00-05:00'], pullOnLinks: ['wired'] }
  t.same(effectiveRules(profile, undefined, { link: 'lte' }), { budgetBytes: 2 * 1024 ** 3, windows: ['01:00-05:00'], links: ['wired'], link: 'lte' })
  t.same(effectiveRules(profile, { monthlyBudget: 1000, link: 'wired' }, { link: 'lte' }), {
    budgetBytes: 1000,
    windows: ['01:00-05:00'],
    links: ['wired'],
    link: 'wired',
  })
  t.same(effectiveRules(undefined, { pullWindows: ['22:00-02:00'], pullOnLinks: ['wifi'] }, {}), {
    budgetBytes: null,
    windows: ['22:00-02:00'],
    links: ['wifi'],
    link: null,
  })
  t.ok(hasPullRules(effectiveRules(undefined, { pullOnLinks: ['wifi'] }, {})))
})

t.test('node labels: shoal.io/* labels become the node rules, written without colons', async (t) => {
  t.same(bandwidthFromLabels({ site: 'a' }), { bandwidth: undefined, problems: [] }, 'no bandwidth labels: no bandwidth in the document')
  t.same(
    bandwidthFromLabels({
      'shoal.io/monthly-budget': '2Gi',
      'shoal.io/pull-windows': '0100-0500_2200-0230',
      'shoal.io/pull-on-links': 'wired_wifi',
      link: 'lte',
    }),
    {
      bandwidth: { monthlyBudget: '2Gi', pullWindows: ['01:00-05:00', '22:00-02:30'], pullOnLinks: ['wired', 'wifi'], link: 'lte' },
      problems: [],
    },
  )
  t.same(bandwidthFromLabels({ link: 'wired' }), { bandwidth: { link: 'wired' }, problems: [] }, 'the link alone travels (a profile may name links)')
  const bad = bandwidthFromLabels({ 'shoal.io/monthly-budget': 'lots', 'shoal.io/pull-windows': '0100-0100', 'shoal.io/pull-on-links': 'wired__wifi' })
  t.same(bad.bandwidth, undefined, 'a malformed value sets nothing')
  t.same(
    bad.problems.map((p) => p.key),
    ['shoal.io/monthly-budget', 'shoal.io/pull-windows', 'shoal.io/pull-on-links'],
  )
  t.match(bandwidthFromLabels({ 'shoal.io/pull-windows': '1:00-5:00' }).problems, [{ message: /HHMM-HHMM/ }])
})

const workload = (name: string, image = `r/${name}:1`): Workload => ({ name, deployment: name, revision: 1, template: ContainerTemplate.parse({ image }) })

t.test('documents: bandwidth travels signed with the workloads, and a node without it hashes as before', async (t) => {
  const workloads = [workload('web')]
  t.equal(contentHash(workloads, undefined), contentHash(workloads))
  t.not(contentHash(workloads, { link: 'wired' }), contentHash(workloads))
  const first = nextDocument('n1', workloads, null, '2026-12-07T00:00:00.000Z', { monthlyBudget: '1Gi' })
  t.same(first?.document.bandwidth, { monthlyBudget: '1Gi' })
  t.equal(
    nextDocument('n1', workloads, { generation: 1, contentHash: first?.contentHash ?? '' }, '2026-12-07T00:00:01.000Z', { monthlyBudget: '1Gi' }),
    null,
    'unchanged: no new generation',
  )
  const relabelled = nextDocument('n1', workloads, { generation: 1, contentHash: first?.contentHash ?? '' }, '2026-12-07T00:00:02.000Z', {
    monthlyBudget: '2Gi',
  })
  t.equal(relabelled?.document.generation, 2, 'a new budget is a new document')
  t.notOk('bandwidth' in (nextDocument('n1', workloads, null, '2026-12-07T00:00:00.000Z')?.document ?? {}))
  const signedShape = { ...first?.document, keyId: 'k', signature: 's', workloads: [{ ...workload('web'), pullNow: true }] }
  t.ok(DesiredDocument.safeParse(signedShape).success, 'the schema takes bandwidth and pullNow')
  t.notOk(DesiredDocument.safeParse({ ...signedShape, bandwidth: { monthlyBudget: 'lots' } }).success)
  t.notOk(Workload.safeParse({ ...workload('web'), pullNow: false }).success, 'pullNow is true or absent')
})

t.test('profiles may declare bandwidth rules; the shipped ones still parse', async (t) => {
  const base = (await loadProfiles())[0]
  t.ok(base)
  if (!base) return
  const withRules = { ...base, agent: { ...base.agent, bandwidth: { monthlyBudget: '2Gi', pullWindows: ['01:00-05:00'], pullOnLinks: ['wired'] } } }
  t.ok(FirmwareProfile.safeParse(withRules).success)
  t.notOk(FirmwareProfile.safeParse({ ...base, agent: { ...base.agent, bandwidth: { pullWindows: ['1-5'] } } }).success)
  t.notOk(FirmwareProfile.safeParse({ ...base, agent: { ...base.agent, bandwidth: { monthlyBudget: '2Gi', extra: 1 } } }).success, 'strict')
})

const allow: PullVerdict = { allow: true, overridden: false }
const defer = (nextAttemptAt: number | null): PullVerdict => ({
  allow: false,
  causes: ['window'],
  reason: 'outside the pull windows 01:00-05:00 (UTC)',
  nextAttemptAt,
})

t.test('the gate: a deferred pull drops its workload later steps and nothing else', async (t) => {
  const steps: Step[] = [
    { kind: 'remove', workload: 'old', containerId: 'c0', reason: 'not-desired' },
    { kind: 'pull', workload: 'api', image: 'r/api:2' },
    { kind: 'recreate', workload: 'api', containerId: 'c1' },
    { kind: 'pull', workload: 'web', image: 'r/web:1' },
    { kind: 'create', workload: 'web' },
    { kind: 'start', workload: 'web', containerId: null },
    { kind: 'start', workload: 'db', containerId: 'c3' },
  ]
  const gated = gatePulls(steps, (step) => (step.workload === 'api' ? defer(5000) : allow))
  t.same(
    gated.steps.map((s) => `${s.kind} ${s.workload}`),
    ['remove old', 'pull web', 'create web', 'start web', 'start db'],
  )
  t.same([...gated.deferred.keys()], ['api'])
  t.same(gated.deferred.get('api'), { image: 'r/api:2', causes: ['window'], reason: 'outside the pull windows 01:00-05:00 (UTC)', nextAttemptAt: 5000 })
  t.same(gated.overridden, [])
  const overridden = gatePulls(steps, () => ({ allow: true, overridden: true }))
  t.equal(overridden.steps.length, steps.length)
  t.same(overridden.overridden, ['api', 'web'])
  const asked: string[] = []
  gatePulls([{ kind: 'start', workload: 'db', containerId: 'c3' }], (step) => {
    asked.push(step.workload)
    return allow
  })
  t.same(asked, [], 'no pull, no question')
})

t.test('deferral messages and what makes one news', async (t) => {
  const at = { image: 'r/api:2', causes: ['budget'] as const, reason: 'monthly budget: 1.0 KiB of 1.0 KiB used', nextAttemptAt: Date.UTC(2027, 0, 1) }
  t.equal(deferralMessage(at), 'pull of r/api:2 deferred: monthly budget: 1.0 KiB of 1.0 KiB used; next attempt at 2027-01-01T00:00:00.000Z')
  t.match(deferralMessage({ ...at, nextAttemptAt: null }), /next attempt when the rules change \(or apply with --pull-now\)$/)
  t.equal(deferralKey(at), deferralKey({ ...at, reason: 'monthly budget: 1.1 KiB of 1.0 KiB used' }), 'bytes moving on is no news')
  t.not(deferralKey(at), deferralKey({ ...at, nextAttemptAt: 1 }))
  t.not(deferralKey(at), deferralKey({ ...at, causes: ['budget', 'window'] }))
})

t.test('the expected size of a pull: an earlier version of the same repository, else unknown', async (t) => {
  const present = [
    { tags: ['registry:5000/team/app:1'], sizeBytes: 300 },
    { tags: ['registry:5000/team/app:0.9', 'registry:5000/team/app:old'], sizeBytes: 280 },
    { tags: ['registry:5000/team/other:1'], sizeBytes: 9000 },
  ]
  t.equal(expectedPullBytes('registry:5000/team/app:2', present), 300)
  t.equal(expectedPullBytes('registry:5000/team/app@sha256:abc', present), 300)
  t.equal(expectedPullBytes('registry:5000/team/new:1', present), null)
  t.equal(repositoryOf('registry:5000/app'), 'registry:5000/app', 'a port is not a tag')
  t.equal(repositoryOf('app:1.2'), 'app')
})

t.test('a workload whose pull waits shows pull-deferred with the reason, until a container exists', async (t) => {
  const w = { ...workload('api'), template: ContainerTemplate.parse({ image: 'r/api:2' }) }
  const history = { lastError: null, recentCrashes: [], lastExitCode: null, pullDeferred: 'pull of r/api:2 deferred: x; next attempt at y' }
  t.same(deriveWorkloadState(w, undefined, history, 0), { state: 'pull-deferred', health: 'none', exitCode: null, message: history.pullDeferred })
  t.equal(deriveWorkloadState(w, undefined, { ...history, pulling: true }, 0).state, 'pulling', 'a pull under way (--pull-now) wins')
  t.equal(deriveWorkloadState(w, undefined, { ...history, pullDeferred: undefined as unknown as string }, 0).state, 'pending')
})
