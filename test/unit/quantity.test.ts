import t from 'tap'
import { Duration } from '../../protocol/primitives.js'
import { CpuQuantity, MemoryQuantity, cpuMillis, durationMs, memoryBytes } from '../../protocol/quantity.js'

t.test('memory quantities in bytes', async (t) => {
  const cases: [string | number, number][] = [
    [0, 0],
    [134217728, 134217728],
    ['0', 0],
    ['512', 512],
    ['1k', 1000],
    ['1K', 1000],
    ['1Ki', 1024],
    ['128Mi', 128 * 1024 ** 2],
    ['500M', 500e6],
    ['1G', 1e9],
    ['1Gi', 1024 ** 3],
    ['1.5Gi', 1.5 * 1024 ** 3],
    ['2T', 2e12],
    ['1Ti', 1024 ** 4],
    ['0.5Ki', 512],
  ]
  for (const [quantity, bytes] of cases) {
    t.equal(memoryBytes(quantity), bytes, String(quantity))
    t.ok(MemoryQuantity.safeParse(quantity).success, `schema accepts ${quantity}`)
  }
})

t.test('memory quantities that are negative, unitless-fractional bytes, or in unknown units are refused', async (t) => {
  for (const quantity of [-1, 1.5, '-128Mi', '128MB', '128mi', '1 Gi', '', 'Gi', '1e9', '.5Gi']) {
    t.notOk(MemoryQuantity.safeParse(quantity).success, `schema refuses ${JSON.stringify(quantity)}`)
  }
  for (const quantity of ['-128Mi', '128MB', '', 'lots']) t.throws(() => memoryBytes(quantity), RangeError, quantity)
})

t.test('CPU quantities in millicores', async (t) => {
  const cases: [string | number, number][] = [
    [0.5, 500],
    [2, 2000],
    [0, 0],
    ['2', 2000],
    ['0.1', 100],
    ['500m', 500],
    ['1500m', 1500],
    ['0.25', 250],
    ['1.5m', 2],
  ]
  for (const [quantity, millis] of cases) {
    t.equal(cpuMillis(quantity), millis, String(quantity))
    t.ok(CpuQuantity.safeParse(quantity).success, `schema accepts ${quantity}`)
  }
})

t.test('CPU quantities that are negative or malformed are refused', async (t) => {
  for (const quantity of [-0.5, '-500m', '500 m', '500M', 'half', '']) {
    t.notOk(CpuQuantity.safeParse(quantity).success, `schema refuses ${JSON.stringify(quantity)}`)
  }
  for (const quantity of ['-500m', 'half', '']) t.throws(() => cpuMillis(quantity), RangeError, quantity)
})

t.test('durations in milliseconds', async (t) => {
  const cases: [string, number][] = [
    ['0s', 0],
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['5m5s', 305_000],
    ['1s500ms', 1500],
  ]
  for (const [duration, ms] of cases) {
    t.equal(durationMs(duration), ms, duration)
    t.ok(Duration.safeParse(duration).success, `schema accepts ${duration}`)
  }
})

t.test('the duration schema and durationMs refuse the same malformed strings', async (t) => {
  for (const duration of ['', '5', '5x', 's', '1h 30m', 'm5', '-5s', '5 minutes', '1.5h', '10S']) {
    t.notOk(Duration.safeParse(duration).success, `schema refuses ${JSON.stringify(duration)}`)
    t.throws(() => durationMs(duration), RangeError, `durationMs refuses ${JSON.stringify(duration)}`)
  }
})
