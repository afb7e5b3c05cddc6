import type { BrokerHashes } from './password-hashes.js'

/**
 * The users in a generated broker configuration. Node ids are `[a-z0-9-]` (protocol schema), so
 * the hub's own names carry an underscore: no node can ever enroll under one of them.
 */
export const HUB_BROKER_USERNAME = 'shoal_hub'
/** A throwaway user with no rights whose password changes on every rewrite: logging in with it proves the broker loaded that rewrite. */
export const RELOAD_CHECK_USERNAME = 'shoal_reload_check'

export type BrokerKind = 'mosquitto' | 'nats'
export const BROKER_KINDS: readonly BrokerKind[] = ['mosquitto', 'nats']

export interface BrokerUser {
  readonly username: string
  readonly hashes: BrokerHashes
}

export interface NodeBrokerUser extends BrokerUser {
  readonly nodeId: string
}

/** Everything a generated configuration says: who may log in, and what each may touch. */
export interface BrokerAuthInput {
  readonly hub: BrokerUser
  readonly nodes: readonly NodeBrokerUser[]
  readonly reloadCheck?: BrokerUser
}

export class BrokerConfigError extends Error {
  readonly code = 'broker-config'
  constructor(
    readonly subject: string,
    message: string,
  ) {
    super(message)
    this.name = 'BrokerConfigError'
  }
}

const SAFE_USERNAME = /^[A-Za-z0-9_-]{1,128}$/
const SAFE_HASH = /^\$[A-Za-z0-9./+=$]+$/

/**
 * Refuses anything that could break out of a line or a quoted string in the files (a `:` in a
 * password-file user, a newline or `"` anywhere) and duplicate user names.
 */
export function checkBrokerAuthInput(input: BrokerAuthInput): void {
  const seen = new Set<string>()
  const users: BrokerUser[] = [input.hub, ...(input.reloadCheck ? [input.reloadCheck] : []), ...input.nodes]
  for (const user of users) {
    if (!SAFE_USERNAME.test(user.username))
      throw new BrokerConfigError(user.username, `broker user name ${JSON.stringify(user.username)} may only use letters, digits, "_" and "-"`)
    if (seen.has(user.username)) throw new BrokerConfigError(user.username, `broker user ${user.username} appears twice`)
    seen.add(user.username)
    for (const hash of [user.hashes.mosquitto, ...(user.hashes.nats === null ? [] : [user.hashes.nats])]) {
      if (!SAFE_HASH.test(hash)) throw new BrokerConfigError(user.username, `the password hash of ${user.username} has characters no broker hash has`)
    }
  }
}
