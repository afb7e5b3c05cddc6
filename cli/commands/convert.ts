import { readFile, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import path from 'node:path'
import { Command } from 'commander'
import { MAX_BYTES } from '../../protocol/codec.js'
import { convertCompose } from '../compose/convert.js'
import { formatNote } from '../compose/notes.js'
import { renderManifests } from '../compose/render.js'
import { ComposeReadError } from '../compose/source.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { STDIN_NAME } from '../manifest-sources.js'

export interface ConvertDeps {
  /** Reads all of standard input, for `-f -`. */
  readonly readStdin: () => Promise<string>
  /** Variables for `${NAME}` in the file, as docker compose takes them from its environment. */
  readonly variables: Readonly<Record<string, string | undefined>>
  readonly cwd: () => string
  readonly homeDir: () => string
}

const defaultDeps: ConvertDeps = { readStdin: () => readStream(process.stdin), variables: process.env, cwd: () => process.cwd(), homeDir: homedir }

/** `shoal convert -f docker-compose.yml`: a compose file's services as Deployment manifests, on stdout. */
export function convertCommand(io: CliIo, deps: ConvertDeps = defaultDeps): Command {
  return new Command('convert')
    .description('print Shoal Deployment manifests for a Docker Compose file, and list what could not be mapped')
    .requiredOption('-f, --file <file>', 'the compose file; - reads standard input (one file: several are not merged)', collect)
    .addHelpText(
      'after',
      `
Each service becomes one Deployment (replicas from deploy.replicas, default 1), printed as YAML
documents separated by ---, in the order of the file. Mapped: image, command, entrypoint,
environment, ports, network_mode, volumes (named volumes, bind mounts resolved against the
compose file's directory, tmpfs), tmpfs, devices, cap_add, cap_drop, privileged, user,
read_only, healthcheck, restart, logging (max-size, max-file), stop_grace_period,
stop_signal, deploy (replicas, mode, resources.limits, restart_policy, placement by node
label), mem_limit, cpus, labels and platform. \${VAR} and \${VAR:-default} take their
values from the environment, as docker compose does (.env files are not read).

A service that publishes ports and has no network_mode gets network: bridge, so the ports
are published (Shoal's default network is the host's). Everything that cannot be mapped
(env_file, depends_on, build, network_mode: service:NAME, ...) is listed on standard error as
FILE:LINE: services.NAME.KEY: not mapped (WHY), and repeated as comments above the manifest.

Exits 0 when it converted (even with keys not mapped), 1 when the file is not a compose file,
is not valid YAML, or no service could be converted. The output always passes shoal validate.

Examples:
  $ shoal convert -f docker-compose.yml > deploy.yaml && shoal apply -f deploy.yaml
  $ shoal convert -f docker-compose.yml 2>/dev/null | shoal apply -f -
  $ cat compose.yaml | shoal convert -f -`,
    )
    .action(async (options: { file: string[] }) => {
      const [given, ...more] = options.file
      if (given === undefined) throw new CliError('-f FILE is required', ExitCode.usage)
      if (more.length > 0)
        throw new CliError('one compose file at a time: several -f are not merged (docker compose config -f a -f b > merged.yml makes one)', ExitCode.usage)
      const stdin = given === '-'
      const file = stdin ? STDIN_NAME : given
      const text = stdin ? await readStdinText(io, deps) : await readComposeFile(given)
      const baseDir = stdin ? deps.cwd() : path.dirname(path.resolve(deps.cwd(), given))
      let result: ReturnType<typeof convertCompose>
      try {
        result = convertCompose(text, file, { baseDir, homeDir: deps.homeDir(), variables: deps.variables })
      } catch (error) {
        if (error instanceof ComposeReadError) throw new CliError(error.message, ExitCode.failed)
        throw error
      }
      for (const note of result.notes) io.err(`${formatNote(note, file)}\n`)
      if (result.deployments.length === 0) throw new CliError(`${file}: no service could be converted (see above)`, ExitCode.failed)
      io.out(renderManifests(result, file))
      const unmapped = result.notes.filter((note) => note.kind === 'not-mapped').length
      const count = result.deployments.length
      io.err(
        `converted ${count} ${count === 1 ? 'service' : 'services'} to ${count === 1 ? 'a Deployment' : 'Deployments'}${unmapped > 0 ? `; ${unmapped} not mapped (listed above)` : ''}\n`,
      )
    })
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

async function readComposeFile(file: string): Promise<string> {
  try {
    const info = await stat(file)
    if (info.isDirectory()) throw new CliError(`${file}: is a directory; give the compose file itself`, ExitCode.failed)
    if (info.size > MAX_BYTES.manifest) throw new CliError(`${file}: ${info.size} bytes is over the ${MAX_BYTES.manifest}-byte limit`, ExitCode.failed)
    return await readFile(file, 'utf8')
  } catch (error) {
    if (error instanceof CliError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new CliError(`${file}: cannot read: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, ExitCode.failed)
  }
}

async function readStdinText(io: CliIo, deps: ConvertDeps): Promise<string> {
  if (process.stdin.isTTY && deps === defaultDeps) io.err('reading a compose file from standard input (end with Ctrl-D)\n')
  const text = await deps.readStdin()
  if (Buffer.byteLength(text) > MAX_BYTES.manifest) throw new CliError(`${STDIN_NAME}: over the ${MAX_BYTES.manifest}-byte limit`, ExitCode.failed)
  return text
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString('utf8')
}
