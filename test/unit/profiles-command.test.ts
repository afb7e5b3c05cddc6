import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CommanderError, type Command } from 'commander'
import t from 'tap'
import { stringify } from 'yaml'
import { profilesCommand } from '../../cli/commands/profiles.js'
import { CliError } from '../../cli/io.js'

const fixtures = fileURLToPath(new URL('../fixtures/inventories/', import.meta.url))

interface Run {
  readonly out: string
  readonly err: string
}

/** Runs `profiles ...args` in-process, the way the shoal entry point wires commands (output captured, no process.exit). */
async function run(...args: string[]): Promise<Run> {
  let out = ''
  let err = ''
  const io = { out: (text: string) => void (out += text), err: (text: string) => void (err += text) }
  const command = profilesCommand(io)
  const wire = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err })
    cmd.commands.forEach(wire)
  }
  wire(command)
  await command.parseAsync(['node', 'profiles', ...args])
  return { out, err }
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  )
}

t.test('list prints a table of name, arch and description', async (t) => {
  const { out } = await run('list')
  const lines = out.trimEnd().split('\n')
  t.match(lines[0], /^NAME\s+ARCH\s+DESCRIPTION$/)
  t.equal(lines.length, 10, 'header and nine profiles')
  t.ok(
    lines.some((line) => /^raspberry-pi-4\s+arm64,arm\s+Raspberry Pi 4 Model B/.test(line)),
    'the Pi 4 row',
  )
  t.ok(
    lines.some((line) => /^x86-datacenter-gpu\s+amd64\s+x86 servers/.test(line)),
    'the GPU server row',
  )
  const descriptionColumn = lines[0]?.indexOf('DESCRIPTION')
  t.ok(
    lines.every((line) => line.length > (descriptionColumn ?? 0)),
    'columns are aligned',
  )
})

t.test('list -o json is the catalog, parseable and sorted', async (t) => {
  const profiles = JSON.parse((await run('list', '-o', 'json')).out) as Array<{ name: string; match: { arch?: string[] }; agent: { concurrentPulls: number } }>
  t.equal(profiles.length, 9)
  t.same(
    profiles.map((profile) => profile.name),
    [...profiles.map((profile) => profile.name)].sort(),
    'sorted by name',
  )
  const zero = profiles.find((profile) => profile.name === 'raspberry-pi-zero-2w')
  t.equal(zero?.agent.concurrentPulls, 1)
  t.same(zero?.match.arch, ['arm', 'arm64'])
})

t.test('match --inventory explains the choice in words', async (t) => {
  const { out } = await run('match', '--inventory', join(fixtures, 'raspberry-pi-4.json'))
  t.match(out, /^profile: raspberry-pi-4\n/)
  t.match(out, /machine: pi4-line3 \(arm64, Raspberry Pi 4 Model B Rev 1\.4\) from .*raspberry-pi-4\.json\n/)
  t.match(out, /\n {2}- hardware model 'Raspberry Pi 4 Model B Rev 1\.4' matches \/raspberry pi/)
  t.match(out, /\n {2}- memory 3\.7 GiB within 1\.5 GiB–8 GiB\n/)
  t.match(
    out,
    /\n {2}NAME\s+MATCHED\s+SCORE\s+NOT CHOSEN BECAUSE\n {2}raspberry-pi-4\s+yes\s+11\n {2}generic-arm64\s+yes\s+1\s+ranked lower\n/,
    'candidates best first',
  )
  t.match(
    out,
    /\n {2}raspberry-pi-zero-2w\s+no\s+1\s+no model pattern \(\/raspberry pi zero 2\/i\) matches hardware model 'Raspberry Pi 4 Model B Rev 1\.4'/,
    'says why a near miss lost',
  )
})

t.test('match -o json is a stable object that parses back', async (t) => {
  const file = join(fixtures, 'jetson-orin-nano.json')
  const { out } = await run('match', '--inventory', file, '-o', 'json')
  const result = JSON.parse(out) as {
    source: string
    inventory: { hostname: string }
    profile: { name: string; capabilities: string[] }
    reasons: string[]
    candidates: Array<{ name: string; matched: boolean; score: number; reasons: string[] }>
  }
  t.same(Object.keys(result), ['source', 'inventory', 'profile', 'reasons', 'candidates'], 'fixed key order')
  t.equal(result.source, file)
  t.equal(result.inventory.hostname, 'vision-cell-2')
  t.equal(result.profile.name, 'jetson-orin-nano')
  t.same(result.profile.capabilities, ['gpu', 'nvidia', 'cuda', 'tensorrt', 'gpio'])
  t.ok(result.reasons.includes("hardware model 'NVIDIA Jetson Orin Nano Developer Kit' matches /jetson orin nano/i"))
  t.equal(result.candidates.length, 9)
  t.same(Object.keys(result.candidates[0] ?? {}), ['name', 'matched', 'score', 'reasons', 'unmet'])
  t.equal((await run('match', '--inventory', file, '-o', 'json')).out, out, 'same input, same bytes')
})

t.test('match reads YAML inventories and honours --profile', async (t) => {
  const inventory = JSON.parse(await readFile(join(fixtures, 'x86-industrial-gateway.json'), 'utf8')) as unknown
  const dir = t.testdir({})
  const file = join(dir, 'ipc.yaml')
  await writeFile(file, stringify(inventory))
  t.match((await run('match', '--inventory', file)).out, /^profile: x86-industrial-gateway\n/)
  const forced = JSON.parse((await run('match', '--inventory', file, '--profile', 'generic-amd64', '-o', 'json')).out) as {
    profile: { name: string }
    reasons: string[]
  }
  t.equal(forced.profile.name, 'generic-amd64')
  t.equal(forced.reasons[0], "chosen by override 'generic-amd64'")
})

t.test('match without --inventory uses this machine', async (t) => {
  const result = JSON.parse((await run('match', '-o', 'json')).out) as { source: string; inventory: { arch: string }; profile: { match: { arch?: string[] } } }
  t.equal(result.source, 'this machine')
  t.equal(result.inventory.arch, 'amd64')
  t.ok(result.profile.match.arch?.includes('amd64'), 'an amd64 profile was chosen')
})

t.test('a bad inventory file fails with exit code 1 and says where', async (t) => {
  const dir = t.testdir({
    'bad.yaml': 'hostname: edge-1\narch: sparc\n',
    'not-yaml.json': '{ "hostname": ',
  })
  const bad = await failure(run('match', '--inventory', join(dir, 'bad.yaml')))
  t.ok(bad instanceof CliError)
  t.equal((bad as CliError).exitCode, 1)
  t.match((bad as CliError).message, `invalid inventory: ${join(dir, 'bad.yaml')}:2:7: arch: `)
  t.match((bad as CliError).message, /bad\.yaml:1:1: cpu: missing required field \(expected object\)/, 'missing fields point at the document')

  const broken = await failure(run('match', '--inventory', join(dir, 'not-yaml.json')))
  t.match(broken, { exitCode: 1, message: /not-yaml\.json:1:\d+: \(document\): YAML syntax/ })

  const missing = await failure(run('match', '--inventory', join(dir, 'absent.json')))
  t.match(missing, { exitCode: 1, message: /^cannot read inventory file .*absent\.json: ENOENT/ })
})

t.test('an unknown --profile is a usage error, an uncovered arch a failure', async (t) => {
  const pi4 = join(fixtures, 'raspberry-pi-4.json')
  t.match(await failure(run('match', '--inventory', pi4, '--profile', 'nope')), { exitCode: 2, message: /no firmware profile is named "nope"/ })
  const power9 = join(fixtures, 'unsupported-ppc64le-power9.json')
  t.match(await failure(run('match', '--inventory', power9)), { exitCode: 1, message: /no firmware profile fits this machine \(arch ppc64le\)/ })
})

t.test('a broken profile directory fails with exit code 1', async (t) => {
  const dir = t.testdir({ 'x.yaml': 'name: x\n' })
  t.match(await failure(run('list', '--profiles-dir', dir)), { exitCode: 1, message: /x\.yaml:1:1: description: missing required field \(expected string\)/ })
  t.match(await failure(run('list', '--profiles-dir', join(dir, 'missing'))), { exitCode: 1, message: /cannot load firmware profiles from/ })
})

t.test('every command has --help with examples, and bad options are usage errors', async (t) => {
  for (const args of [['--help'], ['list', '--help'], ['match', '--help']]) {
    let out = ''
    const io = { out: (text: string) => void (out += text), err: () => {} }
    const command = profilesCommand(io)
    const wire = (cmd: Command): void => {
      cmd.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err })
      cmd.commands.forEach(wire)
    }
    wire(command)
    const error = await failure(command.parseAsync(['node', 'profiles', ...args]))
    t.match(error, { code: 'commander.helpDisplayed' }, `${args.join(' ')} shows help`)
    t.match(out, /Examples:\n {2}\$ shoal profiles /, `${args.join(' ')} has examples`)
  }
  const bad = await failure(run('list', '-o', 'xml'))
  t.ok(bad instanceof CommanderError, 'commander reports the bad choice')
  t.match(bad, { code: 'commander.invalidArgument' })
})
