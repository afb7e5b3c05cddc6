import { readFile, stat } from 'node:fs/promises'
import { Command, Option } from 'commander'
import { stringify as stringifyYaml } from 'yaml'
import { HubRequestError, type AppliedManifest, type ApplyResponse, type ConfigObjectKind, type HubClient } from '../api-client.js'
import { buildConfigObject, checkFileSize, fileValue, parseFileSpec, parseLabels, parseLiteral, type DataEntry } from '../config-object-manifest.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { renderData } from '../output.js'
import { describeApplied } from './apply.js'
import { createJobCommand } from './create-job.js'

interface CreateOptions extends ConnectionOptions {
  fromLiteral?: string[]
  fromFile?: string[]
  label?: string[]
  dryRun?: boolean
  output?: 'yaml' | 'json'
}

export interface CreateDeps {
  readonly env: NodeJS.ProcessEnv
}

const defaultDeps: CreateDeps = { env: process.env }

const EXAMPLES: Readonly<Record<ConfigObjectKind, string>> = {
  Config: `
Examples:
  $ shoal create config line-settings --from-literal plc-address=10.0.4.2 --from-literal currency=EUR
  $ shoal create config camera --from-file calibration.json --label site=factory-7
  $ shoal create config camera --from-file cal=./calibration.json --dry-run -o yaml > camera.yaml`,
  Secret: `
Examples:
  $ shoal create secret broker --from-literal username=line7 --from-file password=./broker-password.txt
  $ shoal create secret registry --from-literal username=ci --from-literal password="$REGISTRY_TOKEN"
  $ shoal create secret api --from-file token=./token --dry-run -o yaml | shoal apply -f -   # change an existing one`,
}

/** `shoal create config|secret NAME`: a manifest from literals and files, applied (or printed with --dry-run); `shoal create job NAME --from cronjob/CRON`. */
export function createCommand(io: CliIo, deps: CreateDeps = defaultDeps): Command {
  return new Command('create')
    .description(
      'create a config or secret from literal values and files, like kubectl create configmap|secret; or run a cron job now (create job NAME --from cronjob/CRON)',
    )
    .addCommand(objectCommand('Config', io, deps))
    .addCommand(objectCommand('Secret', io, deps))
    .addCommand(createJobCommand(io, deps.env))
    .addHelpText(
      'after',
      `
Examples:
  $ shoal create config line-settings --from-literal plc-address=10.0.4.2
  $ shoal create secret broker --from-literal password=s3cret --dry-run -o yaml
  $ shoal create job export-now --from cronjob/nightly-export`,
    )
}

function objectCommand(kind: ConfigObjectKind, io: CliIo, deps: CreateDeps): Command {
  const noun = kind.toLowerCase()
  return addConnectionOptions(
    new Command(noun)
      .description(
        kind === 'Config'
          ? 'create a Config: settings and small files a workload reads as environment variables or files'
          : 'create a Secret: values sealed to each node that needs them and never shown once applied',
      )
      .argument('<name>', `the ${noun}'s name`)
      .option('--from-literal <key=value>', 'a key and its value (repeatable)', collect)
      .option('--from-file <[key=]path>', "a file's contents as a value; the key defaults to the file's name (repeatable)", collect)
      .option('--label <key=value>', `a label on the ${noun} (repeatable)`, collect)
      .option('--dry-run', 'print the manifest instead of applying it (YAML unless -o json)')
      .addOption(new Option('-o, --output <format>', "with --dry-run: the manifest as yaml or json; otherwise the hub's answer").choices(['yaml', 'json'])),
  )
    .addHelpText(
      'after',
      `
Keys are letters, digits, ".", "-" and "_" (a key is also a file name when mounted), each
given once; a ${kind} holds at most ${kind === 'Config' ? '128' : '32'} KiB in all, and its values are UTF-8 text.
An existing ${noun} is not changed: to change one, apply the manifest that --dry-run -o yaml
prints with shoal apply -f.
${kind === 'Secret' ? '\nWith --dry-run the values are printed (that is what was asked for); once applied, the hub,\nthe CLI and the console never show them again.\n' : ''}${EXAMPLES[kind]}`,
    )
    .action(async (name: string, options: CreateOptions) => {
      const manifest = buildConfigObject({ kind, name, entries: await readEntries(kind, options), labels: parseLabels(options.label ?? []) })
      if (options.dryRun) {
        io.out(options.output === 'json' ? `${JSON.stringify(manifest, null, 2)}\n` : stringifyYaml(manifest, { lineWidth: 0 }))
        return
      }
      const client = connect(options, deps.env)
      await refuseExisting(client, kind, name)
      const response = (await client.applyManifests(stringifyYaml(manifest, { lineWidth: 0 }), false)) as ApplyResponse
      if (options.output) io.out(renderData(options.output, response))
      else for (const result of response.results) io.out(describeApplied(result as AppliedManifest))
    })
}

/** Literals first, then files, each in the order given; a file is sized before it is read. */
async function readEntries(kind: ConfigObjectKind, options: CreateOptions): Promise<DataEntry[]> {
  const entries = (options.fromLiteral ?? []).map(parseLiteral)
  for (const text of options.fromFile ?? []) {
    const spec = parseFileSpec(text)
    let info
    try {
      info = await stat(spec.path)
    } catch {
      throw new CliError(`${spec.origin}: no such file`, ExitCode.usage)
    }
    if (!info.isFile()) throw new CliError(`${spec.origin}: not a regular file`, ExitCode.usage)
    checkFileSize(kind, spec.origin, info.size)
    let bytes: Buffer
    try {
      bytes = await readFile(spec.path)
    } catch (error) {
      throw new CliError(`${spec.origin}: cannot read: ${(error as Error).message}`, ExitCode.usage)
    }
    entries.push(fileValue(kind, spec, bytes))
  }
  return entries
}

/** `create` makes a new object, as kubectl's does; changing one is apply's work. */
async function refuseExisting(client: HubClient, kind: ConfigObjectKind, name: string): Promise<void> {
  try {
    await client.getConfigObject(kind, name)
  } catch (error) {
    if (error instanceof HubRequestError && error.status === 404) return
    throw error
  }
  const noun = kind.toLowerCase()
  throw new CliError(
    `${noun} ${JSON.stringify(name)} already exists; to change it, shoal create ${noun} ${name} ... --dry-run -o yaml | shoal apply -f -`,
    ExitCode.failed,
  )
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}
