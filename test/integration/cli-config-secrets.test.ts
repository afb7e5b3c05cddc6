// Configs and Secrets through the CLI against a real hub process (and, for the copies'
// versions, a real agent with Docker): create from literals and files, get, describe, apply a
// change that rolls the deployment using it, diff's note, delete refused while in use and then
// done. A marker value of the Secret never appears in any output of any command, nor in the
// hub's log. Every wait is for a condition.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { stringify as stringifyYaml } from 'yaml'
import { testImage, tempDir, waitFor } from '../support/index.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { deploymentYaml, sleepTemplate, startHubAgent, startHubProcess, type HubProcess } from '../support/hub-process.js'
import { cli, type CliRun } from './cli-harness.js'

t.setTimeout(240_000)

const MARKER = `marker-${process.pid}-${Date.now().toString(36)}-never-shown`
const dir = tempDir(t, 'cli-config-secrets')
process.env.SHOAL_CONFIG = path.join(dir, 'config.yaml')
delete process.env.SHOAL_HUB
delete process.env.SHOAL_TOKEN

let hub: HubProcess
/** Everything every command printed (except the --dry-run that was asked to print values). */
let printed = ''

async function shoal(argv: readonly string[]): Promise<CliRun> {
  const run = await cli([...argv, '--hub', hub.apiUrl, '--token', hub.adminToken])
  printed += run.out + run.err
  return run
}

async function ok(t: Test, argv: readonly string[]): Promise<string> {
  const run = await shoal(argv)
  t.equal(run.code, 0, `shoal ${argv.join(' ')} exits 0${run.code === 0 ? '' : ` (stderr: ${run.err.trim()})`}`)
  return run.out
}

t.before(async () => {
  hub = await startHubProcess(t, { logLevel: 'debug' })
})

t.test('create, get and describe a Secret and a Config; values of the Secret never shown', async (t) => {
  const tokenFile = path.join(dir, 'token')
  writeFileSync(tokenFile, `${MARKER}\n`)
  const calibration = path.join(dir, 'calibration.json')
  writeFileSync(calibration, '{"gain": 1.25}\n')

  t.equal(
    await ok(t, ['create', 'secret', 'api', '--from-file', `token=${tokenFile}`, '--from-literal', `password=${MARKER}-2`, '--label', 'team=line']),
    'secret/api created (version 1)\n',
  )
  t.equal(await ok(t, ['create', 'config', 'line', '--from-literal', 'plc=10.0.0.5', '--from-file', calibration]), 'config/line created (version 1)\n')

  const again = await shoal(['create', 'secret', 'api', '--from-literal', 'token=other'])
  t.equal(again.code, 1, 'create refuses an existing secret')
  t.match(again.err, /^error: secret "api" already exists; to change it, shoal create secret api \.\.\. --dry-run -o yaml \| shoal apply -f -\n$/)

  const secrets = await ok(t, ['get', 'secrets'])
  t.match(secrets, /^NAME +VERSION +KEYS +USED BY +AGE\napi +1 +(token,password|password,token) +<none> +\d+s\n$/)
  t.equal(await ok(t, ['get', 'configs', '-o', 'name']), 'line\n')
  const listed = JSON.parse(await ok(t, ['get', 'secrets', '-o', 'json'])) as {
    items: { name: string; keys: { key: string; bytes: number }[]; labels: Record<string, string> }[]
  }
  t.match(listed.items, [{ name: 'api', labels: { team: 'line' } }])
  t.same(
    [...(listed.items[0]?.keys ?? [])].sort((a, b) => (a.key < b.key ? -1 : 1)),
    [
      { key: 'password', bytes: MARKER.length + 2 },
      { key: 'token', bytes: MARKER.length + 1 },
    ],
    'keys with their sizes',
  )
  const one = await ok(t, ['get', 'secret', 'api', '-o', 'yaml'])
  t.match(one, /^kind: Secret$/m)
  t.match(one, /^name: api$/m)
  t.equal(await ok(t, ['get', 'secrets', '-l', 'team=other', '-o', 'name']), '', 'selector filters by labels')

  const described = await ok(t, ['describe', 'secret', 'api'])
  t.match(described, /^Name: +api\nKind: +Secret\nLabels: +team=line\nVersion: +1\nUsed by: +<no deployment>\n/)
  t.match(described, /Keys:\n {2}KEY +SIZE\n/)
  t.match(described, /\(a Secret's values are never shown\)/)
  const config = await ok(t, ['describe', 'config', 'line'])
  t.match(config, /Data:\n {2}plc: 10\.0\.0\.5\n {2}calibration\.json: \|\n {4}\{"gain": 1\.25\}\n/, "a Config's data is shown")

  const missing = await shoal(['describe', 'secret', 'nope'])
  t.equal(missing.code, 1)
  t.equal(missing.err, 'error: secret "nope" not found; list secrets with shoal get secrets\n')
})

t.test('a deployment that uses them: used by, a change rolls it, diff notes it, delete waits for it', async (t) => {
  const web = deploymentYaml('web', {
    replicas: 1,
    template: sleepTemplate(testImage(), { env: { TOKEN: { secret: 'api', key: 'token' }, PLC: { config: 'line', key: 'plc' } } }),
  })
  const webFile = path.join(dir, 'web.yaml')
  writeFileSync(webFile, web)
  t.match(await ok(t, ['apply', '-f', webFile]), /^deployment\/web created \(revision 1\)/)
  t.match(await ok(t, ['get', 'secrets']), /\napi +1 +\S+ +web +/, 'USED BY names the deployment')

  const changed = path.join(dir, 'api-v2.yaml')
  writeFileSync(
    changed,
    stringifyYaml({
      apiVersion: 'shoal/v1',
      kind: 'Secret',
      metadata: { name: 'api', labels: { team: 'line' } },
      data: { token: `${MARKER}-v2`, password: `${MARKER}-2` },
    }),
  )
  t.equal(await ok(t, ['apply', '-f', changed]), 'secret/api configured (version 2); rolls out web\n')
  t.equal(await ok(t, ['apply', '-f', changed]), 'secret/api unchanged (version 2)\n')
  t.match(await ok(t, ['describe', 'deployment', 'web']), /Revision: +2\n/, 'the deployment got a new revision')

  const diff = await shoal(['diff', '-f', changed, '-f', webFile])
  t.equal(diff.code, 0, `diff finds nothing to change (stderr: ${diff.err})`)
  t.match(diff.err, /^secret\/api: not compared \(Secrets are not diffed; /)

  const refused = await shoal(['delete', 'secret', 'api'])
  t.equal(refused.code, 1, 'a secret in use is not deleted')
  t.match(refused.err, /web/, 'the refusal names the deployment using it')
  t.equal(await ok(t, ['get', 'secrets', '-o', 'name']), 'api\n')
})

t.test('copies report the versions they run; describe secret and describe node show them', async (t) => {
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('cfg') })
  await waitFor(
    async () => {
      const detail = JSON.parse((await shoal(['describe', 'secret', 'api', '-o', 'json'])).out) as {
        copies: { nodeId: string; desiredVersion: number | null; runningVersion: number | null }[]
      }
      return detail.copies.some((c) => c.nodeId === agent.nodeId && c.desiredVersion === 2 && c.runningVersion === 2)
    },
    { what: 'the copy on the agent to report secret api version 2', timeoutMs: 120_000, intervalMs: 500 },
  )
  const described = await ok(t, ['describe', 'secret', 'api'])
  t.match(described, new RegExp(`Copies:\\n {2}DEPLOYMENT +NODE +WORKLOAD +DESIRED +RUNNING\\n {2}web +${agent.nodeId} +\\S+ +2 +2\\n`))
  t.notMatch(described, /do not run the version sent yet/)
  t.match(await ok(t, ['describe', 'node', agent.nodeId]), /CONFIG\n.*config\/line@1 secret\/api@2/, "the node's workloads show the versions")
  t.match(await ok(t, ['describe', 'deployment', 'web']), /CONFIG\n.*config\/line@1 secret\/api@2/)
})

t.test('deleted once nothing uses it', async (t) => {
  t.equal(await ok(t, ['delete', 'deployment', 'web']), 'deployment/web deleted\n')
  t.equal(await ok(t, ['delete', 'secret', 'api']), 'secret/api deleted\n')
  t.equal(await ok(t, ['delete', 'config', 'line']), 'config/line deleted\n')
  const gone = await shoal(['get', 'secrets'])
  t.equal(gone.code, 0)
  t.equal(gone.out, '')
  t.equal(gone.err, 'no secrets found\n')
  const again = await shoal(['delete', 'secret', 'api'])
  t.equal(again.code, 1)
  t.equal(again.err, 'error: secret "api" not found; list secrets with shoal get secrets\n')
})

t.test('the marker never appeared in any output, nor in the hub log', async (t) => {
  t.ok(printed.length > 1000, 'the commands printed plenty')
  t.notOk(printed.includes(MARKER), 'no CLI output holds the secret value')
  t.notOk(hub.log().includes(MARKER), "the hub's log does not hold it")
})
