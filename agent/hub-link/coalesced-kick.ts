/**
 * Turns a burst of notifications into one call on the next turn of the event loop: a change is
 * reported as soon as it is stored, and batching comes from one batch in flight at a time.
 */
export function coalescedKick(kick: () => void, defer: (run: () => void) => void = setImmediate): () => void {
  let queued = false
  return () => {
    if (queued) return
    queued = true
    defer(() => {
      queued = false
      kick()
    })
  }
}
