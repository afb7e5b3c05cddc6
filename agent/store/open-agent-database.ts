import type { Logger } from 'pino'
import { openDatabase, type OpenedDatabase } from '../../common/sqlite/open-database.js'
import { MIGRATIONS } from './migrations.js'

/** The agent's SQLite file: a damaged one is moved aside and the agent starts afresh. */
export function openAgentDatabase(path: string, logger: Logger, options: { migrations?: typeof MIGRATIONS; now?: () => number } = {}): OpenedDatabase {
  return openDatabase(path, logger, { migrations: options.migrations ?? MIGRATIONS, owner: 'agent', ...(options.now ? { now: options.now } : {}) })
}
