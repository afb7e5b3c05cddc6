// Which labels the nodes table shows, and in what order. An operator picks them (remembered in
// this browser); until then, the labels someone chose for the node come before those its
// firmware profile gave it, so `site=factory-7` is read before `device-class=raspberry-pi`.

/** The labels to show, in order: the chosen keys the node has, or every label, the profile's last. Pure. */
export function shownLabels(
  labels: Readonly<Record<string, string>>,
  profileLabels: readonly string[],
  chosen: readonly string[] | null,
): Array<readonly [string, string]> {
  if (chosen !== null) return chosen.flatMap((key) => (key in labels ? [[key, labels[key] ?? ''] as const] : []))
  const fromProfile = new Set(profileLabels)
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return [...entries.filter(([key]) => !fromProfile.has(key)), ...entries.filter(([key]) => fromProfile.has(key))]
}
