// The rules that bring times a previous run of the agent stored back into what they can be on
// this run's clock (agent/reconcile/stored-times.ts): every offset that matters around now, the
// bound of each rule, idempotence, and what crash policy then decides from the result.
import t from 'tap'
import {
  BACKOFF_MAX_MS,
  CRASH_LOOP_THRESHOLD,
  CRASH_WINDOW_MS,
  isCrashLooping,
  recentCrashes,
  restartBackoffUntil,
} from '../../agent/reconcile/crash-policy.js'
import { MAX_BACKOFF_DEADLINE_MS, rebaseCrashes, rebaseDeadline, rebaseStart, rebaseTiming } from '../../agent/reconcile/stored-times.js'

const NOW = 1_780_000_000_000
const SECOND = 1_000
const YEAR = 365 * 24 * 3600 * SECOND
const MAX = MAX_BACKOFF_DEADLINE_MS

/** Offsets from now that sit on or beside every bound the rules have, out to a year and 25 years. */
const OFFSETS = [
  -25 * YEAR,
  -YEAR,
  -CRASH_WINDOW_MS - 1,
  -CRASH_WINDOW_MS,
  -MAX - 1,
  -MAX,
  -1,
  0,
  1,
  MAX - 1,
  MAX,
  MAX + 1,
  CRASH_WINDOW_MS + 1,
  YEAR,
  25 * YEAR,
]

t.test('the longest stored deadline is the backoff cap', async (t) => {
  t.equal(MAX_BACKOFF_DEADLINE_MS, BACKOFF_MAX_MS)
})

t.test('a crash time is kept when it is not after now, and becomes now when it is', async (t) => {
  for (const offset of OFFSETS) {
    const [rebased] = rebaseCrashes([NOW + offset], NOW)
    t.equal(rebased, offset <= 0 ? NOW + offset : NOW, `a crash at now ${offset >= 0 ? '+' : ''}${offset} ms`)
  }
})

t.test('crash times: none after now, in order, anything but a finite number dropped', async (t) => {
  t.same(rebaseCrashes([], NOW), [])
  t.same(
    rebaseCrashes([NOW - 3 * SECOND, NOW - 2 * SECOND, NOW - SECOND], NOW),
    [NOW - 3 * SECOND, NOW - 2 * SECOND, NOW - SECOND],
    'crashes in the past are kept as they are',
  )
  t.same(
    rebaseCrashes([NOW - 20 * SECOND, NOW + YEAR, NOW + YEAR + 10 * SECOND], NOW),
    [NOW - 20 * SECOND, NOW, NOW],
    'crashes stored on a clock a year ahead all happened now at the latest',
  )
  t.same(rebaseCrashes([NOW + 2 * SECOND, NOW - 5 * SECOND, NOW - 9 * SECOND], NOW), [NOW - 9 * SECOND, NOW - 5 * SECOND, NOW], 'sorted, oldest first')
  t.same(rebaseCrashes([Number.NaN, NOW - SECOND, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], NOW), [NOW - SECOND], 'a damaged value is no crash')
})

t.test('a deadline is kept up to its longest length ahead, and cut to it beyond', async (t) => {
  for (const offset of OFFSETS) {
    const expected = offset <= MAX ? NOW + offset : NOW + MAX
    t.equal(rebaseDeadline(NOW + offset, NOW, MAX), expected, `a deadline at now ${offset >= 0 ? '+' : ''}${offset} ms`)
  }
  t.equal(rebaseDeadline(0, NOW, MAX), 0, 'no deadline stays none')
  t.equal(rebaseDeadline(Number.NaN, NOW, MAX), 0, 'a damaged deadline is none')
  t.equal(rebaseDeadline(Number.POSITIVE_INFINITY, NOW, MAX), 0)
  t.equal(rebaseDeadline(NOW + 2 * MAX, NOW, 10 * SECOND), NOW + 10 * SECOND, 'the bound is the one given')
})

t.test('a window start is kept when it is not after now, and starts now when it is', async (t) => {
  for (const offset of OFFSETS)
    t.equal(rebaseStart(NOW + offset, NOW), offset <= 0 ? NOW + offset : NOW, `a start at now ${offset >= 0 ? '+' : ''}${offset} ms`)
  t.equal(rebaseStart(Number.NaN, NOW), NOW, 'a damaged start starts now')
})

t.test('every rule is idempotent and never moves a time later than it was', async (t) => {
  for (const a of OFFSETS) {
    for (const b of OFFSETS) {
      const crashes = [NOW + a, NOW + b]
      const once = rebaseCrashes(crashes, NOW)
      t.same(rebaseCrashes(once, NOW), once, `crashes at ${a}, ${b}`)
      t.ok(
        once.every((at) => at <= NOW),
        'none after now',
      )
      t.same(
        once,
        [...crashes].sort((x, y) => x - y).map((at) => Math.min(at, NOW)),
      )
    }
    const deadline = rebaseDeadline(NOW + a, NOW, MAX)
    t.equal(rebaseDeadline(deadline, NOW, MAX), deadline)
    t.ok(deadline <= NOW + a && deadline <= NOW + MAX)
    const start = rebaseStart(NOW + a, NOW)
    t.equal(rebaseStart(start, NOW), start)
    t.ok(start <= NOW + a && start <= NOW)
  }
})

t.test('a record needs rewriting only when a time lay ahead', async (t) => {
  t.equal(rebaseTiming({ recentCrashes: [], backoffUntil: 0 }, NOW), null, 'nothing stored')
  t.equal(rebaseTiming({ recentCrashes: [NOW - 20 * SECOND, NOW - SECOND], backoffUntil: NOW + 40 * SECOND }, NOW), null, 'a steady clock')
  t.equal(rebaseTiming({ recentCrashes: [NOW], backoffUntil: NOW + MAX }, NOW), null, 'on the bounds')
  t.same(
    rebaseTiming({ recentCrashes: [NOW - SECOND], backoffUntil: NOW + YEAR }, NOW),
    { recentCrashes: [NOW - SECOND], backoffUntil: NOW + MAX },
    'a deadline a year ahead',
  )
  t.same(rebaseTiming({ recentCrashes: [NOW + YEAR], backoffUntil: 0 }, NOW), { recentCrashes: [NOW], backoffUntil: 0 }, 'a crash a year ahead')
  t.same(
    rebaseTiming({ recentCrashes: [NOW - SECOND, NOW - 2 * SECOND], backoffUntil: 0 }, NOW),
    { recentCrashes: [NOW - 2 * SECOND, NOW - SECOND], backoffUntil: 0 },
    'crashes out of order',
  )
})

t.test('after a step back of a year between two runs, the crash loop lasts one window and the backoff its cap, not a year', async (t) => {
  // Stored by a run whose clock read a year ahead of this one: three crashes 10 s apart, backing off.
  const ahead = NOW + YEAR
  const stored = { recentCrashes: [ahead - 20 * SECOND, ahead - 10 * SECOND, ahead], backoffUntil: ahead + 40 * SECOND }
  t.ok(isCrashLooping(stored.recentCrashes, NOW), 'read as they are, the crashes would count as recent for a year')
  t.ok(stored.backoffUntil > NOW + YEAR - SECOND, 'and the workload would wait a year')
  const rebased = rebaseTiming(stored, NOW)
  if (!rebased) throw new Error('expected a rewrite')
  t.same(rebased.recentCrashes, [NOW, NOW, NOW])
  t.equal(rebased.backoffUntil, NOW + MAX, 'at most the cap')
  t.ok(isCrashLooping(rebased.recentCrashes, NOW), 'still a crash loop now: it was one')
  t.ok(isCrashLooping(rebased.recentCrashes, NOW + CRASH_WINDOW_MS - 1), 'for one crash window')
  t.notOk(isCrashLooping(rebased.recentCrashes, NOW + CRASH_WINDOW_MS), 'and no longer')
  t.equal(recentCrashes(rebased.recentCrashes, NOW + CRASH_WINDOW_MS).length, 0)
  const next = [...rebased.recentCrashes, NOW + SECOND]
  t.ok(restartBackoffUntil(next, NOW + SECOND) <= NOW + SECOND + BACKOFF_MAX_MS, 'a new crash backs off from the new crash, by at most the cap')
  t.equal(next.length, CRASH_LOOP_THRESHOLD + 1)
})

t.test('after a step forward of a year between two runs, old crashes are forgotten and the deadline has passed', async (t) => {
  const behind = NOW - YEAR
  const stored = { recentCrashes: [behind - 20 * SECOND, behind - 10 * SECOND, behind], backoffUntil: behind + 40 * SECOND }
  t.equal(rebaseTiming(stored, NOW), null, 'nothing to rewrite: times in the past are kept')
  t.notOk(isCrashLooping(stored.recentCrashes, NOW), 'no crash loop')
  t.ok(stored.backoffUntil < NOW, 'no wait: the workload starts, and climbs the backoff ladder again if it keeps crashing')
})
