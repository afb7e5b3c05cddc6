import { readFile } from 'node:fs/promises'
import { Command, Option } from 'commander'
import { collectInventory } from '../../agent/inventory.js'
import { InvalidDocumentError, loadProfiles } from '../../firmware-profiles/catalog.js'
import { parseYamlDocument } from '../../firmware-profiles/yaml-document.js'
import { matchProfile, NoMatchingProfileError, UnknownProfileError, type ProfileChoice } from '../../firmware-profiles/matcher.js'
import type { FirmwareProfile } from '../../firmware-profiles/schema.js'
import { Inventory } from '../../protocol/inventory.js'
import { CliError, ExitCode, type CliIo } from '../io.js'

type OutputFormat = 'table' | 'json'

const outputOption = (): Option => new Option('-o, --output <format>', 'output format').choices(['table', 'json'] satisfies OutputFormat[]).default('table')
const dirOption = (): Option => new Option('--profiles-dir <dir>', 'load profiles from this directory instead of the shipped ones')

/** `shoal profiles list|match`: shows the firmware profile catalog and which profile a machine gets. */
export function profilesCommand(io: CliIo): Command {
  const profiles = new Command('profiles').description('list firmware profiles and show which one a machine matches').addHelpText(
    'after',
    `
Examples:
  $ shoal profiles list
  $ shoal profiles match                          # this machine
  $ shoal profiles match --inventory pi4.json -o json`,
  )

  profiles.addCommand(
    new Command('list')
      .description('list the firmware profiles in the catalog')
      .addOption(outputOption())
      .addOption(dirOption())
      .addHelpText(
        'after',
        `
Examples:
  $ shoal profiles list
  $ shoal profiles list -o json | jq '.[].name'
  $ shoal profiles list --profiles-dir ./my-profiles`,
      )
      .action(async (options: { output: OutputFormat; profilesDir?: string }) => {
        const catalog = await loadCatalog(options.profilesDir)
        io.out(options.output === 'json' ? json(catalog) : listTable(catalog))
      }),
  )

  profiles.addCommand(
    new Command('match')
      .description('show which firmware profile a machine gets, and why')
      .option('--inventory <file>', "inventory of another machine, as JSON or YAML (default: collect this machine's)")
      .option('--profile <name>', 'force this profile, as an agent started with an override would')
      .addOption(outputOption())
      .addOption(dirOption())
      .addHelpText(
        'after',
        `
Examples:
  $ shoal profiles match
  $ shoal profiles match --inventory node-17-inventory.yaml
  $ shoal profiles match --inventory pi4.json --profile generic-arm64 -o json`,
      )
      .action(async (options: { inventory?: string; profile?: string; output: OutputFormat; profilesDir?: string }) => {
        const catalog = await loadCatalog(options.profilesDir)
        const inventory = options.inventory === undefined ? await thisMachine() : await readInventory(options.inventory)
        const choice = choose(inventory, catalog, options.profile)
        const source = options.inventory ?? 'this machine'
        io.out(
          options.output === 'json'
            ? json({ source, inventory, profile: choice.profile, reasons: choice.reasons, candidates: choice.candidates })
            : matchText(source, inventory, choice, options.profile !== undefined),
        )
      }),
  )
  return profiles
}

async function loadCatalog(dir: string | undefined): Promise<FirmwareProfile[]> {
  try {
    return await loadProfiles(dir)
  } catch (error) {
    throw new CliError(messageOf(error), ExitCode.failed)
  }
}

async function thisMachine(): Promise<Inventory> {
  try {
    return await collectInventory()
  } catch (error) {
    throw new CliError(`cannot collect this machine's inventory: ${messageOf(error)}; pass --inventory FILE instead`, ExitCode.failed)
  }
}

async function readInventory(file: string): Promise<Inventory> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new CliError(`cannot read inventory file ${file}: ${messageOf(error)}`, ExitCode.failed)
  }
  try {
    return parseYamlDocument(Inventory, text, file, 'inventory')
  } catch (error) {
    if (error instanceof InvalidDocumentError) throw new CliError(error.message, ExitCode.failed)
    throw error
  }
}

function choose(inventory: Inventory, catalog: readonly FirmwareProfile[], override: string | undefined): ProfileChoice {
  try {
    return matchProfile(inventory, catalog, override)
  } catch (error) {
    if (error instanceof UnknownProfileError) throw new CliError(error.message, ExitCode.usage)
    if (error instanceof NoMatchingProfileError) throw new CliError(error.message, ExitCode.failed)
    throw error
  }
}

function listTable(catalog: readonly FirmwareProfile[]): string {
  return table([['NAME', 'ARCH', 'DESCRIPTION'], ...catalog.map((profile) => [profile.name, profile.match.arch?.join(',') ?? 'any', profile.description])])
}

function matchText(source: string, inventory: Inventory, choice: ProfileChoice, overridden: boolean): string {
  const machine = [inventory.arch, inventory.hardware.model ?? inventory.cpu.model].join(', ')
  const lines = [
    `profile: ${choice.profile.name}`,
    `  ${choice.profile.description}`,
    `machine: ${inventory.hostname} (${machine}) from ${source}`,
    'why:',
    ...choice.reasons.map((reason) => `  - ${reason}`),
    'candidates:',
    ...table([
      ['NAME', 'MATCHED', 'SCORE', 'NOT CHOSEN BECAUSE'],
      ...choice.candidates.map((candidate) => [
        candidate.name,
        candidate.matched ? 'yes' : 'no',
        String(candidate.score),
        candidate.unmet[0] ?? (candidate.name === choice.profile.name ? '' : overridden ? 'not the override' : 'ranked lower'),
      ]),
    ])
      .trimEnd()
      .split('\n')
      .map((line) => `  ${line}`),
  ]
  return `${lines.join('\n')}\n`
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows.reduce<number[]>((max, row) => row.map((cell, i) => Math.max(max[i] ?? 0, cell.length)), [])
  const lines = rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  )
  return `${lines.join('\n')}\n`
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
