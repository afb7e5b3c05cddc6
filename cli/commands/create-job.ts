import { Command, Option } from 'commander'
import { stringify as stringifyYaml } from 'yaml'
import { jobFromCronJob } from '../../protocol/job-from-cron-job.js'
import { HubRequestError, type AppliedManifest, type ApplyResponse, type HubClient } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { renderData } from '../output.js'
import { describeApplied } from './apply.js'
import { getCronJob } from './describe.js'

interface CreateJobOptions extends ConnectionOptions {
  from: string
  dryRun?: boolean
  output?: 'yaml' | 'json'
}

/** `cronjob/NAME` (or `cronjobs/`, `cj/`): the only source a Job is made from here. */
function cronJobName(from: string): string {
  const match = /^(?:cronjobs?|cj)\/(.+)$/.exec(from)
  if (!match?.[1]) throw new CliError(`--from ${JSON.stringify(from)}: give the cron job as cronjob/NAME`, ExitCode.usage)
  return match[1]
}

/** `shoal create job NAME --from cronjob/CRON`: a cron job's run now, on each node it runs on. */
export function createJobCommand(io: CliIo, env: NodeJS.ProcessEnv): Command {
  return addConnectionOptions(
    new Command('job')
      .description("run a cron job now: a Job from its run template, once on each node the cron job's placement matches")
      .argument('<name>', "the new job's name (at most 40 characters)")
      .requiredOption('--from <cronjob/NAME>', 'the cron job whose run template the job runs')
      .option('--dry-run', 'print the Job manifest instead of applying it (YAML unless -o json)')
      .addOption(new Option('-o, --output <format>', "with --dry-run: the manifest as yaml or json; otherwise the hub's answer").choices(['yaml', 'json'])),
  )
    .addHelpText(
      'after',
      `
The job takes the cron job's jobTemplate (template, backoffLimit, activeDeadline) and its
selector and requires, with mode: every-node, and the label shoal.io/from-cronjob=<cron job>.
Its runs are the job's copies (shoal describe job NAME), not the cron job's: the schedule and
its history are untouched, and its concurrencyPolicy does not apply. Only cron jobs the hub
delivers can be named; a node's --static-dir cron jobs are the node's own.

Examples:
  $ shoal create job export-now --from cronjob/nightly-export
  $ shoal create job export-now --from cronjob/nightly-export --dry-run -o yaml > export-now.yaml`,
    )
    .action(async (name: string, options: CreateJobOptions) => {
      const cronName = cronJobName(options.from)
      const client = connect(options, env)
      const job = jobFromCronJob((await getCronJob(client, cronName)).manifest, name)
      if (options.dryRun) {
        io.out(options.output === 'json' ? `${JSON.stringify(job, null, 2)}\n` : stringifyYaml(job, { lineWidth: 0 }))
        return
      }
      await refuseExistingJob(client, name)
      const response = (await client.applyManifests(stringifyYaml(job, { lineWidth: 0 }), false)) as ApplyResponse
      if (options.output) io.out(renderData(options.output, response))
      else for (const result of response.results) io.out(describeApplied(result as AppliedManifest))
    })
}

/** `create` makes a new job, as kubectl's does: applying the same name again would be a no-op or a 409. */
async function refuseExistingJob(client: HubClient, name: string): Promise<void> {
  try {
    await client.getJob(name)
  } catch (error) {
    if (error instanceof HubRequestError && error.status === 404) return
    throw error
  }
  throw new CliError(`job ${JSON.stringify(name)} already exists; pick another name, or shoal delete job ${name} first`, ExitCode.failed)
}
