import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/** A stored value that does not decrypt: the data dir's secrets-key is not the one it was written with, or the row changed. */
export class AtRestDecryptError extends Error {
  constructor(readonly context: string) {
    super(`cannot decrypt ${context} in hub.db: the data directory's secrets-key is not the key it was stored with, or the row was changed`)
    this.name = 'AtRestDecryptError'
  }
}

/**
 * AES-256-GCM with a key from the hub's data dir, for Secret values in hub.db. The context (kind,
 * name, version) is the additional data, so a stored value cannot be moved to another row.
 * Text form: "v1.<nonce>.<ciphertext+tag>", base64url.
 */
export class AtRestCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new RangeError('the at-rest key must be 32 bytes')
  }

  encrypt(plaintext: string, context: string): string {
    const nonce = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce)
    cipher.setAAD(Buffer.from(context))
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
    return `v1.${nonce.toString('base64url')}.${body.toString('base64url')}`
  }

  decrypt(text: string, context: string): string {
    const [version, nonce, body] = text.split('.')
    if (version !== 'v1' || nonce === undefined || body === undefined) throw new AtRestDecryptError(context)
    try {
      const bytes = Buffer.from(body, 'base64url')
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'))
      decipher.setAAD(Buffer.from(context))
      decipher.setAuthTag(bytes.subarray(bytes.length - 16))
      return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8')
    } catch {
      throw new AtRestDecryptError(context)
    }
  }
}
