import type { Command } from 'commander'
import { DEFAULT_ALERT_SETTINGS, type AlertSettings } from '../hub/alerts/alert-rules.js'
import { durationMs } from '../protocol/index.js'
import { CliError, ExitCode } from './io.js'

/** The `hub serve` flags of the alert rules, as commander names them. */
export interface AlertOptions {
  readonly alertNodeOffline: string
  readonly alertDeploymentUnavailable: string
  readonly alertRolloutFailed: string
  readonly alertRolloutPaused: string
  readonly alertCrashLoop: string
  readonly alertDisk: string
  readonly alertMemory: string
}

const minutes = (ms: number | null): string => (ms === null ? 'off' : ms > 0 && ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`)
const percent = (value: number | null): string => (value === null ? 'off' : String(value))

/** Adds the alert rule flags, each defaulting to DEFAULT_ALERT_SETTINGS. */
export function addAlertOptions(command: Command): Command {
  const d = DEFAULT_ALERT_SETTINGS
  return command
    .option('--alert-node-offline <duration|off>', 'alert when a node has been offline this long', minutes(d.nodeOfflineMs))
    .option(
      '--alert-deployment-unavailable <duration|off>',
      'alert when a deployment has had fewer ready copies than desired this long',
      minutes(d.deploymentUnavailableMs),
    )
    .option('--alert-rollout-failed <duration|off>', 'alert when a rollout has been failed this long', minutes(d.rolloutFailedMs))
    .option(
      '--alert-rollout-paused <duration|off>',
      'alert when a rollout has been paused by an operator or awaiting promotion this long',
      minutes(d.rolloutPausedMs),
    )
    .option('--alert-crash-loop <duration|off>', 'alert when a copy has been in a crash loop this long', minutes(d.crashLoopMs))
    .option('--alert-disk <percent|off>', "alert when a node's latest heartbeat shows its disk at least this full", percent(d.diskPercent))
    .option('--alert-memory <percent|off>', "alert when a node's latest heartbeat shows its memory at least this used", percent(d.memoryPercent))
}

function duration(flag: string, text: string): number | null {
  if (text === 'off') return null
  let ms: number
  try {
    ms = durationMs(text)
  } catch {
    ms = Number.NaN
  }
  if (!(ms >= 0)) throw new CliError(`${flag}: expected a duration such as 0s, 90s or 5m, or off, got ${JSON.stringify(text)}`, ExitCode.usage)
  return ms
}

function share(flag: string, text: string): number | null {
  if (text === 'off') return null
  const value = Number(text.replace(/%$/, ''))
  if (!/^\d+(\.\d+)?%?$/.test(text) || !(value > 0 && value <= 100))
    throw new CliError(`${flag}: expected a percent above 0 and at most 100 such as 90, or off, got ${JSON.stringify(text)}`, ExitCode.usage)
  return value
}

/** The rules as the flags set them; a bad value is a usage error naming its flag. Pure. */
export function alertSettingsOf(options: AlertOptions): AlertSettings {
  return {
    nodeOfflineMs: duration('--alert-node-offline', options.alertNodeOffline),
    deploymentUnavailableMs: duration('--alert-deployment-unavailable', options.alertDeploymentUnavailable),
    rolloutFailedMs: duration('--alert-rollout-failed', options.alertRolloutFailed),
    rolloutPausedMs: duration('--alert-rollout-paused', options.alertRolloutPaused),
    crashLoopMs: duration('--alert-crash-loop', options.alertCrashLoop),
    diskPercent: share('--alert-disk', options.alertDisk),
    memoryPercent: share('--alert-memory', options.alertMemory),
  }
}
