import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { HubAuthError, HubClient } from '../api-client.js'
import { configPath, contextNameFor, normaliseHubUrl, readConfig, withContext, writeConfig } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'

interface LoginOptions {
  token?: string
  tokenFile?: string
  name?: string
}

/** `shoal login URL --token T`: checks the token against the hub, then saves it as the current context. */
export function loginCommand(io: CliIo, env: NodeJS.ProcessEnv = process.env): Command {
  return new Command('login')
    .description('check a hub URL and admin token, and save them as the current context')
    .argument('<url>', 'the hub API URL, e.g. http://hub.local:8080')
    .option('--token <token>', 'the admin token (the file admin-token in the hub data directory)')
    .option('--token-file <file>', 'read the admin token from this file instead (keeps it out of shell history)')
    .option('--name <context>', 'name of the context to save (default: host-port of the URL)')
    .addHelpText(
      'after',
      `
The context is saved in ${'$'}XDG_CONFIG_HOME/shoal/config.yaml (~/.config/shoal/config.yaml;
SHOAL_CONFIG overrides) with mode 0600, and becomes the current context.

Examples:
  $ shoal login http://hub.local:8080 --token "$(cat /var/lib/shoal-hub/admin-token)"
  $ shoal login https://hub.example.com --token-file ./admin-token --name prod`,
    )
    .action(async (url: string, options: LoginOptions) => {
      const hub = normaliseHubUrl(url, 'URL')
      const token = readToken(options)
      const name = options.name ?? contextNameFor(hub)
      if (!/^[A-Za-z0-9][-A-Za-z0-9_.]*$/.test(name))
        throw new CliError(`--name: ${JSON.stringify(name)} is not a usable context name; use letters, digits, "-", "_" and "."`, ExitCode.usage)
      const client = new HubClient({ hub, token, timeoutMs: 15_000 })
      const health = await client.health()
      try {
        await client.events({ limit: 1 }) // an authenticated call: proves the token
      } catch (error) {
        if (error instanceof HubAuthError)
          throw new CliError(`the hub at ${hub} refused this token; use its admin token (the file admin-token in the hub's data directory)`, ExitCode.failed)
        throw error
      }
      const path = configPath(env)
      writeConfig(path, withContext(readConfig(path), { name, hub, token }))
      io.out(`logged in to ${hub} (${health.transport} transport); context "${name}" saved in ${path} and now current\n`)
    })
}

function readToken(options: LoginOptions): string {
  if (options.token && options.tokenFile) throw new CliError('give --token or --token-file, not both', ExitCode.usage)
  if (options.tokenFile) {
    try {
      const text = readFileSync(options.tokenFile, 'utf8').trim()
      if (text === '') throw new CliError(`${options.tokenFile} is empty; it should hold the hub's admin token`, ExitCode.usage)
      return text
    } catch (error) {
      if (error instanceof CliError) throw error
      throw new CliError(`cannot read --token-file ${options.tokenFile}: ${(error as Error).message}`, ExitCode.usage)
    }
  }
  if (!options.token)
    throw new CliError('login needs the admin token: --token TOKEN or --token-file FILE (it is in the hub data directory, file admin-token)', ExitCode.usage)
  return options.token.trim()
}
