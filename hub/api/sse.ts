import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ChangeFeed } from '../ingest/change-feed.js'

/** Streams changes as server-sent events until the client goes away; a comment line keeps proxies from timing out. */
export function streamChanges(req: IncomingMessage, res: ServerResponse, feed: ChangeFeed, keepAliveMs = 15_000): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
  res.write(': connected\n\n')
  const unsubscribe = feed.subscribe((change) => {
    res.write(`event: ${change.type}\ndata: ${JSON.stringify(change)}\n\n`)
  })
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), keepAliveMs)
  const close = (): void => {
    clearInterval(keepAlive)
    unsubscribe()
  }
  req.on('close', close)
  res.on('error', close)
}
