// The pure parts of `shoal diff` and `shoal rollout`: the line diff, its hunks, what a change
// to a manifest means for revisions, and the one-line rollout summary.
import t from 'tap'
import { changedFields, describeDiff, lineDiff, unifiedHunks } from '../../cli/commands/diff.js'
import { followReport, summaryLine } from '../../cli/commands/rollout.js'
import type { RolloutStatus } from '../../cli/api-client.js'
import { parseManifests } from '../../protocol/manifest-parse.js'
import type { Deployment } from '../../protocol/index.js'

const plain = { colour: false }

function deployment(spec: string): Deployment {
  const parsed = parseManifests(`apiVersion: shoal/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n${spec}`)
  if (parsed.errors.length > 0) throw new Error(JSON.stringify(parsed.errors))
  return (parsed.manifests[0] as { manifest: Deployment }).manifest
}

t.test('lineDiff keeps common lines and puts removals before additions', async (t) => {
  t.same(lineDiff(['a', 'b', 'c'], ['a', 'x', 'c']), [
    { op: ' ', text: 'a' },
    { op: '-', text: 'b' },
    { op: '+', text: 'x' },
    { op: ' ', text: 'c' },
  ])
  t.same(lineDiff([], ['a']), [{ op: '+', text: 'a' }])
  t.same(lineDiff(['a'], []), [{ op: '-', text: 'a' }])
  t.same(lineDiff(['a', 'b'], ['a', 'b']), [
    { op: ' ', text: 'a' },
    { op: ' ', text: 'b' },
  ])
})

t.test('unifiedHunks shows three lines of context and numbers hunks as diff -u does', async (t) => {
  const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`)
  const after = before.map((line, i) => (i === 9 ? 'changed' : line))
  t.same(unifiedHunks(lineDiff(before, after)), [
    '@@ -7,7 +7,7 @@',
    ' line 7',
    ' line 8',
    ' line 9',
    '-line 10',
    '+changed',
    ' line 11',
    ' line 12',
    ' line 13',
  ])
  const twoChanges = before.map((line, i) => (i === 1 || i === 18 ? `${line}!` : line))
  t.equal(unifiedHunks(lineDiff(before, twoChanges)).filter((l) => l.startsWith('@@')).length, 2, 'changes far apart make two hunks')
  const close = before.map((line, i) => (i === 5 || i === 9 ? `${line}!` : line))
  t.equal(unifiedHunks(lineDiff(before, close)).filter((l) => l.startsWith('@@')).length, 1, 'changes within six lines share a hunk')
  t.same(unifiedHunks(lineDiff([], ['a'])), ['@@ -0,0 +1,1 @@', '+a'])
  t.same(unifiedHunks(lineDiff(before, before)), [], 'no changes, no hunks')
})

t.test('only a template change makes a new revision; replicas and strategy change in place', async (t) => {
  const live = deployment('  replicas: 2\n  template:\n    image: busybox:1\n')
  const scaled = deployment('  replicas: 3\n  strategy:\n    maxUnavailable: 1\n  template:\n    image: busybox:1\n')
  t.same(changedFields(live, scaled), ['spec.replicas', 'spec.strategy'])
  const inPlace = describeDiff({ manifest: scaled, file: 'web.yaml' }, { revision: 4, manifest: live, placements: [] }, undefined, plain)
  t.ok(inPlace.differs)
  t.match(inPlace.text, /^deployment\/web: changes spec\.replicas, spec\.strategy; no new revision \(revision 4 stays: the template is the same\)\n/)
  t.match(inPlace.text, /\n-  replicas: 2\n\+  replicas: 3\n/)

  const newImage = deployment('  replicas: 2\n  template:\n    image: busybox:2\n')
  const rollout = describeDiff({ manifest: newImage, file: 'web.yaml' }, { revision: 4, manifest: live, placements: [] }, undefined, plain)
  t.match(
    rollout.text,
    /^deployment\/web: changes spec\.template; makes revision 5, rolled out with strategy rolling\n--- deployment\/web \(live, revision 4\)\n\+\+\+ deployment\/web \(web\.yaml\)\n@@/,
  )
  t.match(rollout.text, /\n-    image: busybox:1\n\+    image: busybox:2\n/)

  const same = describeDiff({ manifest: live, file: 'web.yaml' }, { revision: 4, manifest: live, placements: [] }, undefined, plain)
  t.same(same, { text: 'deployment/web: no changes (revision 4)\n', differs: false })
})

t.test('a new deployment is all additions, and the dry run says where it would run', async (t) => {
  const wanted = deployment('  replicas: 2\n  template:\n    image: busybox:1\n')
  const preview = {
    kind: 'Deployment',
    name: 'web',
    placements: [{ deployment: 'web', nodeId: 'pi-2', workload: 'web-0', replica: 0 }],
    desired: 2,
    pending: 1,
    why: '1/2 replicas placed, 1 pending',
  }
  const result = describeDiff({ manifest: wanted, file: 'web.yaml' }, null, preview, plain)
  t.ok(result.differs)
  t.match(result.text, /^deployment\/web: would be created, and its first revision rolled out\n--- \/dev\/null\n/)
  t.notMatch(result.text, /\n-(?!-- )/, 'nothing removed')
  t.match(result.text, /\n {2}would run on: pi-2\n {2}1 pending: 1\/2 replicas placed, 1 pending\n$/)
  const moved = describeDiff(
    { manifest: wanted, file: 'web.yaml' },
    { revision: 1, manifest: wanted, placements: [{ nodeId: 'pi-1', workload: 'web-0', deployment: 'web', replica: 0, revision: 1, since: '', status: null }] },
    { ...preview, pending: 0 },
    plain,
  )
  t.equal(moved.text, 'deployment/web: no changes (revision 1)\n  would run on: pi-2 (+pi-2 -pi-1)\n')
})

function status(overrides: Partial<RolloutStatus>): RolloutStatus {
  return {
    deployment: 'web',
    revision: 2,
    stableRevision: 1,
    phase: 'progressing',
    paused: false,
    strategy: {
      type: 'rolling',
      maxUnavailable: '25%',
      minReadySeconds: 0,
      progressDeadline: '10m',
      rollback: { auto: true, failureThreshold: 1 },
      revertWindow: '10m',
    },
    step: 0,
    steps: 0,
    startedAt: null,
    failure: null,
    conditions: [],
    counts: { total: 3, updated: 1, onRevision: 2, failed: 0, maxUnavailable: 1 },
    copies: [],
    ...overrides,
  } as RolloutStatus
}

t.test('summaryLine says how far the rollout is and why it holds', async (t) => {
  t.equal(summaryLine(status({})), 'revision 2 progressing, 1/3 copies updated')
  const held = status({
    conditions: [
      {
        type: 'RolloutPaused',
        status: 'True',
        reason: 'AwaitingPromotion',
        message: 'canary step 1 of 2 holds until shoal rollout promote',
        observedRevision: 2,
        lastTransitionTime: '',
      },
    ],
    counts: { total: 3, updated: 1, onRevision: 1, failed: 1, maxUnavailable: 1 },
  })
  t.equal(summaryLine(held), 'revision 2 progressing, 1/3 copies updated, 1 failing; canary step 1 of 2 holds until shoal rollout promote')
})

t.test('followReport names the failure, its nodes and the rollback, and fails the command', async (t) => {
  const failed = status({
    phase: 'failed',
    failure: {
      reason: 'HealthGateFailed',
      message: '1 of 1 updated copies failed the health gate: pi-1 (exited with code 1)',
      nodes: [{ nodeId: 'pi-1', reason: 'exited with code 1' }],
      rolledBack: true,
    },
  })
  const report = followReport([{ name: 'web', result: 'failed', status: failed }], '10m')
  t.equal(
    report.lines,
    'deployment/web: revision 2 failed: HealthGateFailed: 1 of 1 updated copies failed the health gate: pi-1 (exited with code 1)\n  pi-1: exited with code 1\n  rolled back: the updated copies return to revision 1\n',
  )
  t.equal(report.error?.message, 'the rollout of deployment/web revision 2 failed and was rolled back to revision 1 (see shoal rollout status web)')
  t.equal(report.error?.exitCode, 1)
  const late = followReport([{ name: 'web', result: 'timeout', status: status({}) }], '30s')
  t.equal(
    late.error?.message,
    'deployment/web was not rolled out within 30s (revision 2 progressing, 1/3 copies updated); it goes on on the hub: shoal rollout status web -w',
  )
  t.same(followReport([{ name: 'web', result: 'complete', status: status({ phase: 'complete' }) }], '10m'), { lines: '', error: null })
})
