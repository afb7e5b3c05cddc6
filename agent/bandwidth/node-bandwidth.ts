import type { Logger } from 'pino'
import type { BandwidthRules, DesiredDocument, TrafficUsage } from '../../protocol/index.js'
import type { Clock } from '../../common/clock.js'
import { effectiveRules } from './bandwidth-rules.js'
import type { PullRules } from './pull-decision.js'
import { TrafficMeter, type TrafficStore } from './traffic-meter.js'
import { TrafficReports } from './traffic-report.js'

/** What the reconciler and the heartbeat need of the node's bandwidth: its meter, zone and rules now. */
export interface NodeBandwidthView {
  readonly meter: TrafficMeter
  readonly zone: string
  /** Resolved at each call: a new document may bring other rules or another link. */
  rules(): PullRules
  /** This month's bytes against the budget in force. */
  usage(): TrafficUsage
  /** The same for the next heartbeat, when it moved enough to be news (traffic-report.ts); else undefined. */
  report(): TrafficUsage | undefined
}

export interface NodeBandwidthOptions {
  readonly store: TrafficStore & { desired(): { readonly document: DesiredDocument } | null }
  readonly clock: Clock
  readonly zone: string
  readonly logger: Logger
  /** The firmware profile's `agent.bandwidth`. */
  readonly profile: BandwidthRules | undefined
  /** The agent's own --label values (its `link` when the hub sends none). */
  readonly localLabels: Readonly<Record<string, string>>
}

/** Wiring: the meter on the agent's store, and the rules from the profile and the stored document. */
export function nodeBandwidth({ store, clock, zone, logger, profile, localLabels }: NodeBandwidthOptions): NodeBandwidthView {
  const meter = new TrafficMeter({ store, clock, zone, logger: logger.child({ component: 'traffic' }) })
  const rules = (): PullRules => effectiveRules(profile, store.desired()?.document.bandwidth, localLabels)
  const usage = (): TrafficUsage => meter.usage(rules().budgetBytes)
  const reports = new TrafficReports()
  return { meter, zone, rules, usage, report: () => reports.next(usage(), clock.now()) }
}
