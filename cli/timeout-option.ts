import { Option } from 'commander'
import { durationMs } from '../protocol/duration.js'
import { CliError, ExitCode } from './io.js'

/** `--timeout` of the verbs that can wait for rollouts (`apply --wait`, `rollout status`...). */
export function timeoutFlag(): Option {
  return new Option('--timeout <duration>', 'with --wait: how long to wait for the rollouts (90s, 10m, 1h)').default('10m')
}

export function timeoutOption(text: string): number {
  try {
    return durationMs(text)
  } catch {
    throw new CliError(`--timeout ${JSON.stringify(text)} is not a duration; write it as 90s, 10m or 1h30m`, ExitCode.usage)
  }
}
