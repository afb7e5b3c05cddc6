import { Command } from 'commander'
import { HubRequestError, type AlertView } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { ageOf, renderCells, renderData, type Cell, type OutputFormat, type Terminal } from '../output.js'

/** What an alert is about, in one cell: deployment, node and workload where they apply. Pure. */
export function alertSubject(alert: Pick<AlertView, 'node' | 'deployment' | 'workload'>): string {
  const parts = [alert.deployment ? `deployment/${alert.deployment}` : null, alert.node ? `node/${alert.node}` : null]
  if (alert.workload && alert.workload !== alert.deployment) parts.push(`workload/${alert.workload}`)
  return parts.filter((p) => p !== null).join(' ') || '-'
}

/** `shoal get alerts`: the table, or the hub's objects for -o json|yaml, ids for -o name. */
export function renderAlerts(alerts: readonly AlertView[], view: { terminal: Terminal; format: OutputFormat; now: () => number }): string {
  if (view.format === 'json' || view.format === 'yaml') return renderData(view.format, { items: alerts })
  if (view.format === 'name') return alerts.map((a) => `${a.id}\n`).join('')
  const now = view.now()
  const wide = view.format === 'wide'
  const headers = ['ID', 'STATE', 'SEVERITY', 'RULE', 'SUBJECT', 'FIRED', 'ACKNOWLEDGED', 'MESSAGE', ...(wide ? ['FIRED AT', 'RESOLVED AT'] : [])]
  const rows = alerts.map((a): Cell[] => [
    String(a.id),
    { text: a.state, colour: a.state === 'firing' ? 'red' : 'green' },
    { text: a.severity, colour: a.severity === 'critical' ? 'red' : a.severity === 'warning' ? 'yellow' : null },
    a.rule,
    alertSubject(a),
    ageOf(a.firedAt, now),
    a.acknowledgedBy ? `by ${a.acknowledgedBy}` : 'no',
    a.message,
    ...(wide ? [a.firedAt, a.resolvedAt ?? '-'] : []),
  ])
  return renderCells(view.terminal, headers, rows)
}

/** `shoal alerts ack ID...|--all`: mark alerts seen; a resolved one then leaves the list. */
export function alertsCommand(io: CliIo, env: NodeJS.ProcessEnv = process.env): Command {
  const alerts = new Command('alerts').description('acknowledge alerts (list them with shoal get alerts)')
  alerts.addCommand(
    addConnectionOptions(
      new Command('ack')
        .description('acknowledge alerts: a resolved one leaves the list, a firing one stays until its condition clears')
        .argument('[ids...]', 'alert ids, as shoal get alerts shows them')
        .option('--all', 'every alert nobody acknowledged yet'),
    )
      .addHelpText('after', '\nExamples:\n  $ shoal alerts ack 12 13\n  $ shoal alerts ack --all\n')
      .action(async (ids: string[], options: ConnectionOptions & { all?: boolean }) => {
        if (options.all && ids.length > 0) throw new CliError('give alert ids or --all, not both', ExitCode.usage)
        if (!options.all && ids.length === 0) throw new CliError('give the ids of the alerts to acknowledge (shoal get alerts), or --all', ExitCode.usage)
        const numbers = ids.map((text) => {
          if (!/^\d+$/.test(text) || Number(text) < 1) throw new CliError(`alert id ${JSON.stringify(text)} is not a whole number ≥ 1`, ExitCode.usage)
          return Number(text)
        })
        const client = connect(options, env)
        const targets = options.all ? (await client.listAlerts()).items.filter((a) => a.acknowledgedAt === null).map((a) => a.id) : numbers
        if (targets.length === 0) {
          io.err('no unacknowledged alerts\n')
          return
        }
        for (const id of targets) {
          let alert: AlertView
          try {
            alert = await client.acknowledgeAlert(id)
          } catch (error) {
            if (error instanceof HubRequestError && error.status === 404 && !error.hubMessage.startsWith('no such endpoint'))
              throw new CliError(`alert ${id} not found; list alerts with shoal get alerts`, ExitCode.failed)
            throw error
          }
          io.out(`alert/${alert.id} acknowledged (${alert.state}: ${alert.message})\n`)
        }
      }),
  )
  return alerts
}
