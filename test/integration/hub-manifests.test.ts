// The hub's HTTP API at its edge, against a real hub process: bad manifests are refused with
// 400 and the exact field path and line, nothing of a bad request is applied, the bearer
// token is enforced, and `shoal hub backup` copies the live database consistently.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { freePort, tempDir, testImage } from '../support/index.js'
import { CLI } from '../support/agent-process.js'
import { HubProcess, deploymentYaml, manifestsYaml, sleepTemplate, startHubProcess } from '../support/hub-process.js'

const execFileAsync = promisify(execFile)

t.setTimeout(90_000)

interface ErrorBody {
  readonly error: {
    readonly code: string
    readonly message: string
    readonly details?: ReadonlyArray<{ documentIndex: number; path: string; message: string; line?: number; column?: number }>
  }
}

t.test('the manifests API', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)

  const good = deploymentYaml('good', { replicas: 1, template: sleepTemplate(image) })

  /** Posts a body that must be refused with 400; resolves to the one problem it reports. */
  async function refused(t: Test, body: string) {
    const response = await hub.api<ErrorBody>('POST', '/api/v1/manifests', body)
    t.equal(response.status, 400, `400, not ${response.status}: ${response.text.slice(0, 300)}`)
    t.equal(response.body.error.code, 'bad-request')
    t.notMatch(response.text, /\n\s+at |\.js:\d+/, 'no stack trace in the answer')
    t.equal(response.body.error.details?.length, 1, 'exactly one problem reported')
    return response.body.error.details?.[0]
  }

  await t.test('an unknown kind: its path and line, and the valid document beside it is not applied', async (t) => {
    const body = manifestsYaml(good, ['apiVersion: shoal/v1', 'kind: DaemonSet', 'metadata:', '  name: x', 'spec: {}'].join('\n'))
    const problem = await refused(t, body)
    // The second document starts after the first and its `---` line; `kind:` is its 2nd line.
    const kindLine = good.trimEnd().split('\n').length + 3
    t.match(problem, { documentIndex: 1, path: 'kind', line: kindLine, column: 7 })
    t.match(problem?.message, /unknown kind "DaemonSet"/)
    t.equal((await hub.api('GET', '/api/v1/deployments/good')).status, 404, 'all or nothing: the good one was not applied')
  })

  await t.test('an impossible selector (In without values)', async (t) => {
    const body = [
      'apiVersion: shoal/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      'spec:',
      '  replicas: 1',
      '  selector:',
      '    matchExpressions:',
      '      - key: tier',
      '        operator: In',
      '  template:',
      `    image: ${image}`,
      '',
    ].join('\n')
    const problem = await refused(t, body)
    t.match(problem, { documentIndex: 0, path: 'spec.selector.matchExpressions[0].values', line: 9 })
    t.match(problem?.message, /In needs at least one value/)
  })

  await t.test('a negative replica count', async (t) => {
    const body = [
      'apiVersion: shoal/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      'spec:',
      '  replicas: -2',
      '  template:',
      `    image: ${image}`,
      '',
    ].join('\n')
    const problem = await refused(t, body)
    t.match(problem, { documentIndex: 0, path: 'spec.replicas', line: 6, column: 13 })
    t.match(problem?.message, />=\s*0/)
  })

  await t.test('a typo in a field name', async (t) => {
    const body = [
      'apiVersion: shoal/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      'spec:',
      '  replicas: 1',
      '  template:',
      `    image: ${image}`,
      '    comand: [sleep, "3600"]',
      '',
    ].join('\n')
    const problem = await refused(t, body)
    t.match(problem, { documentIndex: 0, path: 'spec.template.comand', line: 9, column: 5 })
    t.match(problem?.message, /unknown field "comand"/)
  })

  await t.test('broken YAML and an empty body', async (t) => {
    const broken = await refused(t, 'apiVersion: shoal/v1\nkind: Deployment\nmetadata: {name: web\nspec:\n')
    t.equal(broken?.path, '')
    t.type(broken?.line, 'number')
    const empty = await hub.api<ErrorBody>('POST', '/api/v1/manifests', '')
    t.equal(empty.status, 400)
    t.equal((await hub.ok('GET', '/api/v1/deployments')).items.length, 0, 'still nothing applied')
  })

  await t.test('too large: 413 with a reason, not a dropped connection', async (t) => {
    const justOver = await hub.api<ErrorBody>('POST', '/api/v1/manifests', `# ${'x'.repeat(1024 * 1024)}\n`)
    t.equal(justOver.status, 413)
    t.match(justOver.body.error, { code: 'too-large', message: /manifests exceed 1048576 bytes/ })
    const huge = await hub.api<ErrorBody>('POST', '/api/v1/manifests', `# ${'x'.repeat(8 * 1024 * 1024)}\n`)
    t.equal(huge.status, 413, "a body past the server's own bound is answered too")
    t.match(huge.body.error, { code: 'too-large', message: /request body exceeds/ })
    t.equal((await hub.api('GET', '/healthz', undefined, { token: null })).status, 200, 'the hub answers on')
  })

  await t.test('401 without a token or with a wrong one; public endpoints stay public', async (t) => {
    for (const token of [null, 'wrong', `${hub.adminToken.slice(0, -1)}x`, `${hub.adminToken}x`]) {
      const response = await hub.api<ErrorBody>('POST', '/api/v1/manifests', good, { token })
      t.equal(response.status, 401, `token ${token === null ? 'absent' : 'wrong'}`)
      t.equal(response.body.error.code, 'unauthorized')
      t.equal((await hub.api('GET', '/api/v1/nodes', undefined, { token })).status, 401)
      t.equal((await hub.api('POST', '/api/v1/tokens', {}, { token })).status, 401)
    }
    t.equal((await hub.api('GET', '/api/v1/deployments/good')).status, 404, 'nothing was applied without the token')
    t.equal((await hub.api('GET', '/healthz', undefined, { token: null })).status, 200)
    t.equal((await hub.api('GET', '/metrics', undefined, { token: null })).status, 200)
  })

  await t.test('a dry run of a valid manifest stores nothing; applying it twice is unchanged the second time', async (t) => {
    const preview = await hub.ok('POST', '/api/v1/manifests?dryRun=true', good)
    t.match(preview, { dryRun: true, results: [{ name: 'good', placements: [], pending: 1 }] })
    t.match(preview.results[0].why, /0\/0 nodes match/)
    t.equal((await hub.api('GET', '/api/v1/deployments/good')).status, 404, 'the dry run stored nothing')
    t.match(await hub.apply(good), { results: [{ name: 'good', outcome: 'created', revision: 1 }] })
    t.match(await hub.apply(good), { results: [{ name: 'good', outcome: 'unchanged', revision: 1 }] })
    const audit = (await hub.ok('GET', '/api/v1/audit')).items as Array<{ action: string; target: string }>
    t.equal(audit.filter((a) => a.action === 'deployment.created' && a.target === 'good').length, 1, 'one audit entry for the one change')
  })

  await t.test('a second hub on ports in use exits with the error instead of hanging half-started', async (t) => {
    for (const [what, ports] of [
      ['broker port', [await freePort(), hub.mqttPort]],
      ['API port', [hub.apiPort, await freePort()]],
    ] as const) {
      const twin = new HubProcess(tempDir(t, 'hub-twin'), ports[0], ports[1])
      t.teardown(() => twin.kill('SIGKILL'))
      await t.rejects(twin.start(), /exited during start-up \(\{"code":1/, `${what} in use: exit code 1`)
      t.match(twin.log(), /error: listen EADDRINUSE/, 'says why')
    }
    t.ok(hub.alive, 'the first hub is unaffected')
    t.equal((await hub.api('GET', '/healthz', undefined, { token: null })).status, 200)
  })

  await t.test('`shoal hub backup` makes a valid copy of the live database', async (t) => {
    const names = Array.from({ length: 5 }, (_, i) => `backup-${i}`)
    await hub.apply(manifestsYaml(...names.map((name) => deploymentYaml(name, { replicas: 1, template: sleepTemplate(image) }))))
    const expected = (await hub.ok('GET', '/api/v1/deployments')).items.length
    t.equal(expected, 6)
    const dir = tempDir(t, 'hub-backup')
    const file = path.join(dir, 'copy.db')
    // Writes go on while the copy is made.
    const writing = hub.apply(deploymentYaml('during-backup', { replicas: 2, template: sleepTemplate(image) }))
    const { stdout } = await execFileAsync(process.execPath, [CLI, 'hub', 'backup', '--data-dir', hub.dataDir, file], { timeout: 30_000 })
    await writing
    t.match(stdout, /backed up .*hub\.db to /)
    t.ok(hub.alive, 'the hub kept running')
    const db = new Database(file, { readonly: true, fileMustExist: true })
    try {
      t.equal(db.pragma('integrity_check', { simple: true }), 'ok')
      const count = (db.prepare('SELECT COUNT(*) AS n FROM deployments').get() as { n: number }).n
      t.ok(count === expected || count === expected + 1, `a consistent snapshot (${count} deployments, before or after the concurrent apply)`)
      const revisions = (db.prepare('SELECT COUNT(*) AS n FROM deployment_revisions').get() as { n: number }).n
      t.equal(revisions, count, 'every deployment with its revision, none half-written')
      t.ok((db.pragma('user_version', { simple: true }) as number) >= 1, 'migrated schema')
    } finally {
      db.close()
    }
    const again = await execFileAsync(process.execPath, [CLI, 'hub', 'backup', '--data-dir', hub.dataDir, file], { timeout: 30_000 }).catch(
      (error: { code: number; stderr: string }) => error,
    )
    t.not((again as { code?: number }).code ?? 0, 0, 'refuses to overwrite an existing backup')
    t.ok(existsSync(file))
  })
})
