/**
 * How often a page showing the whole fleet refetches it while changes stream in. Every
 * heartbeat is a change; at 1,000 nodes that is dozens a second, so the list is fetched at most
 * every few seconds (an offline node still turns red within that), and a small fleet at once.
 */
export function fleetRefreshMs(nodeCount: number): number {
  return Math.min(4000, 750 + nodeCount * 3)
}
