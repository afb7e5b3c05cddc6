import { Argument, Command } from 'commander'
import { z } from 'zod'
import { ContainerTemplate } from '../../protocol/container-template.js'
import { DesiredDocument } from '../../protocol/desired.js'
import { EnrollmentRequest, EnrollmentResponse } from '../../protocol/enrollment.js'
import { Inventory } from '../../protocol/inventory.js'
import { LogChunk, LogRequest } from '../../protocol/logs.js'
import { CronJob } from '../../protocol/cron-job.js'
import { Job } from '../../protocol/job.js'
import { Deployment } from '../../protocol/manifest.js'
import { Ack, OutboxBatch } from '../../protocol/outbox.js'
import { Heartbeat, NodeEvent, NodeStatus, Presence } from '../../protocol/status.js'
import type { CliIo } from '../io.js'

interface SchemaEntry {
  readonly schema: z.ZodType
  readonly title: string
  readonly description: string
}

/** Every document Shoal reads, by the name `shoal schema NAME` takes. The zod schemas are the source. */
export const SCHEMAS = {
  deployment: { schema: Deployment, title: 'Shoal Deployment', description: 'a Deployment manifest, as `shoal validate` and `shoal apply` read it' },
  cronjob: {
    schema: CronJob,
    title: 'Shoal CronJob',
    description:
      "a CronJob manifest, as `shoal apply` sends it to the hub (its nodes, chosen by selector and requires, each fire it by themselves) and an agent's --static-dir runs it (without placement)",
  },
  job: {
    schema: Job,
    title: 'Shoal Job',
    description: 'a Job manifest (run-to-completion copies placed by the hub), as `shoal validate` and `shoal apply` read it',
  },
  'container-template': { schema: ContainerTemplate, title: 'Shoal container template', description: 'the container a deployment runs (spec.template)' },
  desired: { schema: DesiredDocument, title: 'Shoal node desired state', description: 'the signed per-node desired document, hub to agent' },
  'outbox-batch': { schema: OutboxBatch, title: 'Shoal outbox batch', description: 'status and event records from an agent outbox, agent to hub' },
  ack: { schema: Ack, title: 'Shoal outbox ack', description: 'cumulative acknowledgement of outbox records, hub to agent' },
  'node-status': { schema: NodeStatus, title: 'Shoal node status', description: 'a node status record body' },
  'node-event': { schema: NodeEvent, title: 'Shoal node event', description: 'a node event record body' },
  heartbeat: { schema: Heartbeat, title: 'Shoal heartbeat', description: 'periodic liveness and load, agent to hub' },
  presence: { schema: Presence, title: 'Shoal presence', description: 'retained online/offline message, agent (or its last will) to hub' },
  inventory: { schema: Inventory, title: 'Shoal node inventory', description: 'what an agent reports about its machine' },
  'enrollment-request': { schema: EnrollmentRequest, title: 'Shoal enrollment request', description: 'agent to hub, over HTTPS' },
  'enrollment-response': { schema: EnrollmentResponse, title: 'Shoal enrollment response', description: 'hub to agent, over HTTPS' },
  'log-request': { schema: LogRequest, title: 'Shoal log request', description: 'hub to agent' },
  'log-chunk': { schema: LogChunk, title: 'Shoal log chunk', description: 'agent to hub' },
} as const satisfies Record<string, SchemaEntry>
export type SchemaName = keyof typeof SCHEMAS

/**
 * The JSON Schema of what a receiver accepts (`io: 'input'`: fields with defaults are optional
 * and carry their default). Rules that span several fields are zod refinements, which JSON Schema
 * cannot express; the `$comment` says so, and `shoal validate` enforces them.
 */
export function jsonSchemaOf(name: SchemaName): Record<string, unknown> {
  const entry: SchemaEntry = SCHEMAS[name]
  const { $schema, ...body } = z.toJSONSchema(entry.schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' })
  return {
    $schema,
    title: entry.title,
    description: entry.description,
    $comment:
      'Generated from the zod schemas in protocol/ by `shoal schema`. Cross-field rules (for example replicas with mode every-node, exactly one health-check probe, values for In/NotIn) are checked by `shoal validate`.',
    ...body,
  }
}

/** `shoal schema [NAME]`: prints the JSON Schema of a manifest or protocol message. */
export function schemaCommand(io: CliIo): Command {
  return new Command('schema')
    .description('print the JSON Schema of a manifest kind or protocol message, generated from the schemas Shoal validates with')
    .addArgument(new Argument('[name]', 'which schema; without it, list them').choices(Object.keys(SCHEMAS)))
    .addHelpText(
      'after',
      `
Examples:
  $ shoal schema                               # list the names
  $ shoal schema deployment > deployment.schema.json
      then, for editors using the YAML language server, start a manifest with
      # yaml-language-server: $schema=./deployment.schema.json`,
    )
    .action((name: SchemaName | undefined) => {
      if (name === undefined) {
        const width = Math.max(...Object.keys(SCHEMAS).map((key) => key.length))
        io.out(
          `${Object.entries(SCHEMAS)
            .map(([key, entry]) => `${key.padEnd(width)}  ${entry.description}`)
            .join('\n')}\n`,
        )
        return
      }
      io.out(`${JSON.stringify(jsonSchemaOf(name), null, 2)}\n`)
    })
}
