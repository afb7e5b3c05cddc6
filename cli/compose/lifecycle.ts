import { MAX_STOP_GRACE_MS, durationMs } from '../../protocol/index.js'
import { type ServiceContext, isRecord, scalarText, stringList } from './draft.js'
import { composeBytes, composeDuration, shoalBytes } from './units.js'

/** Docker's own health check timings, which compose uses when the file leaves them out (Shoal's defaults differ). */
const DOCKER_HEALTH_DEFAULTS = { interval: '30s', timeout: '30s' } as const

/**
 * `healthcheck:` → healthCheck.exec. `test` is ["CMD", ...] (run as is), ["CMD-SHELL", "..."] or a
 * string (run by /bin/sh -c, as Docker does), or ["NONE"]; `disable: true` sets none.
 */
export function mapHealthcheck(value: unknown, ctx: ServiceContext): void {
  if (!isRecord(value)) return ctx.notes.notMapped(['healthcheck'], 'must be a mapping with test')
  if (value.disable === true) {
    ctx.notes.notMapped(['healthcheck', 'disable'], "Shoal cannot switch off the image's own HEALTHCHECK; no healthCheck is set")
    return
  }
  const test = value.test
  let command: string[] | null = null
  if (typeof test === 'string') command = ['/bin/sh', '-c', test]
  else {
    const list = stringList(test)
    if (list?.[0] === 'NONE') {
      ctx.notes.notMapped(['healthcheck', 'test'], "Shoal cannot switch off the image's own HEALTHCHECK; no healthCheck is set")
      return
    }
    if (list?.[0] === 'CMD' && list.length > 1) command = list.slice(1)
    if (list?.[0] === 'CMD-SHELL' && list.length === 2) command = ['/bin/sh', '-c', list[1] as string]
  }
  if (command === null)
    return ctx.notes.notMapped(
      ['healthcheck', 'test'],
      test === undefined ? "no test: the image's HEALTHCHECK is used as it is" : 'must be a string, or a list starting with CMD or CMD-SHELL',
    )
  const check: Record<string, unknown> = { exec: { command } }
  for (const [key, field] of [
    ['interval', 'interval'],
    ['timeout', 'timeout'],
    ['start_period', 'startPeriod'],
  ] as const) {
    const raw = value[key]
    if (raw === undefined) {
      if (key !== 'start_period') check[field] = DOCKER_HEALTH_DEFAULTS[key]
      continue
    }
    const duration = composeDuration(raw)
    if (duration === null) ctx.notes.notMapped(['healthcheck', key], `${JSON.stringify(raw)} is not a duration such as 30s`)
    else {
      check[field] = duration.value
      if (duration.rounded) ctx.notes.note(['healthcheck', key], `rounded up to ${duration.value}`)
    }
  }
  if (value.retries !== undefined) {
    const retries = Number(value.retries)
    if (!Number.isInteger(retries) || retries < 0) ctx.notes.notMapped(['healthcheck', 'retries'], 'must be a whole number')
    else {
      check.retries = Math.min(Math.max(retries, 1), 100)
      if (check.retries !== retries) ctx.notes.note(['healthcheck', 'retries'], `${retries} is outside Shoal's 1–100; ${check.retries} is used`)
    }
  }
  for (const key of Object.keys(value)) {
    if (!['test', 'interval', 'timeout', 'start_period', 'retries', 'disable'].includes(key))
      ctx.notes.notMapped(['healthcheck', key], 'Shoal has no such health check setting')
  }
  ctx.draft.template.healthCheck = check as typeof ctx.draft.template.healthCheck
}

const RESTART = { no: 'never', always: 'always', 'unless-stopped': 'always', 'on-failure': 'on-failure' } as const

/** `restart:` no | always | unless-stopped | on-failure[:N]. */
export function mapRestart(value: unknown, ctx: ServiceContext): void {
  const text = scalarText(value)
  // YAML 1.1 readers take an unquoted `no` as false; compose files write it both ways.
  const word = value === false ? 'no' : (text ?? '')
  const [policy = '', retries] = word.split(':')
  const mapped = Object.hasOwn(RESTART, policy) ? RESTART[policy as keyof typeof RESTART] : undefined
  if (mapped === undefined) return ctx.notes.notMapped(['restart'], `${JSON.stringify(value)}: must be no, always, unless-stopped or on-failure[:N]`)
  ctx.draft.template.restartPolicy = mapped
  if (policy === 'unless-stopped') ctx.notes.note(['restart'], "unless-stopped is Shoal's always (the agent runs it with Docker's unless-stopped)")
  if (retries !== undefined) ctx.notes.notMapped(['restart'], `at most ${retries} retries: Shoal restarts on failure with a backoff and no retry limit`)
}

/** `deploy.restart_policy.condition`: none | on-failure | any (used when `restart:` is absent, as compose does). */
export function mapRestartCondition(value: unknown, ctx: ServiceContext): void {
  if (!isRecord(value)) return ctx.notes.notMapped(['deploy', 'restart_policy'], 'must be a mapping with condition')
  const conditions = { none: 'never', 'on-failure': 'on-failure', any: 'always' } as const
  const condition = scalarText(value.condition) ?? 'any'
  const mapped = Object.hasOwn(conditions, condition) ? conditions[condition as keyof typeof conditions] : undefined
  if (mapped === undefined) ctx.notes.notMapped(['deploy', 'restart_policy', 'condition'], 'must be none, on-failure or any')
  else if (ctx.service.restart === undefined) ctx.draft.template.restartPolicy = mapped
  for (const key of Object.keys(value)) {
    if (key !== 'condition') ctx.notes.notMapped(['deploy', 'restart_policy', key], 'Shoal restarts with its own backoff (no delay, attempt limit or window)')
  }
}

/** `logging:` the json-file and local drivers' max-size and max-file → logs. */
export function mapLogging(value: unknown, ctx: ServiceContext): void {
  if (!isRecord(value)) return ctx.notes.notMapped(['logging'], 'must be a mapping')
  const driver = value.driver === undefined ? 'json-file' : scalarText(value.driver)
  if (driver !== 'json-file' && driver !== 'local') {
    ctx.notes.notMapped(['logging', 'driver'], `${driver}: the agent keeps logs with Docker's json-file driver, bounded by logs.maxSize and logs.maxFiles`)
    return
  }
  const options = isRecord(value.options) ? value.options : {}
  const logs: { maxSize?: string | number; maxFiles?: number } = {}
  for (const [key, option] of Object.entries(options)) {
    const at = ['logging', 'options', key]
    if (key === 'max-size') {
      const bytes = composeBytes(option, 1000)
      if (bytes === null || bytes === 0) ctx.notes.notMapped(at, `${JSON.stringify(option)} is not a size such as 10m`)
      else logs.maxSize = shoalBytes(bytes, 1000)
    } else if (key === 'max-file') {
      const files = Number(option)
      if (!Number.isInteger(files) || files < 1 || files > 100) ctx.notes.notMapped(at, 'must be a whole number from 1 to 100')
      else logs.maxFiles = files
    } else {
      ctx.notes.notMapped(at, 'Shoal sets the log size and file count only')
    }
  }
  if (logs.maxSize !== undefined || logs.maxFiles !== undefined) ctx.draft.template.logs = logs
}

/** `stop_grace_period:` a duration, at most Shoal's 10m. */
export function mapStopGracePeriod(value: unknown, ctx: ServiceContext): void {
  const duration = composeDuration(value)
  if (duration === null) return ctx.notes.notMapped(['stop_grace_period'], `${JSON.stringify(value)} is not a duration such as 30s`)
  if (duration.rounded) ctx.notes.note(['stop_grace_period'], `rounded up to ${duration.value}`)
  if (durationMs(duration.value) > MAX_STOP_GRACE_MS) {
    ctx.notes.notMapped(['stop_grace_period'], `${duration.value} is over Shoal's limit; 10m is used`)
    ctx.draft.template.stopGracePeriod = '10m'
    return
  }
  ctx.draft.template.stopGracePeriod = duration.value
}

/** `stop_signal:` a signal name or number. */
export function mapStopSignal(value: unknown, ctx: ServiceContext): void {
  const text = scalarText(value) ?? ''
  const signal = /^[A-Z]/.test(text) && !text.startsWith('SIG') ? `SIG${text}` : text
  if (!/^(SIG[A-Z0-9+-]+|[1-9][0-9]?)$/.test(signal)) return ctx.notes.notMapped(['stop_signal'], `${JSON.stringify(value)} is not a signal such as SIGINT`)
  ctx.draft.template.stopSignal = signal
}
