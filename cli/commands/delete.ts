import { Command } from 'commander'
import { HubRequestError } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'

/** `shoal delete deployment NAME`: the hub stops its copies on every node. */
export function deleteCommand(io: CliIo, env: NodeJS.ProcessEnv = process.env): Command {
  return addConnectionOptions(
    new Command('delete')
      .description('delete a deployment; its containers are stopped and removed on every node')
      .argument('<kind>', 'deployment')
      .argument('<name>', 'the deployment name'),
  )
    .addHelpText('after', '\nExample:\n  $ shoal delete deployment ticker-ingest\n')
    .action(async (kind: string, name: string, options: ConnectionOptions) => {
      if (!['deployment', 'deployments', 'deploy'].includes(kind.toLowerCase())) {
        throw new CliError(`cannot delete ${JSON.stringify(kind)}; only deployments can be deleted (shoal delete deployment NAME)`, ExitCode.usage)
      }
      const client = connect(options, env)
      try {
        await client.deleteDeployment(name)
      } catch (error) {
        if (error instanceof HubRequestError && error.status === 404)
          throw new CliError(`deployment ${JSON.stringify(name)} not found; list deployments with shoal get deployments`, ExitCode.failed)
        throw error
      }
      io.out(`deployment/${name} deleted\n`)
    })
}
