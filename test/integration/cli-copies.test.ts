// Several containers in one copy through the hub and the CLI (issue 19, item 4): a deployment
// with an init container and two containers is applied with `shoal apply`, runs on a real
// agent, `shoal describe deployment` shows each container, and `shoal logs -c` reads the init
// container's output, the default container's without -c, and names the containers there are
// when asked for one that is not; the console's deployment page (in Chromium) lists them too.
import path from 'node:path'
import t from 'tap'
import { uniqueNodeId } from '../support/agent-process.js'
import { deploymentYaml, startHubAgent, startHubProcess } from '../support/hub-process.js'
import { tempDir, testImage, waitFor } from '../support/index.js'
import { launchChromium } from '../e2e/console-fixtures.js'
import { runSpawned } from './cli-harness.js'

t.setTimeout(240_000)

const dir = tempDir(t, 'cli-copies')

t.test('a several-container copy from apply to logs', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const node = uniqueNodeId('copy')
  await startHubAgent(t, hub, { name: node })
  const env = { SHOAL_CONFIG: path.join(dir, 'config.yaml'), SHOAL_HUB: hub.apiUrl, SHOAL_TOKEN: hub.adminToken }
  await waitFor(async () => (await hub.nodes())[0]?.condition.type === 'Ready', { what: 'the node Ready', timeoutMs: 30_000, intervalMs: 250 })

  const sleeper = (name: string, line: string) => ({ name, image, command: ['sh', '-c', `echo ${line}; trap 'exit 0' TERM; sleep 3600 & wait`] })
  const manifest = deploymentYaml('shop', {
    replicas: 1,
    template: {
      initContainers: [{ name: 'migrate', image, command: ['sh', '-c', 'echo migrated 3 tables'] }],
      containers: [sleeper('app', 'app says hello'), sleeper('metrics', 'metrics says hello')],
    },
  })
  const apply = await runSpawned(t, ['apply', '-f', '-'], { env, input: manifest })
  t.equal(apply.code, 0, apply.err)
  t.match(apply.out, /deployment\/shop created \(revision 1\): 1\/1 replicas placed/)

  const deployment = await waitFor(
    async () => {
      const d = await hub.deployment('shop')
      return d.ready === 1 ? d : undefined
    },
    { what: 'shop ready', timeoutMs: 60_000, intervalMs: 250 },
  )
  t.same(
    deployment.placements[0]?.status?.containers?.map((c: { name: string; state: string }) => [c.name, c.state]),
    [
      ['migrate', 'exited'],
      ['app', 'running'],
      ['metrics', 'running'],
    ],
    'the API has each container of the copy',
  )

  await t.test('describe deployment lists the images and each container', async (t) => {
    const run = await runSpawned(t, ['describe', 'deployment', 'shop'], { env })
    t.equal(run.code, 0, run.err)
    t.match(run.out, new RegExp(`\\nImages: +app=${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, metrics=`))
    t.match(run.out, /\nContainers:\n +NODE +REPLICA +CONTAINER +STATE +HEALTH +READY +RESTARTS +EXIT +MESSAGE\n/)
    t.match(run.out, new RegExp(`\\n +${node} +0 +migrate \\(init\\) +exited +none +- +0 +0 +`))
    t.match(run.out, new RegExp(`\\n +${node} +0 +app +running +none +yes +0 +- +-\\n`))
  })

  await t.test('logs -c reads one container; without it, the first; an unknown one is named with those there are', async (t) => {
    const init = await runSpawned(t, ['logs', 'shop', '-c', 'migrate'], { env })
    t.equal(init.code, 0, init.err)
    t.equal(init.out, 'migrated 3 tables\n', "the init container's output")
    const metrics = await runSpawned(t, ['logs', 'shop', '--container', 'metrics'], { env })
    t.equal(metrics.out, 'metrics says hello\n')
    const first = await runSpawned(t, ['logs', 'shop'], { env })
    t.equal(first.out, 'app says hello\n', 'the first container, init containers aside')
    const unknown = await runSpawned(t, ['logs', 'shop', '-c', 'nope'], { env })
    t.equal(unknown.code, 1)
    t.match(unknown.err, /shop has no container nope; its containers: migrate, app, metrics/)
    const bad = await runSpawned(t, ['logs', 'shop', '-c', 'Bad_Name'], { env })
    t.equal(bad.code, 2, 'a malformed name is a usage error')
  })

  await t.test('get deployment NAME -o yaml gives the manifest back as it was applied', async (t) => {
    const run = await runSpawned(t, ['get', 'deployment', 'shop', '-o', 'yaml'], { env })
    t.equal(run.code, 0, run.err)
    t.equal(run.out, manifest, 'the fields in the order written, no defaults added')
    t.equal((await hub.deployment('shop')).manifestYaml, manifest, 'the API has it too')
  })

  await t.test("the console's deployment page lists each container", async (t) => {
    const { page } = await launchChromium(t, dir)
    await page.goto(`${hub.apiUrl}/`)
    await page.getByLabel('admin token').fill(hub.adminToken)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Fleet overview' }).waitFor()
    await page.goto(`${hub.apiUrl}/deployments/shop`) // the token stays in the tab's sessionStorage
    const table = page.getByRole('table', { name: 'containers' })
    await table.waitFor()
    const row = async (name: string) => ((await table.locator(`tr[data-container="${name}"]`).textContent()) ?? '').replace(/\s+/g, ' ')
    t.match(await row('migrate'), /migrate \(init\).*exited/)
    t.match(await row('app'), /app.*running.*yes/)
    t.match(await row('metrics'), /metrics.*running.*yes/)
    t.equal(await page.getByLabel('spec', { exact: true }).textContent(), manifest, 'the spec as YAML, as it was applied')
  })
})
