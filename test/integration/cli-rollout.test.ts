// `shoal rollout`, `shoal apply --wait` and `shoal diff` as an operator runs them: the built
// CLI (dist/cli/main.js) spawned against a real hub process with two real agents running
// containers in the Docker engine. One node is the canary ring. Every wait is for a condition
// the hub reports, never for a fixed time.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { tempDir, testImage, waitFor } from '../support/index.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { deploymentYaml, sleepTemplate, startHubAgent, startHubProcess, type HubProcess } from '../support/hub-process.js'
import { runSpawned, spawnCli, tableCells, type CliRun } from './cli-harness.js'

t.setTimeout(480_000)

const dir = tempDir(t, 'cli-rollout')
delete process.env.SHOAL_HUB
delete process.env.SHOAL_TOKEN

async function rollout(hub: HubProcess, name: string): Promise<any> {
  return hub.ok('GET', `/api/v1/deployments/${name}/rollout`)
}

function holding(status: any, reason: string): boolean {
  return status.conditions.some((c: any) => c.type === 'RolloutPaused' && c.status === 'True' && c.reason === reason && c.observedRevision === status.revision)
}

async function waitForRollout(hub: HubProcess, name: string, what: string, test: (status: any) => boolean): Promise<any> {
  return waitFor(
    async () => {
      const status = await rollout(hub, name)
      return test(status) ? status : undefined
    },
    { what: `${name}: ${what}`, timeoutMs: 120_000, intervalMs: 250 },
  )
}

t.test('rollouts driven through the shoal CLI', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('clir')
  const ids = { canary: uniqueNodeId('cliro-c'), main: uniqueNodeId('cliro-m') }
  const token = await hub.createJoinToken({ maxUses: 2, ttl: '10m', labels: { fleet } })
  await Promise.all([
    startHubAgent(t, hub, { name: ids.canary, token, labels: { ring: 'canary' } }),
    startHubAgent(t, hub, { name: ids.main, token, labels: { ring: 'main' } }),
  ])
  await waitFor(async () => (await hub.nodes()).filter((n: any) => n.online && n.condition.type === 'Ready').length === 2, {
    what: 'two Ready nodes',
    timeoutMs: 60_000,
  })

  const env = { SHOAL_HUB: hub.apiUrl, SHOAL_TOKEN: hub.adminToken, SHOAL_CONFIG: path.join(dir, 'config.yaml'), NO_COLOR: '1' }
  const shoal = (argv: readonly string[], timeoutMs = 120_000): Promise<CliRun> => runSpawned(t, argv, { env, timeoutMs })
  const name = `web-${fleet}`.slice(0, 63)
  const rolling = { maxUnavailable: 1 }
  const canary = { type: 'canary', maxUnavailable: 2, steps: [{ selector: { matchLabels: { ring: 'canary' } }, pause: 'manual' }] }
  const file = (label: string, version: string, strategy: Record<string, unknown>, template: Record<string, unknown> = {}): string => {
    const target = path.join(dir, `${label}.yaml`)
    writeFileSync(
      target,
      deploymentYaml(name, {
        mode: 'every-node',
        selector: { matchLabels: { fleet } },
        strategy,
        template: sleepTemplate(image, { env: { VERSION: version }, ...template }),
      }),
    )
    return target
  }
  const v1 = file('v1', '1', rolling)
  t.teardown(() =>
    hub.api('DELETE', `/api/v1/deployments/${name}`).then(
      () => undefined,
      () => undefined,
    ),
  )

  await t.test('apply --wait follows the first revision until it is complete', async (t) => {
    const run = await shoal(['apply', '-f', v1, '--wait'])
    t.equal(run.code, 0, run.err)
    t.match(run.out, new RegExp(`^deployment/${name} created \\(revision 1\\)`))
    t.match(run.out, new RegExp(`\\ndeployment/${name}: revision 1 complete, 2/2 copies updated\\n$`))
    t.equal((await rollout(hub, name)).phase, 'complete', 'the hub agrees')
  })

  await t.test('rollout status and history show a finished rollout', async (t) => {
    const status = await shoal(['rollout', 'status', name])
    t.equal(status.code, 0, status.err)
    t.match(
      status.out,
      /^Deployment: {2}\S+\nPhase: {7}complete\nRevision: {4}1 \(stable: 1\)\nStrategy: {4}rolling, maxUnavailable 1, minReadySeconds 5, rollback auto\n/,
    )
    t.match(status.out, /\nCopies: {6}2\/2 updated, 2 told to run revision 1, 0 failed; at most 1 down at once\n/)
    t.match(status.out, /\n {2}Progressing {4}True {4}RolloutComplete/)
    const copies = status.out.slice(status.out.indexOf('\nCopies:\n') + '\nCopies:\n'.length)
    const table = tableCells(copies.replace(/^ {2}/gm, ''), (cell) => cell.replace(ids.canary, '<canary>').replace(ids.main, '<main>'))
    t.ok(table.aligned, table.problems.join('; '))
    t.same(table.golden.split('\n').sort(), ['<canary> | 1 | updated | - | -', '<main> | 1 | updated | - | -', 'NODE | REVISION | GATE | WAVE | REASON'])
    const json = JSON.parse((await shoal(['rollout', 'status', name, '-o', 'json'])).out)
    t.same(json, await rollout(hub, name), '-o json is the hub object')

    const history = await shoal(['rollout', 'history', name])
    t.equal(history.code, 0, history.err)
    t.same(
      tableCells(history.out, (c) => c.replace(/^\d+[smhd]$/, '<age>')).golden,
      `REVISION | IMAGE | COPIES | AGE | NOTE\n1 | ${image} | 2 | <age> | current, stable`,
    )
    const one = await shoal(['rollout', 'history', name, '--revision', '1'])
    t.match(one.out, /^Revision: {2}1 \(current, stable\)\n[\s\S]*\nTemplate:\n {2}command:\n[\s\S]* {4}VERSION: "1"\n/)
    const missing = await shoal(['rollout', 'history', name, '--revision', '9'])
    t.equal(missing.code, 1)
    t.equal(missing.err, `error: deployment ${name} keeps no revision 9 (kept: 1); see shoal rollout history ${name}\n`)
  })

  const v2 = file('v2', '2', canary)
  await t.test('diff: 0 without differences, 1 with them (saying whether they make a revision), 2 on errors', async (t) => {
    const same = await shoal(['diff', '-f', v1])
    t.equal(same.code, 0, same.err)
    t.equal(same.out, `deployment/${name}: no changes (revision 1)\n  would run on: ${[ids.canary, ids.main].sort().join(', ')} (as now)\n`)

    const template = await shoal(['diff', '-f', v2])
    t.equal(template.code, 1, template.err)
    t.equal(template.err, '')
    t.match(
      template.out,
      new RegExp(
        `^deployment/${name}: changes spec.strategy, spec.template; makes revision 2, rolled out with strategy canary\\n--- deployment/${name} \\(live, revision 1\\)\\n\\+\\+\\+ deployment/${name} \\(${v2.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)\\n@@ `,
      ),
    )
    t.match(template.out, /\n- {6}VERSION: "1"\n\+ {6}VERSION: "2"\n/)
    t.match(template.out, /\n- {4}type: rolling\n/)
    t.match(template.out, /\n\+ {4}type: canary\n/)

    const inPlace = await shoal(['diff', '-f', file('v1-wider', '1', { maxUnavailable: 2 })])
    t.equal(inPlace.code, 1)
    t.match(inPlace.out, new RegExp(`^deployment/${name}: changes spec.strategy; no new revision \\(revision 1 stays: the template is the same\\)\\n`))
    t.match(inPlace.out, /\n- {4}maxUnavailable: 1\n\+ {4}maxUnavailable: 2\n/)

    const bad = path.join(dir, 'bad.yaml')
    writeFileSync(bad, 'apiVersion: shoal/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: -1\n  template:\n    image: x\n')
    const invalid = await shoal(['diff', '-f', bad])
    t.equal(invalid.code, 2)
    t.match(invalid.err, /document 0: spec.replicas: Too small[\s\S]*error: 1 problem\(s\) in the manifests; nothing was compared/)
    const unreachable = await runSpawned(t, ['diff', '-f', v1, '--hub', 'http://127.0.0.1:1', '--token', 'x'], { env: { SHOAL_CONFIG: env.SHOAL_CONFIG } })
    t.equal(unreachable.code, 2)
    t.match(unreachable.err, /^error: cannot reach the hub at http:\/\/127\.0\.0\.1:1: /)
    t.equal((await rollout(hub, name)).revision, 1, 'diff changed nothing')
  })

  await t.test('a canary holds at its manual pause; pause, resume, then promote completes it', async (t) => {
    const applied = await shoal(['apply', '-f', v2])
    t.equal(applied.code, 0, applied.err)
    t.match(applied.out, new RegExp(`^deployment/${name} configured \\(revision 2\\)`))
    await waitForRollout(hub, name, 'the canary step holds', (s) => s.revision === 2 && holding(s, 'AwaitingPromotion'))

    const status = await shoal(['rollout', 'status', name])
    t.match(
      status.out,
      /\nPhase: {7}progressing\nRevision: {4}2 \(stable: 1\)\nStrategy: {4}canary, step 1 of 1, maxUnavailable 2, minReadySeconds 5, rollback auto\n/,
    )
    t.match(status.out, /\n {2}RolloutPaused {2}True {4}AwaitingPromotion +\S+ +canary step 1 of 1 holds until shoal rollout promote\n/)
    const copies = tableCells(status.out.slice(status.out.indexOf('\nCopies:\n') + 9).replace(/^ {2}/gm, ''), (c) =>
      c.replace(ids.canary, '<canary>').replace(ids.main, '<main>'),
    )
    t.same(copies.golden.split('\n').slice(1).sort(), [
      '<canary> | 2 | updated | step 1: ring=canary | -',
      '<main> | 1 | old | rest | waiting for shoal rollout promote (canary step 1)',
    ])

    const late = await shoal(['apply', '-f', v2, '--wait', '--timeout', '2s'])
    t.equal(late.code, 1, 'a rollout that does not finish within --timeout fails the command')
    t.match(
      late.out,
      new RegExp(
        `unchanged \\(revision 2\\)[\\s\\S]*\\ndeployment/${name}: revision 2 progressing, 1/2 copies updated; canary step 1 of 1 holds until shoal rollout promote\\n$`,
      ),
    )
    t.equal(
      late.err,
      `error: deployment/${name} was not rolled out within 2s (revision 2 progressing, 1/2 copies updated; canary step 1 of 1 holds until shoal rollout promote); it goes on on the hub: shoal rollout status ${name} -w\n`,
    )

    const paused = await shoal(['rollout', 'pause', name])
    t.equal(paused.code, 0, paused.err)
    t.match(
      paused.out,
      new RegExp(`^deployment/${name} paused: revision 2 progressing, 1/2 copies updated; paused by an operator; shoal rollout resume continues\\n$`),
    )
    t.match(await rollout(hub, name), { paused: true })
    t.match((await shoal(['rollout', 'status', name])).out, /\nPhase: {7}progressing \(paused\)\n/)
    const resumed = await shoal(['rollout', 'resume', name])
    t.equal(resumed.code, 0, resumed.err)
    t.match(resumed.out, new RegExp(`^deployment/${name} resumed: `))
    await waitForRollout(hub, name, 'the canary step holds again', (s) => !s.paused && holding(s, 'AwaitingPromotion'))

    const watch = spawnCli(t, ['rollout', 'status', name, '-w'], env)
    await waitFor(() => /Phase: +progressing/.test(watch.out()), {
      what: `status -w to print the holding rollout (so far: ${watch.out()} ${watch.err()})`,
      timeoutMs: 30_000,
      intervalMs: 100,
    })
    const promoted = await shoal(['rollout', 'promote', name])
    t.equal(promoted.code, 0, promoted.err)
    t.match(promoted.out, new RegExp(`^deployment/${name} promoted: revision 2 `))
    const ended = await watch.exited
    t.same(ended, { code: 0, signal: null }, `status -w ends with the rollout (stderr: ${watch.err()})`)
    t.match(watch.out(), /\nPhase: {7}complete\nRevision: {4}2 \(stable: 2\)\n/)
    t.same(
      (await rollout(hub, name)).copies.map((c: any) => c.revision),
      [2, 2],
    )

    const again = await shoal(['rollout', 'promote', name])
    t.equal(again.code, 1)
    t.equal(again.err, `error: cannot promote the rollout of ${name}: revision 2 is already rolled out (see shoal rollout status ${name})\n`)
  })

  await t.test('a strategy change applies in place; undo goes back to revision 1 as revision 3', async (t) => {
    const v2Rolling = file('v2-rolling', '2', rolling)
    const inPlace = await shoal(['apply', '-f', v2Rolling, '--wait'])
    t.equal(inPlace.code, 0, inPlace.err)
    t.match(inPlace.out, new RegExp(`^deployment/${name} configured \\(revision 2\\)`))

    const undo = await shoal(['rollout', 'undo', name, '--to-revision', '1'])
    t.equal(undo.code, 0, undo.err)
    t.equal(undo.out, `deployment/${name} rolled back: revision 3 has the template of revision 1; follow it with shoal rollout status ${name} -w\n`)
    const watched = await shoal(['rollout', 'status', name, '-w'])
    t.equal(watched.code, 0, watched.err)
    t.match(watched.out, /Phase: {7}complete\nRevision: {4}3 \(stable: 3\)\n/)

    const history = JSON.parse((await shoal(['rollout', 'history', name, '-o', 'json'])).out)
    t.same(
      history.items.map((i: any) => [i.revision, i.current, i.stable, i.copies]),
      [
        [3, true, true, 2],
        [2, false, false, 0],
        [1, false, false, 0],
      ],
    )
    t.same(history.items[0].template, history.items[2].template, "revision 3 carries revision 1's template")

    const usage = await shoal(['rollout', 'undo', name, '--to-revision', '0'])
    t.equal(usage.code, 2)
    t.match(usage.err, /^error: --to-revision must be a whole number from 1/)
    const unknown = await shoal(['rollout', 'status', 'no-such-deployment'])
    t.equal(unknown.code, 1)
    t.equal(unknown.err, 'error: deployment "no-such-deployment" not found; list deployments with shoal get deployments\n')
  })

  await t.test('restart replaces every copy as a new revision', async (t) => {
    const restart = await shoal(['rollout', 'restart', name])
    t.equal(restart.code, 0, restart.err)
    t.equal(restart.out, `deployment/${name} restarted: revision 4; follow it with shoal rollout status ${name} -w\n`)
    const watched = await shoal(['rollout', 'status', name, '-w'])
    t.equal(watched.code, 0, watched.err)
    t.match(watched.out, /Revision: {4}4 \(stable: 4\)\n/)
  })

  await t.test('apply --wait exits 1 on a revision that fails, saying why, where, and that it rolled back', async (t) => {
    const bad = file('v5-bad', '5', rolling, { command: ['sh', '-c', 'exit 1'] })
    const run = await shoal(['apply', '-f', bad, '--wait', '--timeout', '2m'])
    t.equal(run.code, 1)
    t.match(
      run.out,
      new RegExp(
        `\\ndeployment/${name}: revision 5 failed: HealthGateFailed: 1 of 1 updated copies failed the health gate: [^\\n]+\\n {2}(${ids.canary}|${ids.main}): (exited with code 1|crash-loop)[^\\n]*\\n {2}rolled back: the updated copies return to revision 4\\n$`,
      ),
    )
    t.equal(run.err, `error: the rollout of deployment/${name} revision 5 failed and was rolled back to revision 4 (see shoal rollout status ${name})\n`)
    const status = await shoal(['rollout', 'status', name])
    t.match(status.out, /\nPhase: {7}failed\n[\s\S]*\nFailure: {5}HealthGateFailed: [^\n]+\n {13}rolled back to revision 4\n/)
    await waitForRollout(hub, name, 'every copy back on revision 4', (s) => s.copies.every((c: any) => c.revision === 4))
  })
})
