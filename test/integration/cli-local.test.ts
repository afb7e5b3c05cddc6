// The CLI's parts that need no hub: contexts (file mode, where the file lives, which hub and
// token a verb uses), help texts, usage errors (exit 2), completion scripts run in a real
// bash, colour rules, and what happens when no hub answers (spawned, exit 1).
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { buildFullProgram } from '../../cli/program.js'
import { configPath, readConfig, resolveConnection, withContext, writeConfig, EMPTY_CONFIG } from '../../cli/contexts.js'
import { renderCells, terminalOf } from '../../cli/output.js'
import { freePort, tempDir } from '../support/index.js'
import { cli, runSpawned } from './cli-harness.js'

const dir = tempDir(t, 'cli-local')
process.env.SHOAL_CONFIG = path.join(dir, 'config', 'config.yaml')
delete process.env.SHOAL_HUB
delete process.env.SHOAL_TOKEN

/** Every verb this work adds (logs belongs to another file and is wired separately). */
const VERBS = [
  'login',
  'context',
  'apply',
  'delete',
  'get',
  'describe',
  'label',
  'cordon',
  'uncordon',
  'drain',
  'token',
  'top',
  'completion',
  'create',
  'exec',
  'port-forward',
  'cp',
]

t.test('contexts', async (t) => {
  t.test('the config file is written with mode 0600 in a 0700 directory, even under a permissive umask', async (t) => {
    const file = path.join(tempDir(t, 'ctx'), 'nested', 'config.yaml')
    const old = process.umask(0)
    try {
      writeConfig(file, withContext(EMPTY_CONFIG, { name: 'a', hub: 'http://a.example:8080', token: 'tok-a' }))
      t.equal(statSync(file).mode & 0o777, 0o600, 'file 0600')
      t.equal(statSync(path.dirname(file)).mode & 0o777, 0o700, 'directory 0700')
      writeFileSync(file, readFileSync(file), { mode: 0o644 })
      writeConfig(file, withContext(readConfig(file), { name: 'b', hub: 'http://b.example:8080', token: 'tok-b' }))
      t.equal(statSync(file).mode & 0o777, 0o600, 'a rewrite narrows a widened file back to 0600')
    } finally {
      process.umask(old)
    }
    t.same(readConfig(file), {
      apiVersion: 'shoal/v1',
      kind: 'Config',
      currentContext: 'b',
      contexts: [
        { name: 'a', hub: 'http://a.example:8080', token: 'tok-a' },
        { name: 'b', hub: 'http://b.example:8080', token: 'tok-b' },
      ],
    })
  })

  t.test('where the file lives: SHOAL_CONFIG, then XDG_CONFIG_HOME, then ~/.config', async (t) => {
    t.equal(configPath({ SHOAL_CONFIG: '/x/y.yaml', XDG_CONFIG_HOME: '/xdg' }), '/x/y.yaml')
    t.equal(configPath({ XDG_CONFIG_HOME: '/xdg' }), '/xdg/shoal/config.yaml')
    t.equal(configPath({ HOME: '/home/op' }).endsWith(path.join('.config', 'shoal', 'config.yaml')), true)
  })

  t.test('which hub and token: flags, then SHOAL_HUB/SHOAL_TOKEN, then the context', async (t) => {
    const file = path.join(tempDir(t, 'ctx'), 'config.yaml')
    writeConfig(
      file,
      withContext(withContext(EMPTY_CONFIG, { name: 'other', hub: 'http://other:1', token: 'tok-other' }), {
        name: 'main',
        hub: 'http://main:1',
        token: 'tok-main',
      }),
    )
    t.match(resolveConnection({}, {}, file), { hub: 'http://main:1', token: 'tok-main', source: 'context', contextName: 'main' })
    t.match(resolveConnection({ context: 'other' }, {}, file), { hub: 'http://other:1', token: 'tok-other' })
    t.match(resolveConnection({}, { SHOAL_HUB: 'http://env:2', SHOAL_TOKEN: 'tok-env' }, file), { hub: 'http://env:2', token: 'tok-env', source: 'env' })
    t.match(resolveConnection({ hub: 'http://flag:3/', token: 'tok-flag' }, { SHOAL_HUB: 'http://env:2', SHOAL_TOKEN: 'tok-env' }, file), {
      hub: 'http://flag:3',
      token: 'tok-flag',
      source: 'flag',
    })
    t.match(
      resolveConnection({ token: 'tok-flag' }, { SHOAL_TOKEN: 'tok-env' }, file),
      { hub: 'http://main:1', token: 'tok-flag' },
      'a token flag with the context hub',
    )
    t.match(resolveConnection({ hub: 'http://main:1' }, {}, file), { token: 'tok-main' }, 'the context token goes with its own hub')
    t.throws(() => resolveConnection({ hub: 'http://elsewhere:9' }, {}, file), /no token for http:\/\/elsewhere:9/, 'never sends a saved token to another hub')
    t.throws(() => resolveConnection({ context: 'nope' }, {}, file), /no context named "nope"/)
    t.throws(() => resolveConnection({}, {}, path.join(dir, 'missing.yaml')), /no hub configured; run shoal login/)
    t.throws(() => resolveConnection({ hub: 'mqtt://broker:1883', token: 'x' }, {}, file), /not an http\(s\) URL/)
  })

  t.test('a broken config file is one line naming the file and what to do', async (t) => {
    const file = path.join(tempDir(t, 'ctx'), 'config.yaml')
    writeFileSync(file, 'apiVersion: shoal/v1\nkind: Nope\n')
    t.throws(() => readConfig(file), new RegExp(`${file} is not a shoal config .*run shoal login again`))
    writeFileSync(file, 'a: [\n')
    t.throws(() => readConfig(file), /is not valid YAML/)
    writeFileSync(file, '{"apiVersion": "shoal/v1", "kind": "Config", "contexts": [{"name": "a", "hub": "not a url", "token": "t"}]}\n')
    t.throws(() => readConfig(file), /is not a shoal config \(contexts\.0\.hub: expected a URL\)/)
    writeFileSync(file, 'apiVersion: shoal/v1\nkind: Config\ncontexts:\n  - name: a\n    hub: http://a:1\n    token: t\n    colour: red\n')
    t.throws(() => readConfig(file), /contexts\.0: unknown field "colour"/)
  })

  t.test('the file is written as JSON (read without a YAML parser); YAML written by hand or by earlier versions reads the same', async (t) => {
    const file = path.join(tempDir(t, 'ctx'), 'config.yaml')
    const config = withContext(EMPTY_CONFIG, { name: 'prod', hub: 'https://hub.example.com', token: 'tok' })
    writeConfig(file, config)
    t.same(JSON.parse(readFileSync(file, 'utf8')), config)
    writeFileSync(
      file,
      'apiVersion: shoal/v1\nkind: Config\ncurrentContext: prod\ncontexts:\n  - name: prod\n    hub: https://hub.example.com\n    token: tok\n',
    )
    t.same(readConfig(file), config)
    writeFileSync(file, '{apiVersion: shoal/v1, kind: Config}\n')
    t.same(readConfig(file), EMPTY_CONFIG, "YAML's flow style, which also opens with a brace")
  })

  t.test('context list and use on the file', async (t) => {
    mkdirSync(path.dirname(process.env.SHOAL_CONFIG ?? ''), { recursive: true })
    writeConfig(
      process.env.SHOAL_CONFIG ?? '',
      withContext(withContext(EMPTY_CONFIG, { name: 'lab', hub: 'http://lab:8080', token: 'secret-lab' }), {
        name: 'prod',
        hub: 'https://prod.example',
        token: 'secret-prod',
      }),
    )
    const list = await cli(['context', 'list'])
    t.equal(list.code, 0)
    t.equal(list.out, 'CURRENT  NAME  HUB\n         lab   http://lab:8080\n*        prod  https://prod.example\n')
    t.notMatch(list.out, /secret/, 'tokens are never printed')
    const use = await cli(['context', 'use', 'lab'])
    t.equal(use.code, 0)
    t.equal(use.out, 'switched to context "lab"\n')
    const json = JSON.parse((await cli(['context', 'list', '-o', 'json'])).out)
    t.same(json, {
      currentContext: 'lab',
      contexts: [
        { name: 'lab', hub: 'http://lab:8080', current: true },
        { name: 'prod', hub: 'https://prod.example', current: false },
      ],
    })
    const missing = await cli(['context', 'use', 'nope'])
    t.equal(missing.code, 1)
    t.equal(missing.err, 'error: no context named "nope" (known: lab, prod); add it with shoal login URL --token TOKEN --name nope\n')
    t.equal(statSync(process.env.SHOAL_CONFIG ?? '').mode & 0o777, 0o600)
  })
})

t.test('every verb has help with an example', async (t) => {
  const program = await buildFullProgram({ out: () => undefined, err: () => undefined })
  const leaves = (names: string[]): string[][] => {
    const command = names.reduce((c, name) => c.commands.find((s) => s.name() === name) ?? c, program)
    return command.commands.length === 0 ? [names] : command.commands.map((s) => leaves([...names, s.name()])).flat()
  }
  for (const verb of VERBS) {
    for (const argv of leaves([verb])) {
      const run = await cli([...argv, '--help'])
      t.equal(run.code, 0, `shoal ${argv.join(' ')} --help exits 0`)
      t.match(run.out, /Examples?:\n/, `shoal ${argv.join(' ')} --help has an example`)
      t.match(run.out, new RegExp(`\\$? ?shoal ${argv[0]}`), `the example uses shoal ${argv[0]}`)
    }
  }
})

t.test('usage mistakes exit 2 with one line that says what to do', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['get', 'pods', '--hub', 'http://h:1', '--token', 'x'],
      /unknown resource "pods"; use nodes, deployments, jobs, cronjobs, events, configs, secrets, alerts or sessions/,
    ],
    [['get', 'nodes', '-l', 'a in (', '--hub', 'http://h:1', '--token', 'x'], /-l: cannot read selector term/],
    [['get', 'nodes', '-o', 'xml'], /argument 'xml' is invalid/],
    [['label', 'node', 'n1', 'bad key=1', '--hub', 'http://h:1', '--token', 'x'], /label key "bad key" must be/],
    [['label', 'node', 'n1', 'novalue', '--hub', 'http://h:1', '--token', 'x'], /use key=value to set a label, key- to remove one/],
    [['label', 'deployment', 'd', 'a=b', '--hub', 'http://h:1', '--token', 'x'], /only nodes have labels/],
    [['apply'], /required option '-f, --filename <path>' not specified/],
    [['apply', '-f', path.join(dir, 'missing.yaml'), '--hub', 'http://h:1', '--token', 'x'], /missing.yaml: no such file or directory/],
    [['delete', 'node', 'n1', '--hub', 'http://h:1', '--token', 'x'], /only deployments, jobs, cron jobs, configs and secrets can be deleted/],
    [['token', 'create', '--ttl', 'soon', '--hub', 'http://h:1', '--token', 'x'], /use a duration such as 30m/],
    [['token', 'create', '--max-uses', '0', '--hub', 'http://h:1', '--token', 'x'], /--max-uses "0": use a whole number of at least 1/],
    [['top', 'deployments', '--hub', 'http://h:1', '--token', 'x'], /use shoal top nodes/],
    [['completion', 'fish'], /no completion for "fish"; use bash or zsh/],
    [['get', 'events', 'e1', '--hub', 'http://h:1', '--token', 'x'], /events have no names/],
    [['describe', 'pod', 'p', '--hub', 'http://h:1', '--token', 'x'], /use node, deployment, job, cronjob, config or secret/],
    [['create', 'secret', 'api', '--hub', 'http://h:1', '--token', 'x'], /a Secret needs data: give --from-literal/],
    [['create', 'secret', 'api', '--from-literal', 'bad/key=v', '--hub', 'http://h:1', '--token', 'x'], /key "bad\/key" must be letters, digits/],
    [['create', 'config', 'c', '--from-literal', 'a=1', '--from-literal', 'a=2', '--hub', 'http://h:1', '--token', 'x'], /key "a" is given twice/],
    [['create', 'config', 'c', '--from-file', path.join(dir, 'missing.txt'), '--hub', 'http://h:1', '--token', 'x'], /missing.txt: no such file/],
    [['create', 'config', 'Bad_Name', '--from-literal', 'a=1', '--dry-run'], /config name "Bad_Name" must be lower-case/],
    [['login', 'http://h:1'], /login needs the admin token/],
    [['get', 'nodes', '--hub', 'ftp://h:1', '--token', 'x'], /not an http\(s\) URL/],
    [['get', 'nodes', '--context', 'nope'], /no context named "nope"/],
    [
      ['hub', 'serve', '--data-dir', path.join(dir, 'hub'), '--max-connections-per-address', '0'],
      /--max-connections-per-address: expected a whole number from 1 to 65536, got "0"/,
    ],
    [['hub', 'serve', '--data-dir', path.join(dir, 'hub'), '--max-connections-per-address', 'lots'], /--max-connections-per-address: expected a whole number/],
  ]
  for (const [argv, message] of cases) {
    const run = await cli(argv)
    t.equal(run.code, 2, `shoal ${argv.join(' ')} exits 2`)
    t.match(run.err, message, `shoal ${argv.join(' ')}: ${run.err.trim()}`)
    t.equal(run.out, '', 'nothing on stdout')
  }
})

t.test('no hub answering: exit 1 and "cannot reach" (spawned, as a shell runs it)', async (t) => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  for (const argv of [
    ['get', 'nodes'],
    ['describe', 'node', 'n1'],
    ['cordon', 'n1'],
    ['token', 'create'],
  ]) {
    const run = await runSpawned(t, [...argv, '--hub', url, '--token', 'x'])
    t.equal(run.code, 1, `shoal ${argv.join(' ')} exits 1`)
    t.equal(run.err, `error: cannot reach the hub at ${url}: connect ECONNREFUSED 127.0.0.1:${port}; is it running? (check --hub)\n`)
    t.equal(run.out, '')
  }
  const login = await runSpawned(t, ['login', url, '--token', 'x'], { env: { SHOAL_CONFIG: path.join(dir, 'never.yaml') } })
  t.equal(login.code, 1)
  t.match(login.err, /^error: cannot reach the hub at/)
  t.throws(() => statSync(path.join(dir, 'never.yaml')), 'a failed login writes nothing')
})

t.test('completion scripts', async (t) => {
  const bash = await cli(['completion', 'bash'])
  const zsh = await cli(['completion', 'zsh'])
  t.equal(bash.code, 0)
  t.equal(zsh.code, 0)
  for (const verb of [...VERBS, 'validate', 'schema', 'profiles', 'agent', 'hub']) {
    t.match(bash.out, new RegExp(`\\b${verb}\\b`), `bash completes ${verb}`)
    t.match(zsh.out, new RegExp(`'${verb}:`), `zsh describes ${verb}`)
  }
  t.match(zsh.out, /^#compdef shoal\n/)
  t.match(bash.out, /complete -o default -F _shoal shoal\n$/)

  const scriptFile = path.join(dir, 'shoal.bash')
  writeFileSync(scriptFile, bash.out)
  t.equal(spawnSync('bash', ['-n', scriptFile]).status, 0, 'bash parses the script')
  // Run the completion function the way bash does on Tab, with a `shoal` on PATH that lists names.
  const bin = path.join(dir, 'bin')
  mkdirSync(bin, { recursive: true })
  writeFileSync(
    path.join(bin, 'shoal'),
    '#!/bin/sh\n[ "$1 $2 $3 $4" = "get nodes -o name" ] && printf "pi-1\\npi-2\\nrack-9\\n"\n[ "$1 $2 $3 $4" = "get node -o name" ] && printf "pi-1\\npi-2\\nrack-9\\n"\n[ "$1 $2 $3 $4" = "get secret -o name" ] && printf "api\\nbroker\\n"\nexit 0\n',
    { mode: 0o755 },
  )
  const complete = (...words: string[]): string[] => {
    const program = `source ${scriptFile}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _shoal; printf '%s\\n' "\${COMPREPLY[@]}"`
    return execFileSync('bash', ['-c', program], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } })
      .toString()
      .split('\n')
      .filter((w) => w !== '')
      .sort()
  }
  t.same(complete('shoal', 'dr'), ['drain'])
  t.same(complete('shoal', 'get', 'd'), ['deployments'])
  t.same(complete('shoal', 'get', 'nodes', '-o', 'w'), ['wide'])
  t.same(complete('shoal', 'cordon', 'pi'), ['pi-1', 'pi-2'])
  t.same(complete('shoal', 'describe', 'node', 'r'), ['rack-9'])
  t.same(complete('shoal', 'describe', '--hub', 'http://h', 'node', 'r'), ['rack-9'], 'option values are not counted as positions')
  t.same(complete('shoal', 'context', 'u'), ['use'])
  t.same(complete('shoal', 'get', 'nodes', '--wat'), ['--watch'])
  t.same(complete('shoal', 'completion', ''), ['bash', 'zsh'])
  t.same(complete('shoal', 'create', ''), ['config', 'job', 'secret'])
  t.same(complete('shoal', 'create', 'secret', 'api', '--from-l'), ['--from-literal'])
  t.same(complete('shoal', 'get', 's'), ['secrets'])
  t.same(complete('shoal', 'describe', 'secret', 'b'), ['broker'])
  t.same(complete('shoal', 'delete', 'secret', ''), ['api', 'broker'])
})

t.test('colour only on a terminal, and never with NO_COLOR', async (t) => {
  const rows = [
    ['a', { text: 'Ready', colour: 'green' as const }, '1m'],
    ['bb', { text: 'Offline (5m)', colour: 'red' as const }, '2d'],
  ]
  const plain = renderCells({ colour: false }, ['NAME', 'STATUS', 'AGE'], rows)
  t.equal(plain, 'NAME  STATUS        AGE\na     Ready         1m\nbb    Offline (5m)  2d\n')
  const coloured = renderCells({ colour: true }, ['NAME', 'STATUS', 'AGE'], rows)
  t.equal(
    coloured,
    'NAME  STATUS        AGE\na     \u001b[32mReady\u001b[39m         1m\nbb    \u001b[31mOffline (5m)\u001b[39m  2d\n',
    'the padding stays outside the colour',
  )
  t.equal(coloured.replace(/\u001b\[\d+m/g, ''), plain, 'colour does not move the columns')
  const io = { out: () => undefined, err: () => undefined }
  t.same(terminalOf(io, {}), { colour: false }, 'captured output is not a terminal')
  t.same(terminalOf({ ...io, isTTY: true } as typeof io, {}), { colour: true })
  t.same(terminalOf({ ...io, isTTY: true } as typeof io, { NO_COLOR: '1' }), { colour: false })
})
