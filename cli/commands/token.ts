import { Command } from 'commander'
import { Duration } from '../../protocol/index.js'
import { HubRequestError, type TokenRequest } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { formatLabels, outputOption, renderData, renderFields, type OutputFormat } from '../output.js'
import { formatAge, renderTable } from '../table.js'
import { parseLabelChanges } from './label.js'

interface CreateOptions extends ConnectionOptions {
  ttl?: string
  maxUses?: string
  labels?: string
  quiet?: boolean
  output: OutputFormat
}

interface ListOptions extends ConnectionOptions {
  output: OutputFormat
}

/** `shoal token create|list|revoke`: join tokens that enroll nodes (expiring, limited, labelling). */
export function tokenCommand(io: CliIo, env: NodeJS.ProcessEnv = process.env): Command {
  const token = new Command('token').description('manage join tokens that enroll new nodes')
  addConnectionOptions(
    token
      .command('create')
      .description('create a join token for enrolling nodes')
      .option('--ttl <duration>', 'expire after this long, e.g. 30m, 24h, 7d; 0 for never (default: 24h)')
      .option('--max-uses <n>', 'enroll at most this many nodes (default: unlimited)')
      .option('--labels <k=v,...>', 'labels every node enrolled with this token gets')
      .option('-q, --quiet', 'print only the token')
      .addOption(outputOption(['table', 'json', 'yaml'])),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ shoal token create --ttl 24h --max-uses 10 --labels site=factory-7
  $ TOKEN=$(shoal token create --ttl 1h --max-uses 1 -q)`,
    )
    .action(async (options: CreateOptions) => {
      const request: { -readonly [K in keyof TokenRequest]: TokenRequest[K] } = {}
      if (options.ttl !== undefined) {
        if (options.ttl !== '0' && !Duration.safeParse(options.ttl).success) {
          throw new CliError(`--ttl ${JSON.stringify(options.ttl)}: use a duration such as 30m, 24h or 7d, or 0 for a token that never expires`, ExitCode.usage)
        }
        request.ttl = options.ttl
      }
      if (options.maxUses !== undefined) {
        const uses = Number(options.maxUses)
        if (!Number.isInteger(uses) || uses < 1)
          throw new CliError(`--max-uses ${JSON.stringify(options.maxUses)}: use a whole number of at least 1`, ExitCode.usage)
        request.maxUses = uses
      }
      if (options.labels !== undefined) {
        const parts = options.labels
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== '')
        if (parts.some((p) => !p.includes('='))) throw new CliError('--labels: use key=value pairs separated by commas, e.g. site=a,tier=edge', ExitCode.usage)
        request.labels = parseLabelChanges(parts) as Record<string, string>
      }
      const client = connect(options, env)
      const created = await client.createToken(request)
      if (options.quiet) {
        io.out(`${created.token}\n`)
        return
      }
      if (options.output === 'json' || options.output === 'yaml') {
        io.out(renderData(options.output, created))
        return
      }
      io.out(
        renderFields([
          ['Token', created.token],
          ['ID', created.id],
          ['Expires', created.expiresAt ?? 'never'],
          ['Uses', created.maxUses === null ? 'unlimited' : `at most ${created.maxUses}`],
          ['Labels', formatLabels(created.labels)],
        ]),
      )
      io.err(`\nenroll a node with: shoal agent run --data-dir /var/lib/shoal --hub ${client.hub} --token ${created.token}\n`)
    })
  addConnectionOptions(
    token
      .command('list')
      .description('list join tokens: uses, uses left, expiry and labels (the secrets are not kept)')
      .addOption(outputOption(['table', 'json', 'yaml'])),
  )
    .addHelpText('after', '\nExample:\n  $ shoal token list\n')
    .action(async (options: ListOptions) => {
      const tokens = await connect(options, env).listTokens()
      if (options.output === 'json' || options.output === 'yaml') {
        io.out(renderData(options.output, { items: tokens }))
        return
      }
      if (tokens.length === 0) {
        io.err('no join tokens; make one with shoal token create\n')
        return
      }
      const now = Date.now()
      io.out(
        renderTable(
          ['ID', 'STATUS', 'USES', 'LEFT', 'EXPIRES', 'LABELS', 'AGE'],
          tokens.map((t) => [
            t.id,
            t.expired ? 'expired' : t.usesLeft === 0 ? 'used up' : 'usable',
            String(t.uses),
            t.usesLeft === null ? 'unlimited' : String(t.usesLeft),
            t.expiresAt ?? 'never',
            formatLabels(t.labels),
            formatAge(t.createdAt, now),
          ]),
        ),
      )
    })
  addConnectionOptions(
    token
      .command('revoke')
      .description('revoke a join token: it enrolls no more nodes (nodes it enrolled stay)')
      .argument('<id>', 'the token ID shown by shoal token list'),
  )
    .addHelpText('after', '\nExample:\n  $ shoal token revoke k3x9q2\n')
    .action(async (id: string, options: ConnectionOptions) => {
      const client = connect(options, env)
      try {
        await client.revokeToken(id)
      } catch (error) {
        if (error instanceof HubRequestError && error.status === 404)
          throw new CliError(`join token ${JSON.stringify(id)} not found; list them with shoal token list`)
        throw error
      }
      io.out(`token/${id} revoked\n`)
    })
  return token
}
