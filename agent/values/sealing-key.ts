import { type KeyObject, createPrivateKey } from 'node:crypto'
import { chmodSync, closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { generateSealingKeyPair, sealingPublicKeyOf } from '../../protocol/index.js'
import { PRIVATE_FILE_MODE } from '../../common/fs/private-files.js'

/** The node's X25519 private key inside --data-dir: the hub seals this node's Secrets to its public half. */
export const SEALING_KEY_FILE = 'sealing-key.pem'

export interface NodeSealingKey {
  readonly privateKey: KeyObject
  /** Raw X25519 public key, base64url: what Inventory.sealingKey and NodeStatus.sealingKey carry. */
  readonly publicKey: string
}

/** A key file that is there but cannot be read as an X25519 private key. */
export class SealingKeyError extends Error {
  readonly code = 'bad-sealing-key'
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(
      `${path}: ${reason}. The node cannot open its Secrets without it; if the file is lost for good, remove it: ` +
        'the agent makes a new key and registers it with the hub, which seals the Secrets again',
    )
    this.name = 'SealingKeyError'
  }
}

/**
 * The node's sealing key: read from the data dir, or made on first start and written 0600
 * (exclusively: never over an existing file). A damaged file is refused rather than replaced, so a
 * node never quietly loses the key its stored documents are sealed to.
 */
export function loadSealingKey(dataDir: string): NodeSealingKey {
  const path = join(dataDir, SEALING_KEY_FILE)
  if (!existsSync(path)) writeNewKey(path)
  chmodSync(path, PRIVATE_FILE_MODE) // an older or hand-copied file may be wider
  const pem = readFileSync(path, 'utf8')
  try {
    const privateKey = createPrivateKey(pem)
    if (privateKey.asymmetricKeyType !== 'x25519') throw new Error(`a ${privateKey.asymmetricKeyType ?? 'unknown'} key, not X25519`)
    return { privateKey, publicKey: sealingPublicKeyOf(pem) }
  } catch (error) {
    throw new SealingKeyError(path, `not an X25519 private key in PEM (${(error as Error).message})`)
  }
}

function writeNewKey(path: string): void {
  const { privateKeyPem } = generateSealingKeyPair()
  const fd = openSync(path, 'wx', PRIVATE_FILE_MODE)
  try {
    writeSync(fd, privateKeyPem)
  } finally {
    closeSync(fd)
  }
}
