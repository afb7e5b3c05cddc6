import { Command } from 'commander'
import { HubRequestError, type ConfigObjectKind, type HubClient } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'

type Kind = 'deployment' | ConfigObjectKind
const KINDS: Readonly<Record<string, Kind>> = {
  deployment: 'deployment',
  deployments: 'deployment',
  deploy: 'deployment',
  config: 'Config',
  configs: 'Config',
  secret: 'Secret',
  secrets: 'Secret',
}

/** `shoal delete deployment|config|secret NAME`: a deployment's copies stop on every node; a Config or Secret goes once nothing uses it. */
export function deleteCommand(io: CliIo, env: NodeJS.ProcessEnv = process.env): Command {
  return addConnectionOptions(
    new Command('delete')
      .description('delete a deployment (its containers are stopped and removed on every node), or a config or secret no deployment uses')
      .argument('<kind>', 'deployment, config or secret')
      .argument('<name>', 'its name'),
  )
    .addHelpText(
      'after',
      `
The hub refuses to delete a config or secret that a deployment still refers to; change or
delete those deployments first (shoal describe secret NAME lists them).

Examples:
  $ shoal delete deployment ticker-ingest
  $ shoal delete secret old-broker-password
`,
    )
    .action(async (kindText: string, name: string, options: ConnectionOptions) => {
      const kind = KINDS[kindText.toLowerCase()]
      if (!kind)
        throw new CliError(
          `cannot delete ${JSON.stringify(kindText)}; only deployments, configs and secrets can be deleted (shoal delete deployment|config|secret NAME)`,
          ExitCode.usage,
        )
      const client = connect(options, env)
      const label = kind === 'deployment' ? 'deployment' : kind.toLowerCase()
      try {
        await remove(client, kind, name)
      } catch (error) {
        if (error instanceof HubRequestError && error.status === 404)
          throw new CliError(`${label} ${JSON.stringify(name)} not found; list ${label}s with shoal get ${label}s`, ExitCode.failed)
        throw error
      }
      io.out(`${label}/${name} deleted\n`)
    })
}

async function remove(client: HubClient, kind: Kind, name: string): Promise<void> {
  if (kind === 'deployment') await client.deleteDeployment(name)
  else await client.deleteConfigObject(kind, name)
}
