import type { EventView } from '../api/types'
import { ago, localTime } from '../format'
import { useNow } from '../live'
import { Link, nodeHref } from '../router'
import { Empty } from './bits'

/** Events newest first, with their node, severity and how long ago. */
export function EventsList(props: { events: readonly EventView[]; showNode?: boolean; limit?: number }) {
  const now = useNow(5000)
  const events = [...props.events].sort((a, b) => b.id - a.id).slice(0, props.limit ?? 50)
  if (events.length === 0) return <Empty>No events yet.</Empty>
  return (
    <ol class="events" aria-label="events">
      {events.map((event) => (
        <li key={event.id} class={`event ${event.severity}`} data-event-type={event.type}>
          <span class="event-time" title={`received ${localTime(event.receivedAt)}; the node's clock said ${localTime(event.at)}`}>
            {ago(event.receivedAt, now)}
          </span>
          <span class={`event-type sev-${event.severity}`}>{event.type}</span>
          {props.showNode !== false && event.nodeId ? (
            <Link href={nodeHref(event.nodeId)} class="event-node">
              {event.nodeId}
            </Link>
          ) : null}
          <span class="event-message">
            {event.workload ? <code>{event.workload}</code> : null} {event.message}
          </span>
        </li>
      ))}
    </ol>
  )
}
