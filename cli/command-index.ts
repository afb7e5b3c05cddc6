import type { Command } from 'commander'
import type { CliIo } from './io.js'

/**
 * Every top-level command, described without loading it: its name, the term and description
 * `shoal --help` lists, and how to load the module that defines it (options, help, action).
 * The CLI loads only the command it runs, so `shoal --version` or `shoal get nodes` does not pay
 * for the hub server, the agent or every schema. test/unit/command-index.test.ts checks each
 * entry against the command its module builds.
 */
export interface CommandEntry {
  readonly name: string
  /** As commander lists it: name, `[options]` when it has any, its arguments. */
  readonly term: string
  readonly description: string
  readonly load: (io: CliIo) => Promise<Command>
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'validate',
    term: 'validate [options] <files...>',
    description: 'check manifest files (YAML or JSON, one or many documents each) without contacting the hub',
    load: async (io) => (await import('./commands/validate.js')).validateCommand(io),
  },
  {
    name: 'schema',
    term: 'schema [name]',
    description: 'print the JSON Schema of a manifest kind or protocol message, generated from the schemas Shoal validates with',
    load: async (io) => (await import('./commands/schema.js')).schemaCommand(io),
  },
  {
    name: 'convert',
    term: 'convert [options]',
    description: 'print Shoal Deployment manifests for a Docker Compose file, and list what could not be mapped',
    load: async (io) => (await import('./commands/convert.js')).convertCommand(io),
  },
  {
    name: 'profiles',
    term: 'profiles',
    description: 'list firmware profiles and show which one a machine matches',
    load: async (io) => (await import('./commands/profiles.js')).profilesCommand(io),
  },
  {
    name: 'agent',
    term: 'agent',
    description: 'run the node agent, or inspect its local state',
    load: async (io) => (await import('./commands/agent.js')).agentCommand(io),
  },
  {
    name: 'hub',
    term: 'hub',
    description: 'run the hub (control plane) or manage its data',
    load: async (io) => (await import('./commands/hub.js')).hubCommand(io),
  },
  {
    name: 'logs',
    term: 'logs [options] <name>',
    description: "print a deployment's or a job's container logs, read on demand from the nodes it runs on",
    load: async (io) => (await import('./commands/logs.js')).logsCommand(io),
  },
  {
    name: 'exec',
    term: 'exec [options] <deployment> <command...>',
    description: "run a command in a deployment's container on its node, through the hub (no inbound port on the node)",
    load: async (io) => (await import('./commands/exec.js')).execCommand(io),
  },
  {
    name: 'port-forward',
    term: 'port-forward [options] <target> <ports>',
    description: "forward a local port to a port in a deployment's container or on a node, through the hub (no inbound port on the node)",
    load: async (io) => (await import('./commands/port-forward.js')).portForwardCommand(io),
  },
  {
    name: 'cp',
    term: 'cp [options] <source> <destination>',
    description: "copy files and directories between this machine and a deployment's container, through the hub",
    load: async (io) => (await import('./commands/cp.js')).cpCommand(io),
  },
  {
    name: 'login',
    term: 'login [options] <url>',
    description: 'check a hub URL and admin token, and save them as the current context',
    load: async (io) => (await import('./commands/login.js')).loginCommand(io),
  },
  {
    name: 'context',
    term: 'context',
    description: 'list the saved hub contexts, or switch the current one',
    load: async (io) => (await import('./commands/context.js')).contextCommand(io),
  },
  {
    name: 'apply',
    term: 'apply [options]',
    description: 'create or update deployments, jobs, cron jobs, configs and secrets from manifest files; --dry-run shows where they would be placed',
    load: async (io) => (await import('./commands/apply.js')).applyCommand(io),
  },
  {
    name: 'diff',
    term: 'diff [options]',
    description: 'show what shoal apply -f would change against the live deployments, whether it makes a new revision, and where copies would run',
    load: async (io) => (await import('./commands/diff.js')).diffCommand(io),
  },
  {
    name: 'create',
    term: 'create',
    description:
      'create a config or secret from literal values and files, like kubectl create configmap|secret; or run a cron job now (create job NAME --from cronjob/CRON)',
    load: async (io) => (await import('./commands/create.js')).createCommand(io),
  },
  {
    name: 'delete',
    term: 'delete [options] <kind> <name>',
    description:
      'delete a deployment or a job (its containers are stopped and removed on every node, a job with its records), a cron job (its nodes stop firing it; a run under way is stopped), or a config or secret no deployment uses',
    load: async (io) => (await import('./commands/delete.js')).deleteCommand(io),
  },
  {
    name: 'get',
    term: 'get [options] <resource> [name]',
    description: 'list nodes, deployments, jobs, cron jobs, events, configs, secrets, alerts or remote sessions',
    load: async (io) => (await import('./commands/get.js')).getCommand(io),
  },
  {
    name: 'describe',
    term: 'describe [options] <kind> <name>',
    description:
      "show a node, deployment, job, cron job, config or secret in detail: condition, labels, inventory, workloads, events, why anything is pending; which version each copy runs; a job's copies with their exit codes, times and reasons; per node, when a cron job fires next and how its runs ended",
    load: async (io) => (await import('./commands/describe.js')).describeCommand(io),
  },
  {
    name: 'rollout',
    term: 'rollout',
    description: 'follow and steer the rollout of a deployment: status, history, pause, resume, promote, undo, restart',
    load: async (io) => (await import('./commands/rollout.js')).rolloutCommand(io),
  },
  {
    name: 'label',
    term: 'label [options] <kind> <name> <changes...>',
    description: 'set (key=value) or remove (key-) labels on a node',
    load: async (io) => (await import('./commands/label.js')).labelCommand(io),
  },
  {
    name: 'cordon',
    term: 'cordon [options] <node>',
    description: 'mark a node unschedulable: it keeps what it runs but takes nothing new',
    load: async (io) => (await import('./commands/cordon.js')).cordonCommand(io),
  },
  {
    name: 'uncordon',
    term: 'uncordon [options] <node>',
    description: 'let a cordoned node take new workloads again',
    load: async (io) => (await import('./commands/cordon.js')).uncordonCommand(io),
  },
  {
    name: 'drain',
    term: 'drain [options] <node>',
    description: 'cordon a node and move its replicated workloads to other nodes (every-node workloads stay)',
    load: async (io) => (await import('./commands/cordon.js')).drainCommand(io),
  },
  {
    name: 'alerts',
    term: 'alerts',
    description: 'acknowledge alerts (list them with shoal get alerts)',
    load: async (io) => (await import('./commands/alerts.js')).alertsCommand(io),
  },
  {
    name: 'token',
    term: 'token',
    description: 'manage join tokens that enroll new nodes',
    load: async (io) => (await import('./commands/token.js')).tokenCommand(io),
  },
  {
    name: 'top',
    term: 'top [options] <resource>',
    description: "show CPU, memory and disk use of nodes and this month's bytes against their budgets, from their latest heartbeats",
    load: async (io) => (await import('./commands/top.js')).topCommand(io),
  },
  {
    name: 'completion',
    term: 'completion <shell>',
    description: 'print a shell completion script (bash or zsh)',
    load: async (io) => (await import('./commands/completion.js')).completionCommand(io),
  },
]

/** The command an argument list runs (`shoal help X` shows X's help), if it names one. */
export function commandNamed(argv: readonly string[]): CommandEntry | undefined {
  const words = argv.filter((arg) => !arg.startsWith('-'))
  const name = words[0] === 'help' ? words[1] : words[0]
  return COMMANDS.find((entry) => entry.name === name)
}
