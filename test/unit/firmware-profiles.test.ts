import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import {
  DuplicateProfileError,
  InvalidDocumentError,
  ProfileDirectoryError,
  defaultProfileDir,
  loadProfiles,
  PROFILE_CATALOG_FILE,
  writeProfileCatalog,
} from '../../firmware-profiles/catalog.js'
import { NoMatchingProfileError, RULE_WEIGHTS, UnknownProfileError, evaluateProfile, formatBytes, matchProfile } from '../../firmware-profiles/matcher.js'
import { FirmwareProfile, compilePattern } from '../../firmware-profiles/schema.js'
import { parseProfile } from '../../firmware-profiles/yaml-document.js'
import { Inventory } from '../../protocol/inventory.js'

const fixtureDir = fileURLToPath(new URL('../fixtures/inventories/', import.meta.url))

async function fixture(name: string): Promise<Inventory> {
  return Inventory.parse(JSON.parse(await readFile(join(fixtureDir, `${name}.json`), 'utf8')))
}

const SHIPPED = [
  'generic-amd64',
  'generic-arm',
  'generic-arm64',
  'generic-riscv64',
  'jetson-orin-nano',
  'raspberry-pi-4',
  'raspberry-pi-zero-2w',
  'x86-datacenter-gpu',
  'x86-industrial-gateway',
]

/** A profile that passes the schema, for tests that vary one field. */
const VALID_PROFILE_YAML = `name: test-board
description: a board for tests
match:
  arch: [arm64]
  models: [test board]
reserved:
  cpu: 250m
  memory: 256Mi
agent:
  heartbeatInterval: 15s
  statusBatchInterval: 5s
  outbox: { maxRecords: 1000, maxBytes: 8Mi }
  logRetention: { maxLines: 1000 }
  imageGc: { highPercent: 85, lowPercent: 70 }
  concurrentPulls: 1
  inventoryRefresh: 1h
`

t.test('every shipped profile loads and validates', async (t) => {
  const profiles = await loadProfiles()
  t.same(
    profiles.map((profile) => profile.name),
    SHIPPED,
    'the catalog holds exactly the shipped profiles, sorted by name',
  )
  for (const profile of profiles) {
    t.ok(FirmwareProfile.safeParse(profile).success, `${profile.name} is a valid FirmwareProfile`)
    t.ok(profile.description.length > 10, `${profile.name} has a description`)
    t.ok(profile.agent.imageGc.lowPercent < profile.agent.imageGc.highPercent, `${profile.name} gc thresholds are ordered`)
  }
  const yamlFiles = (await readdir(defaultProfileDir())).filter((file) => file.endsWith('.yaml'))
  t.equal(yamlFiles.length, SHIPPED.length, 'one YAML file per profile')
})

t.test('each device fixture picks its own profile, with reasons a person can read', async (t) => {
  const profiles = await loadProfiles()
  const cases: ReadonlyArray<{ fixture: string; profile: string; reasons: RegExp[] }> = [
    {
      fixture: 'raspberry-pi-4',
      profile: 'raspberry-pi-4',
      reasons: [
        /^arch arm64 is one of arm64, arm$/,
        /^hardware model 'Raspberry Pi 4 Model B Rev 1\.4' matches \/raspberry pi/,
        /^memory 3\.7 GiB within 1\.5 GiB–8 GiB$/,
      ],
    },
    {
      fixture: 'raspberry-pi-zero-2w',
      profile: 'raspberry-pi-zero-2w',
      reasons: [/^arch arm is one of arm, arm64$/, /'Raspberry Pi Zero 2 W Rev 1\.0' matches \/raspberry pi zero 2\/i/, /^memory 408 MiB is at most 1 GiB$/],
    },
    {
      fixture: 'jetson-orin-nano',
      profile: 'jetson-orin-nano',
      reasons: [/^arch arm64 matches$/, /'NVIDIA Jetson Orin Nano Developer Kit' matches \/jetson orin nano\/i/],
    },
    {
      fixture: 'x86-industrial-gateway',
      profile: 'x86-industrial-gateway',
      reasons: [/^arch amd64 matches$/, /^hardware model 'SIMATIC IPC227G' contains 'simatic ipc'$/, /^memory 7\.5 GiB within 1 GiB–16 GiB$/],
    },
    {
      fixture: 'x86-industrial-gateway-advantech',
      profile: 'x86-industrial-gateway',
      reasons: [/^hardware manufacturer 'Advantech' contains 'advantech'$/],
    },
    {
      fixture: 'x86-datacenter-gpu',
      profile: 'x86-datacenter-gpu',
      reasons: [/^memory 1007\.7 GiB is at least 64 GiB$/, /^GPU vendor 'NVIDIA Corporation' of 'GA100 \[A100 SXM4 80GB\]' contains 'nvidia' \(4 of 5 GPUs\)$/],
    },
  ]
  for (const c of cases) {
    const choice = matchProfile(await fixture(c.fixture), profiles)
    t.equal(choice.profile.name, c.profile, `${c.fixture} gets ${c.profile}`)
    for (const reason of c.reasons)
      t.ok(
        choice.reasons.some((r) => reason.test(r)),
        `${c.fixture}: a reason matches ${reason}`,
        { reasons: choice.reasons },
      )
    t.match(choice.reasons.at(-1), /^most specific of \d+ matching profiles: score \d+ beats generic-/, `${c.fixture}: says why it beat the generic profile`)
    t.equal(choice.candidates.length, profiles.length, 'every profile appears as a candidate')
    t.equal(choice.candidates[0]?.name, c.profile, 'the winner is the first candidate')
  }
})

t.test('unknown hardware falls back to the generic profile of its arch', async (t) => {
  const profiles = await loadProfiles()
  const cases = [
    ['generic-amd64-qemu-vm', 'generic-amd64'],
    ['generic-arm64-rock-5b', 'generic-arm64'],
    ['generic-arm-beaglebone-black', 'generic-arm'],
    ['generic-riscv64-visionfive-2', 'generic-riscv64'],
  ] as const
  for (const [name, expected] of cases) {
    const choice = matchProfile(await fixture(name), profiles)
    t.equal(choice.profile.name, expected, `${name} falls back to ${expected}`)
    t.equal(choice.reasons.at(-1), `the only matching profile (score ${RULE_WEIGHTS.arch})`)
    t.equal(choice.candidates.filter((candidate) => candidate.matched).length, 1, 'only the generic profile matched')
  }
})

t.test('near misses do not match, and say which rule failed', async (t) => {
  const profiles = await loadProfiles()
  const pi4 = await fixture('raspberry-pi-4')

  const pi5 = { ...pi4, hardware: { ...pi4.hardware, model: 'Raspberry Pi 5 Model B Rev 1.0' } }
  const pi5Choice = matchProfile(pi5, profiles)
  t.equal(pi5Choice.profile.name, 'generic-arm64', 'a Pi 5 is not a Pi 4')
  const pi4Candidate = pi5Choice.candidates.find((candidate) => candidate.name === 'raspberry-pi-4')
  t.equal(pi4Candidate?.matched, false)
  t.ok(pi4Candidate?.reasons.some((reason) => /^no model pattern \(\/raspberry pi .*\) matches hardware model 'Raspberry Pi 5 Model B Rev 1\.0'/.test(reason)))

  const pi4OnRaspbian32 = { ...pi4, arch: 'arm' as const }
  t.equal(matchProfile(pi4OnRaspbian32, profiles).profile.name, 'raspberry-pi-4', 'a Pi 4 running a 32-bit userland is still a Pi 4')
  const pi400 = { ...pi4, hardware: { model: 'Raspberry Pi 400 Rev 1.0' } }
  t.equal(matchProfile(pi400, profiles).profile.name, 'raspberry-pi-4', 'the Pi 400 is a Pi 4 in a keyboard')

  const oneGigPi4 = { ...pi4, memoryBytes: 926_000_000 }
  const small = evaluateProfile(oneGigPi4, profiles.find((profile) => profile.name === 'raspberry-pi-4')!)
  t.equal(small.matched, false, 'a 1 GB Pi 4 is outside the 2-8 GB range')
  t.ok(small.reasons.includes('memory 883.1 MiB is below the minimum 1.5 GiB'), 'says the memory is too small')

  const workstation = { ...(await fixture('x86-datacenter-gpu')), memoryBytes: 34_359_738_368 }
  t.equal(matchProfile(workstation, profiles).profile.name, 'generic-amd64', 'a 32 GiB box with a GPU is not a data-center GPU server')

  const noGpuServer = { ...(await fixture('x86-datacenter-gpu')), gpus: [] }
  const noGpu = evaluateProfile(noGpuServer, profiles.find((profile) => profile.name === 'x86-datacenter-gpu')!)
  t.equal(noGpu.matched, false)
  t.ok(noGpu.reasons.includes("no GPU vendor matches 'nvidia' (no GPUs found)"))
})

t.test('an arch no profile covers is a typed error naming the arch and the fix', async (t) => {
  const profiles = await loadProfiles()
  const power9 = await fixture('unsupported-ppc64le-power9')
  const error = t.throws(() => matchProfile(power9, profiles)) as unknown
  t.ok(error instanceof NoMatchingProfileError)
  if (!(error instanceof NoMatchingProfileError)) return
  t.equal(error.code, 'no-matching-profile')
  t.equal(error.arch, 'ppc64le')
  t.match(error.message, /match\.arch includes ppc64le \(for example generic-ppc64le\.yaml\)/)
  t.equal(error.candidates.length, profiles.length)
  t.ok(
    error.candidates.every((candidate) => !candidate.matched),
    'no candidate matched',
  )
  t.ok(error.candidates.find((candidate) => candidate.name === 'generic-amd64')?.reasons.includes('arch ppc64le is not amd64'))
  t.equal(matchProfile(power9, profiles, 'generic-amd64').profile.name, 'generic-amd64', 'an override still works on such a machine')
})

t.test('override picks the named profile, and rejects unknown names', async (t) => {
  const profiles = await loadProfiles()
  const pi4 = await fixture('raspberry-pi-4')

  const forced = matchProfile(pi4, profiles, 'generic-arm64')
  t.equal(forced.profile.name, 'generic-arm64')
  t.equal(forced.reasons[0], "chosen by override 'generic-arm64'")

  const mismatched = matchProfile(pi4, profiles, 'x86-datacenter-gpu')
  t.equal(mismatched.profile.name, 'x86-datacenter-gpu')
  t.equal(mismatched.reasons.at(-1), 'its match rules do not all hold for this machine; the override wins anyway')

  const error = t.throws(() => matchProfile(pi4, profiles, 'raspberry-pi-9')) as unknown
  t.ok(error instanceof UnknownProfileError)
  t.match((error as UnknownProfileError).message, /no firmware profile is named "raspberry-pi-9"; choose one of: generic-amd64, /)
  t.equal((error as UnknownProfileError).code, 'unknown-profile')
})

t.test('ties are broken by priority, then by name, whatever the load order', async (t) => {
  const base = parseProfile(VALID_PROFILE_YAML, 'base.yaml')
  const inventory = { ...(await fixture('generic-arm64-rock-5b')), hardware: { model: 'Test Board v2' } }
  const alpha = { ...base, name: 'alpha' }
  const beta = { ...base, name: 'beta' }
  t.equal(matchProfile(inventory, [beta, alpha]).profile.name, 'alpha', 'equal score and priority: name order')
  t.equal(matchProfile(inventory, [alpha, beta]).profile.name, 'alpha', 'same answer in the other order')
  t.match(matchProfile(inventory, [beta, alpha]).reasons.at(-1), /ties beta on score 9 and priority 0, wins on name order/)

  const preferred = { ...beta, priority: 10 }
  const choice = matchProfile(inventory, [alpha, preferred])
  t.equal(choice.profile.name, 'beta', 'higher priority wins a tie')
  t.match(choice.reasons.at(-1), /ties alpha on score 9, wins on priority 10 over 0/)

  const catchAll = { ...base, name: 'catch-all', priority: 1000, match: {} }
  t.equal(matchProfile(inventory, [catchAll, alpha]).profile.name, 'alpha', 'priority never beats specificity')
  t.same(evaluateProfile(inventory, catchAll).reasons, ['no match rules, so it fits any machine'])
})

t.test('patterns: substrings ignore case, regexes are checked when loaded', async (t) => {
  t.same(compilePattern('Advantech'), { kind: 'substring', source: 'Advantech', needle: 'advantech' })
  const regex = compilePattern('/^simatic ipc\\d+/i')
  t.equal(regex.kind, 'regex')
  t.throws(() => compilePattern('/(unclosed/i'), { code: 'invalid-pattern' })
  t.throws(() => compilePattern('/pi/g'), { code: 'invalid-pattern', message: /flags "g" are not allowed/ })
  t.equal(formatBytes(3975802880), '3.7 GiB')
  t.equal(formatBytes(8 * 1024 ** 3), '8 GiB')
  t.equal(formatBytes(2 * 1024 ** 4), '2 TiB')
  t.equal(formatBytes(1536), '1.5 KiB')
  t.equal(formatBytes(512), '512 B')
})

t.test('invalid profiles fail with file, field path and line:column', async (t) => {
  const cases: ReadonlyArray<{ name: string; yaml: string; problem: RegExp; path: string; line: number; column: number }> = [
    {
      name: 'unknown field',
      yaml: VALID_PROFILE_YAML.replace('  concurrentPulls: 1', '  concurrentPulls: 1\n  turbo: true'),
      path: 'agent.turbo',
      problem: /unknown field/,
      line: 16,
      column: 3,
    },
    {
      name: 'bad regex',
      yaml: VALID_PROFILE_YAML.replace('models: [test board]', 'models: [test board, "/(unclosed/i"]'),
      path: 'match.models[1]',
      problem: /invalid pattern "\/\(unclosed\/i"/,
      line: 5,
      column: 24,
    },
    {
      name: 'bad quantity',
      yaml: VALID_PROFILE_YAML.replace('memory: 256Mi', 'memory: 256MB'),
      path: 'reserved.memory',
      problem: /must be a non-negative memory quantity/,
      line: 8,
      column: 11,
    },
    {
      name: 'gc thresholds out of order',
      yaml: VALID_PROFILE_YAML.replace('highPercent: 85, lowPercent: 70', 'highPercent: 70, lowPercent: 85'),
      path: 'agent.imageGc.lowPercent',
      problem: /lowPercent must be below highPercent/,
      line: 14,
      column: 43,
    },
    {
      name: 'zero duration',
      yaml: VALID_PROFILE_YAML.replace('heartbeatInterval: 15s', 'heartbeatInterval: 0s'),
      path: 'agent.heartbeatInterval',
      problem: /must be longer than zero/,
      line: 10,
      column: 22,
    },
    {
      name: 'memory range upside down',
      yaml: VALID_PROFILE_YAML.replace('models: [test board]', 'models: [test board]\n  memory: { min: 8Gi, max: 1Gi }'),
      path: 'match.memory.max',
      problem: /min must not be larger than max/,
      line: 6,
      column: 28,
    },
    {
      name: 'missing required field',
      yaml: VALID_PROFILE_YAML.replace('  inventoryRefresh: 1h\n', ''),
      path: 'agent.inventoryRefresh',
      problem: /^missing required field \(expected string\)$/,
      line: 10,
      column: 3,
    },
    {
      name: 'YAML syntax error',
      yaml: VALID_PROFILE_YAML.replace('  arch: [arm64]', '  arch: [arm64'),
      path: '',
      problem: /YAML syntax: Flow sequence .* must .* end with a \]/,
      line: 5,
      column: 3,
    },
  ]
  for (const c of cases) {
    const dir = t.testdir({ 'good.yaml': VALID_PROFILE_YAML.replace('test-board', 'good-board'), 'bad.yaml': c.yaml })
    const error = await loadProfiles(dir).then(
      () => undefined,
      (reason: unknown) => reason,
    )
    t.ok(error instanceof InvalidDocumentError, `${c.name}: InvalidDocumentError`)
    if (!(error instanceof InvalidDocumentError)) continue
    t.equal(error.code, 'invalid-document')
    t.equal(error.file, join(dir, 'bad.yaml'), `${c.name}: names the file`)
    const problem = error.problems[0]
    t.equal(problem?.path, c.path, `${c.name}: names the field`)
    t.match(problem?.message, c.problem, `${c.name}: says what is wrong`)
    t.same([problem?.line, problem?.column], [c.line, c.column], `${c.name}: points at line:column`)
    t.ok(error.message.includes(`${join(dir, 'bad.yaml')}:${c.line}:${c.column}: ${c.path || '(document)'}: `), `${c.name}: message reads file:line:col: path`)
  }
})

t.test('documents that are not one YAML mapping are rejected with a clear problem', async (t) => {
  t.throws(() => parseProfile('', 'empty.yaml'), { code: 'invalid-document', problems: [{ path: '', message: /expected object, received null/ }] })
  t.throws(() => parseProfile('- 1\n- 2\n', 'list.yaml'), {
    code: 'invalid-document',
    problems: [{ path: '', line: 1, column: 1, message: /expected object, received array/ }],
  })
  t.throws(() => parseProfile('name: a\n---\nname: b\n', 'two.yaml'), {
    code: 'invalid-document',
    problems: [{ line: 2, column: 1, message: /one document; remove the "---" separator/ }],
  })
  t.throws(() => parseProfile('name: *nowhere\n', 'alias.yaml'), { code: 'invalid-document', message: /alias\.yaml: \(document\): .*alias/i })
  const many = VALID_PROFILE_YAML.replace('name: test-board', 'name: Test_Board')
    .replace('250m', '-1')
    .replace('256Mi', 'lots')
    .replace('15s', 'often')
    .replace('5s', 'soon')
    .replace('1h', 'hourly')
  const error = t.throws(() => parseProfile(many, 'many.yaml')) as InvalidDocumentError
  t.equal(error.problems.length, 6, 'every problem is collected, not just the first')
  t.match(error.message, /\(and 1 more\) — fix the file and try again$/, 'the message lists five and counts the rest')
})

t.test('duplicate names, empty and missing directories are errors', async (t) => {
  const dupDir = t.testdir({ 'a.yaml': VALID_PROFILE_YAML, 'b.yaml': VALID_PROFILE_YAML })
  await t.rejects(loadProfiles(dupDir), { code: 'duplicate-profile', profileName: 'test-board', files: [join(dupDir, 'a.yaml'), join(dupDir, 'b.yaml')] })
  await t.rejects(loadProfiles(dupDir), DuplicateProfileError)

  const emptyDir = t.testdir({ 'README.md': 'no profiles here' })
  await t.rejects(loadProfiles(emptyDir), { code: 'profile-directory', message: /holds no \*\.yaml profiles/ })
  await t.rejects(loadProfiles(join(emptyDir, 'missing')), ProfileDirectoryError)

  const okDir = t.testdir({ 'board.yaml': VALID_PROFILE_YAML, 'notes.txt': 'ignored' })
  const [loaded] = await loadProfiles(okDir)
  t.equal(loaded?.priority, 0, 'priority defaults to 0')
  t.same(loaded?.labels, {}, 'labels default to none')
  t.same(loaded?.capabilities, [], 'capabilities default to none')
  await writeFile(join(okDir, 'second.yaml'), VALID_PROFILE_YAML.replace('test-board', 'second-board'))
  t.same(
    (await loadProfiles(okDir)).map((profile) => profile.name),
    ['second-board', 'test-board'],
  )
})

t.test('a compiled catalog gives the same profiles as the YAML, and is ignored once the YAML changes', async (t) => {
  const shipped = defaultProfileDir()
  const files = (await readdir(shipped)).filter((file) => file.endsWith('.yaml'))
  const dir = t.testdir(Object.fromEntries(await Promise.all(files.map(async (file) => [file, await readFile(join(shipped, file), 'utf8')]))))
  const fromYaml = await loadProfiles(dir)
  await writeProfileCatalog(dir)
  const catalog = JSON.parse(await readFile(join(dir, PROFILE_CATALOG_FILE), 'utf8')) as { profiles: Array<{ file: string; value: unknown }> }
  t.same(
    catalog.profiles.map((entry) => entry.file),
    [...files].sort(),
    'one entry per YAML file',
  )
  t.same(await loadProfiles(dir), fromYaml, 'the same profiles, patterns compiled alike')

  // An edited YAML file no longer matches its hash: the YAML wins, so an edit is never hidden.
  const edited = files[0] ?? ''
  const text = await readFile(join(dir, edited), 'utf8')
  await writeFile(join(dir, edited), text.replace(/^description: .*$/m, 'description: edited after the build'))
  const reloaded = await loadProfiles(dir)
  t.ok(
    reloaded.some((profile) => profile.description === 'edited after the build'),
    'the stale catalog is ignored',
  )

  // A catalog whose hashes match but whose value is bad (hand-edited JSON) is refused by the schema, naming it.
  await writeFile(join(dir, edited), text)
  const broken = { profiles: catalog.profiles.map((entry) => (entry.file === edited ? { ...entry, value: { name: 'x' } } : entry)) }
  await writeFile(join(dir, PROFILE_CATALOG_FILE), JSON.stringify(broken))
  await t.rejects(loadProfiles(dir), { code: 'invalid-document', message: new RegExp(`${PROFILE_CATALOG_FILE} \\(compiled from ${edited}\\)`) })

  await writeFile(join(dir, PROFILE_CATALOG_FILE), '{ not json')
  t.same(await loadProfiles(dir), fromYaml, 'an unreadable catalog is ignored')
})
