// `shoal get ... -w` as a spawned process against a real hub and a real agent: the listing is
// printed again when the hub's event stream says something changed (a cordon, a node going
// offline), new events are printed as they arrive, and Ctrl-C (SIGINT) ends it with exit 0.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { tempDir, testImage, waitFor } from '../support/index.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { deploymentYaml, sleepTemplate, startHubAgent, startHubProcess } from '../support/hub-process.js'
import { cli, spawnCli, waitForOutput } from './cli-harness.js'

t.setTimeout(240_000)

t.test('watching a live fleet', async (t) => {
  const dir = tempDir(t, 'cli-watch')
  process.env.SHOAL_CONFIG = path.join(dir, 'config.yaml')
  const hub = await startHubProcess(t)
  const id = uniqueNodeId('watch')
  const agent = await startHubAgent(t, hub, { name: id, labels: { site: 'w' } })
  await waitFor(async () => (await hub.nodes()).some((n: any) => n.id === id && n.online), { what: `${id} online`, timeoutMs: 30_000 })
  const connection = ['--hub', hub.apiUrl, '--token', hub.adminToken]

  await t.test('get events -w prints new events as they arrive, as a table and as JSON lines', async (t) => {
    const table = spawnCli(t, ['get', 'events', '-w', ...connection])
    const json = spawnCli(t, ['get', 'events', '-w', '-o', 'json', '--node', id, ...connection])
    await waitForOutput(table, new RegExp(`^AGE +SEVERITY +TYPE +NODE +WORKLOAD +MESSAGE\\n(.*\\n)*.*NodeOnline +${id} `), 'the first page of events')
    await waitForOutput(json, /"type":"NodeOnline"/, 'the first events as JSON')
    const before = table.out()
    const manifest = path.join(dir, 'watched.yaml')
    writeFileSync(manifest, deploymentYaml('watched', { replicas: 1, selector: { matchLabels: { site: 'w' } }, template: sleepTemplate(testImage()) }))
    const apply = await cli(['apply', '-f', manifest, ...connection])
    t.equal(apply.code, 0, apply.err)
    await waitForOutput(table, new RegExp(`\\n\\d+s +info +WorkloadStateChanged +${id} +watched +watched: .*running\\n`), 'the workload event, printed live')
    t.ok(table.out().startsWith(before), 'earlier lines are not printed again')
    t.equal(table.out().match(/^AGE /gm)?.length, 1, 'one header only')
    await waitForOutput(json, /"type":"WorkloadStateChanged"/, 'the workload event as a JSON line')
    for (const line of json.out().trimEnd().split('\n')) t.doesNotThrow(() => JSON.parse(line), `one JSON document per line: ${line.slice(0, 80)}`)
    const ids = json
      .out()
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: number }).id)
    t.same(
      ids,
      [...new Set(ids)].sort((a, b) => a - b),
      'each event once, in order',
    )

    for (const run of [table, json]) {
      run.child.kill('SIGINT')
      t.same(await run.exited, { code: 0, signal: null }, 'Ctrl-C ends the watch with exit 0')
    }
  })

  await t.test('get nodes -w prints the table again on a change and shows the node going offline', async (t) => {
    const watch = spawnCli(t, ['get', 'nodes', '-w', ...connection])
    await waitForOutput(watch, new RegExp(`^NAME +STATUS .*\\n${id} +Ready +`), 'the first table')
    const cordon = await cli(['cordon', id, ...connection])
    t.equal(cordon.code, 0, cordon.err)
    await waitForOutput(watch, new RegExp(`\\n\\nNAME +STATUS .*\\n${id} +Ready,SchedulingDisabled +`), 'the table again, cordoned', 15_000)
    await agent.kill('SIGKILL')
    await waitForOutput(watch, new RegExp(`\\n${id} +Offline \\(\\d+s\\),SchedulingDisabled +`), 'the node offline, live', 30_000)
    const tables = watch.out().split('\n\n')
    t.ok(tables.length >= 3, `${tables.length} tables printed`)
    for (const table of tables) t.match(table, /^NAME +STATUS +PROFILE +ARCH +WORKLOADS +LAST SEEN +AGE\n/)
    watch.child.kill('SIGINT')
    t.same(await watch.exited, { code: 0, signal: null })
    t.equal(watch.err(), '')
  })

  await t.test('a watch on a hub that goes away says so and keeps trying until Ctrl-C', async (t) => {
    const watch = spawnCli(t, ['get', 'deployments', '-w', ...connection])
    await waitForOutput(watch, /^NAME +READY +PLACED/, 'the first table')
    await hub.kill('SIGKILL')
    await waitFor(() => /warning: .*(cannot reach the hub|event stream)/.test(watch.err()), { what: 'a warning on stderr', timeoutMs: 20_000 })
    watch.child.kill('SIGINT')
    t.same(await watch.exited, { code: 0, signal: null })
  })
})
