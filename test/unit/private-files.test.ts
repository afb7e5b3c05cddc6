// Files that hold secrets, on real files: the data dir is 0700 and every file the hub or agent
// creates in it (SQLite databases with their WAL and SHM, key and password files) is 0600, whatever
// the process umask; an existing dir that is ours is tightened, and one that others can write or
// that another user owns is refused with a message naming the path, the mode and the fix.
import { chmodSync, chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { preparePrivateDir, UnsafeDataDirError } from '../../common/fs/private-files.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { writeBrokerConfigFiles } from '../../hub/broker-config/write-broker-config.js'
import { tempDir } from '../support/tmp.js'

const modeOf = (path: string): number => statSync(path).mode & 0o7777
const silent = pino({ level: 'silent' })

// A umask that would leave new files 0644 and new dirs 0755 if the code relied on it.
const previousUmask = process.umask(0o022)
t.teardown(() => process.umask(previousUmask))

t.test('a missing data dir is created 0700, parents included', async (t) => {
  const dir = join(tempDir(t, 'private'), 'a', 'data')
  preparePrivateDir(dir)
  t.equal(modeOf(dir), 0o700)
})

t.test('an existing 0755 dir of ours is tightened to 0700', async (t) => {
  const dir = join(tempDir(t, 'private'), 'data')
  mkdirSync(dir)
  chmodSync(dir, 0o755)
  preparePrivateDir(dir)
  t.equal(modeOf(dir), 0o700)
})

for (const mode of [0o775, 0o757, 0o777]) {
  t.test(`a dir with mode 0${mode.toString(8)} is refused and left as it is`, async (t) => {
    const dir = join(tempDir(t, 'private'), 'data')
    mkdirSync(dir)
    chmodSync(dir, mode)
    const error = catchError(() => preparePrivateDir(dir))
    t.type(error, UnsafeDataDirError)
    t.equal((error as UnsafeDataDirError).code, 'unsafe-data-dir')
    t.equal((error as UnsafeDataDirError).problem, 'writable-by-others')
    t.match((error as Error).message, dir)
    t.match((error as Error).message, `mode 0${mode.toString(8)}`)
    t.match((error as Error).message, `chmod 700 ${dir}`)
    t.equal(modeOf(dir), mode, 'the operator decides; nothing is changed behind their back')
  })
}

t.test('a dir owned by another user is refused', async (t) => {
  // As root, make one; otherwise / is one (owned by root).
  let dir = '/'
  if (process.getuid?.() === 0) {
    dir = join(tempDir(t, 'private'), 'data')
    mkdirSync(dir)
    chmodSync(dir, 0o700)
    chownSync(dir, 65534, 65534)
  }
  const error = catchError(() => preparePrivateDir(dir))
  t.type(error, UnsafeDataDirError)
  t.equal((error as UnsafeDataDirError).problem, 'foreign-owner')
  t.match((error as Error).message, `data directory ${dir} is owned by uid`)
  t.match((error as Error).message, 'chown')
})

t.test('a data dir path that is a file is refused', async (t) => {
  const file = join(tempDir(t, 'private'), 'data')
  writeFileSync(file, '')
  t.equal((catchError(() => preparePrivateDir(file)) as UnsafeDataDirError).problem, 'not-a-directory')
})

t.test("the agent's database, WAL and SHM are created 0600", async (t) => {
  const file = join(tempDir(t, 'private'), 'agent.db')
  const { db } = openAgentDatabase(file, silent)
  t.teardown(() => db.close())
  for (const suffix of ['', '-wal', '-shm']) {
    t.ok(existsSync(file + suffix), `${suffix || 'main file'} exists`)
    t.equal(modeOf(file + suffix), 0o600, `${suffix || 'main file'} is 0600`)
  }
})

t.test("the hub's database, WAL and SHM are created 0600", async (t) => {
  const file = join(tempDir(t, 'private'), 'hub.db')
  const db = openHubDatabase(file)
  t.teardown(() => db.close())
  for (const suffix of ['', '-wal', '-shm']) t.equal(modeOf(file + suffix), 0o600, `${suffix || 'main file'} is 0600`)
})

t.test('database files left 0644 by an older version are tightened on open', async (t) => {
  const file = join(tempDir(t, 'private'), 'hub.db')
  openHubDatabase(file).close()
  chmodSync(file, 0o644)
  const db = openHubDatabase(file)
  t.teardown(() => db.close())
  for (const suffix of ['', '-wal', '-shm']) t.equal(modeOf(file + suffix), 0o600, `${suffix || 'main file'} is 0600`)
})

t.test('broker-config on a fresh data dir: dir 0700, database and hub password 0600', async (t) => {
  const base = tempDir(t, 'private')
  const dataDir = join(base, 'hub')
  const result = writeBrokerConfigFiles({ dataDir, kind: 'nats', out: join(base, 'broker') })
  t.equal(modeOf(dataDir), 0o700)
  t.equal(modeOf(join(dataDir, 'hub.db')), 0o600)
  t.equal(result.created.length, 1)
  t.equal(modeOf(result.created[0]!), 0o600)
})

function catchError(fn: () => void): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return null
}
