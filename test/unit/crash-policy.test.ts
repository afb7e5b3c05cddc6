import t from 'tap'
import {
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  CRASH_LOOP_THRESHOLD,
  CRASH_WINDOW_MS,
  isCrashLooping,
  pullBackoffMs,
  recentCrashes,
  restartBackoffUntil,
  shouldRestart,
} from '../../agent/reconcile/crash-policy.js'

const NOW = 1_750_000_000_000
const SECOND = 1_000

t.test('the constants are the documented ones', async (t) => {
  t.equal(CRASH_WINDOW_MS, 5 * 60 * SECOND)
  t.equal(CRASH_LOOP_THRESHOLD, 3)
  t.equal(BACKOFF_BASE_MS, 10 * SECOND)
  t.equal(BACKOFF_MAX_MS, 5 * 60 * SECOND)
})

t.test('restart policies: always restarts, on-failure only after a non-zero exit, never does not', async (t) => {
  const table = [
    ['always', 0, true],
    ['always', 1, true],
    ['always', null, true],
    ['on-failure', 0, false],
    ['on-failure', 1, true],
    ['on-failure', 137, true],
    ['on-failure', -1, true],
    ['on-failure', null, true],
    ['never', 0, false],
    ['never', 1, false],
    ['never', null, false],
  ] as const
  for (const [policy, exitCode, expected] of table) t.equal(shouldRestart(policy, exitCode), expected, `${policy} after exit ${String(exitCode)}`)
})

t.test('an unknown restart policy is a programming error, not a silent no', async (t) => {
  t.throws(() => shouldRestart('sometimes' as never, 1), /unknown restart policy sometimes/)
})

t.test('recent crashes are those strictly inside the window', async (t) => {
  const crashes = [NOW - CRASH_WINDOW_MS - 1, NOW - CRASH_WINDOW_MS, NOW - CRASH_WINDOW_MS + 1, NOW - SECOND, NOW]
  t.strictSame(recentCrashes(crashes, NOW), [NOW - CRASH_WINDOW_MS + 1, NOW - SECOND, NOW])
  t.strictSame(recentCrashes([], NOW), [])
  t.strictSame(crashes.length, 5, 'the input is not modified')
})

t.test('crash-loop needs the threshold of crashes inside the window', async (t) => {
  t.notOk(isCrashLooping([], NOW), 'no crashes')
  t.notOk(isCrashLooping([NOW - 20 * SECOND, NOW - 10 * SECOND], NOW), 'two crashes')
  t.ok(isCrashLooping([NOW - 20 * SECOND, NOW - 10 * SECOND, NOW], NOW), 'three crashes')
  t.ok(isCrashLooping([NOW - 4 * 60 * SECOND, NOW - 2 * 60 * SECOND, NOW - 1], NOW), 'three spread over four minutes')
  t.notOk(isCrashLooping([NOW - CRASH_WINDOW_MS, NOW - 10 * SECOND, NOW], NOW), 'the oldest exactly a window ago no longer counts')
  t.ok(isCrashLooping([NOW - CRASH_WINDOW_MS + 1, NOW - 10 * SECOND, NOW], NOW), 'a millisecond inside the window still counts')
  const looping = [NOW - 30 * SECOND, NOW - 20 * SECOND, NOW - 10 * SECOND]
  t.notOk(isCrashLooping(looping, NOW - 30 * SECOND + CRASH_WINDOW_MS), 'calm for a window after the first: no longer looping')
})

t.test('restart backoff doubles from 10 s with each recent crash, from the latest crash', async (t) => {
  t.equal(restartBackoffUntil([], NOW), 0, 'no crash, no backoff')
  t.equal(restartBackoffUntil([NOW], NOW), NOW + 10 * SECOND)
  t.equal(restartBackoffUntil([NOW - 5 * SECOND, NOW], NOW), NOW + 20 * SECOND)
  t.equal(restartBackoffUntil([NOW - 9 * SECOND, NOW - 5 * SECOND, NOW - 1 * SECOND], NOW), NOW - 1 * SECOND + 40 * SECOND)
  t.equal(restartBackoffUntil([NOW - 4, NOW - 3, NOW - 2, NOW - 1, NOW], NOW), NOW + 160 * SECOND)
})

t.test('restart backoff is capped at 5 minutes', async (t) => {
  const many = Array.from({ length: 6 }, (_, i) => NOW - 6 + i)
  t.equal(restartBackoffUntil(many, NOW), many.at(-1)! + BACKOFF_MAX_MS, 'six crashes would be 320 s')
  const storm = Array.from({ length: 2_000 }, (_, i) => NOW - 2_000 + i)
  t.equal(restartBackoffUntil(storm, NOW), NOW - 1 + BACKOFF_MAX_MS, 'no overflow with a huge count')
})

t.test('restart backoff forgets crashes outside the window', async (t) => {
  const old = NOW - CRASH_WINDOW_MS - 60 * SECOND
  t.equal(restartBackoffUntil([old, old + 1, old + 2, NOW], NOW), NOW + 10 * SECOND, 'only the fresh crash counts')
  t.equal(restartBackoffUntil([old, old + 1], NOW), 0, 'only old crashes: no backoff at all')
})

t.test('pull backoff doubles from 5 s and is capped at 5 minutes', async (t) => {
  t.equal(pullBackoffMs(0), 5 * SECOND, 'before any failure it is the base')
  t.equal(pullBackoffMs(1), 5 * SECOND)
  t.equal(pullBackoffMs(2), 10 * SECOND)
  t.equal(pullBackoffMs(3), 20 * SECOND)
  t.equal(pullBackoffMs(6), 160 * SECOND)
  t.equal(pullBackoffMs(7), BACKOFF_MAX_MS, '320 s is capped')
  t.equal(pullBackoffMs(5_000), BACKOFF_MAX_MS, 'no overflow to Infinity or NaN')
  let previous = 0
  for (let failures = 1; failures < 40; failures++) {
    const delay = pullBackoffMs(failures)
    t.ok(delay >= previous && delay <= BACKOFF_MAX_MS, `monotonic and bounded at ${failures}`)
    previous = delay
  }
})
