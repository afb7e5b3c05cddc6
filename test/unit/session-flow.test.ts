import t from 'tap'
import { ReceiveWindow, SendCredit } from '../../hub/sessions/flow-credit.js'
import { SESSION_INITIAL_WINDOW_BYTES } from '../../protocol/session.js'

t.test('SendCredit: spends down to zero, refuses more, grows with grants', async (t) => {
  const credit = new SendCredit(100)
  credit.spend(60)
  t.equal(credit.available, 40)
  t.throws(() => credit.spend(41), RangeError)
  credit.spend(40)
  t.equal(credit.available, 0)
  credit.grant(25)
  t.equal(credit.available, 25)
  t.equal(new SendCredit().available, SESSION_INITIAL_WINDOW_BYTES, 'starts at the protocol window')
})

t.test('ReceiveWindow: grants in batches, everything once nothing more is in flight', async (t) => {
  const window = new ReceiveWindow(1000, 100)
  t.ok(window.received(300))
  t.equal(window.passedOn(50), 0, 'below the batch and more in flight: wait')
  t.equal(window.passedOn(60), 110, 'a batch passed on: grant it')
  t.equal(window.passedOn(190), 190, 'all in flight passed on: grant the rest at once')
  t.ok(window.received(1000), 'the whole window may be in flight again')
  t.notOk(window.received(1), 'one byte over the credit given is the sender overrunning it')
})

t.test('ReceiveWindow: a slow reader gets no credit back, so the sender stops at the window', async (t) => {
  const window = new ReceiveWindow()
  let sent = 0
  const credit = new SendCredit()
  while (credit.available > 0) {
    const n = Math.min(credit.available, 64 * 1024)
    credit.spend(n)
    t.ok(window.received(n))
    sent += n
  }
  t.equal(sent, SESSION_INITIAL_WINDOW_BYTES, 'the sender stopped at the window with nothing passed on')
  const grant = window.passedOn(64 * 1024)
  credit.grant(grant)
  t.equal(credit.available, 64 * 1024, 'one batch passed on lets one batch more through')
})
