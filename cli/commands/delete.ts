import { Command } from 'commander'
import { HubRequestError, type ConfigObjectKind, type HubClient } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'

type Kind = 'deployment' | 'job' | 'cronjob' | ConfigObjectKind
const KINDS: Readonly<Record<string, Kind>> = {
  job: 'job',
  jobs: 'job',
  deployment: 'deployment',
  deployments: 'deployment',
  deploy: 'deployment',
  cronjob: 'cronjob',
  cronjobs: 'cronjob',
  cj: 'cronjob',
  config: 'Config',
  configs: 'Config',
  secret: 'Secret',
  secrets: 'Secret',
}

/**
 * `shoal delete deployment|job|cronjob|config|secret NAME`: a deployment's or job's copies stop on
 * every node; a cron job leaves its nodes' documents; a Config or Secret goes once nothing uses it.
 */
export function deleteCommand(io: CliIo, env: NodeJS.ProcessEnv = process.env): Command {
  return addConnectionOptions(
    new Command('delete')
      .description(
        'delete a deployment or a job (its containers are stopped and removed on every node, a job with its records), a cron job (its nodes stop firing it; a run under way is stopped), or a config or secret no deployment uses',
      )
      .argument('<kind>', 'deployment, job, cronjob, config or secret')
      .argument('<name>', 'its name'),
  )
    .addHelpText(
      'after',
      `
The hub refuses to delete a config or secret that a deployment still refers to; change or
delete those deployments first (shoal describe secret NAME lists them).

Examples:
  $ shoal delete deployment ticker-ingest
  $ shoal delete job nightly-export       (stops its running copies; forgets its runs)
  $ shoal delete cronjob nightly-export
  $ shoal delete secret old-broker-password
`,
    )
    .action(async (kindText: string, name: string, options: ConnectionOptions) => {
      const kind = KINDS[kindText.toLowerCase()]
      if (!kind)
        throw new CliError(
          `cannot delete ${JSON.stringify(kindText)}; only deployments, jobs, cron jobs, configs and secrets can be deleted (shoal delete deployment|job|cronjob|config|secret NAME)`,
          ExitCode.usage,
        )
      const client = connect(options, env)
      const label = kind === 'deployment' || kind === 'job' || kind === 'cronjob' ? kind : kind.toLowerCase()
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
  else if (kind === 'job') await client.deleteJob(name)
  else if (kind === 'cronjob') await client.deleteCronJob(name)
  else await client.deleteConfigObject(kind, name)
}
