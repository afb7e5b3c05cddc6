import t from 'tap'
import { ClockWatch, RELEASE_FLOOR, trustedFloor } from '../../agent/clock-floor.js'

t.test('the floor is the newest signed document, never below the release', async (t) => {
  t.equal(trustedFloor(null), RELEASE_FLOOR)
  t.equal(trustedFloor('2001-01-01T00:00:00Z'), RELEASE_FLOOR, 'an old document does not lower it')
  t.equal(trustedFloor('2030-01-01T00:00:00Z'), Date.parse('2030-01-01T00:00:00Z'))
  t.equal(trustedFloor('not a time'), RELEASE_FLOOR)
})

t.test('one ClockBehind per episode, one ClockRecovered when it ends', async (t) => {
  let now = RELEASE_FLOOR - 3_600_000
  const watch = new ClockWatch('pi-1', () => ({ now, floor: RELEASE_FLOOR }))
  const first = watch.check()
  t.match(first, { nodeId: 'pi-1', type: 'ClockBehind', severity: 'warning', data: { behindSeconds: 3600 } })
  t.match(first?.message, /clock reads .* before .*NTP, fake-hwclock/)
  t.equal(watch.check(), null, 'said once')
  now = RELEASE_FLOOR + 1
  t.match(watch.check(), { type: 'ClockRecovered', severity: 'info' })
  t.equal(watch.check(), null)
})
