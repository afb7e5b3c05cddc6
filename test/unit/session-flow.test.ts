import t from 'tap'
import { ReceiveWindow, SendWindow } from '../../protocol/session-credit.js'
import { SESSION_INITIAL_WINDOW_BYTES, SESSION_MAX_DATA_BYTES } from '../../protocol/session.js'

// The two ends of one direction of a session, as the hub's relay and the node pair them
// (the windows' own rules are in agent-sessions-pure.test.ts).

t.test('a slow reader gets no credit back, so the sender stops at the window', async (t) => {
  const receiver = new ReceiveWindow(SESSION_INITIAL_WINDOW_BYTES, SESSION_INITIAL_WINDOW_BYTES / 8)
  const sender = new SendWindow(SESSION_INITIAL_WINDOW_BYTES)
  let sent = 0
  while (sender.available > 0) {
    const n = Math.min(sender.available, SESSION_MAX_DATA_BYTES)
    sender.spend(n)
    t.ok(receiver.receive(n))
    sent += n
  }
  t.equal(sent, SESSION_INITIAL_WINDOW_BYTES, 'the sender stopped at the window with nothing passed on')
  t.notOk(receiver.receive(1), 'one byte more would be the sender overrunning its credit')
  receiver.written(SESSION_MAX_DATA_BYTES)
  t.equal(receiver.takeGrant(), SESSION_MAX_DATA_BYTES, 'one batch written on is granted back')
  t.ok(sender.grant(SESSION_MAX_DATA_BYTES))
  t.equal(sender.available, SESSION_MAX_DATA_BYTES, 'and lets one batch more through')
})

t.test('a fast reader keeps the stream going: every byte is granted back, nothing more', async (t) => {
  const receiver = new ReceiveWindow(SESSION_INITIAL_WINDOW_BYTES, SESSION_INITIAL_WINDOW_BYTES / 8)
  const sender = new SendWindow(SESSION_INITIAL_WINDOW_BYTES)
  let delivered = 0
  for (let i = 0; i < 1000; i++) {
    const n = Math.min(sender.available, 1 + ((i * 7919) % SESSION_MAX_DATA_BYTES))
    if (n === 0) t.fail(`stalled at frame ${i}`)
    sender.spend(n)
    if (!receiver.receive(n)) t.fail(`frame ${i} overran the credit`)
    receiver.written(n)
    delivered += n
    const grant = receiver.takeGrant()
    if (grant > 0) sender.grant(grant)
    if (receiver.remaining !== sender.available) t.fail(`frame ${i}: the ends disagree on the credit`)
  }
  t.equal(receiver.remaining, sender.available, 'both ends agree on the credit after every grant')
  t.ok(delivered > SESSION_INITIAL_WINDOW_BYTES * 10, `the stream went on far past one window (${delivered} bytes)`)
})
