import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto'
import { z } from 'zod'

// Sealing a Secret to one node: an ephemeral X25519 key agreement with the node's public key,
// HKDF-SHA256 over the shared secret (salted with both public keys) for a one-time AES-256-GCM
// key, and the secret's identity (node, name, version) as additional data, so a ciphertext
// cannot be moved to another node, secret or version without failing authentication.

export const SEAL_ALGORITHM = 'X25519-HKDF-SHA256-AES-256-GCM'
const HKDF_INFO = Buffer.from('shoal/v1 sealed secret')

const Base64Url = z.string().regex(/^[A-Za-z0-9_-]*$/, 'must be base64url')

/** A node's X25519 public key: 32 raw bytes, base64url (43 characters). */
export const SealingPublicKey = Base64Url.length(43)

export const SealedBox = z.strictObject({
  alg: z.literal(SEAL_ALGORITHM),
  /** The sender's ephemeral X25519 public key. */
  epk: SealingPublicKey,
  nonce: Base64Url.length(16),
  /** AES-256-GCM ciphertext followed by its 16-byte tag. */
  ciphertext: Base64Url.max(64 * 1024),
})
export type SealedBox = z.infer<typeof SealedBox>

/** A box that does not open: the wrong node's key, or bytes changed on the way. */
export class UnsealError extends Error {
  constructor(readonly context: string) {
    super(`cannot decrypt ${context}: it was sealed to another key, or changed after sealing`)
    this.name = 'UnsealError'
  }
}

export interface SealingKeyPair {
  /** PKCS#8 PEM; stays on the node. */
  readonly privateKeyPem: string
  readonly publicKey: string
}

export function generateSealingKeyPair(): SealingKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519')
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKey: rawPublicKey(publicKey) }
}

/** The public half of a stored private key. */
export function sealingPublicKeyOf(privateKeyPem: string): string {
  return rawPublicKey(createPublicKey(createPrivateKey(privateKeyPem)))
}

/** Encrypts `plaintext` so that only the holder of `recipient`'s private key can read it, bound to `context`. */
export function seal(plaintext: Buffer, recipient: string, context: string): SealedBox {
  const ephemeral = generateKeyPairSync('x25519')
  const recipientKey = publicKeyFromRaw(recipient)
  const epk = rawPublicKey(ephemeral.publicKey)
  const key = derive(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipientKey }), epk, recipient)
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(Buffer.from(context))
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
  return { alg: SEAL_ALGORITHM, epk, nonce: nonce.toString('base64url'), ciphertext: ciphertext.toString('base64url') }
}

/** Opens a box sealed to this private key with the same context; UnsealError otherwise. */
export function unseal(box: SealedBox, privateKeyPem: string | KeyObject, context: string): Buffer {
  try {
    const privateKey = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem
    const own = rawPublicKey(createPublicKey(privateKey))
    const key = derive(diffieHellman({ privateKey, publicKey: publicKeyFromRaw(box.epk) }), box.epk, own)
    const bytes = Buffer.from(box.ciphertext, 'base64url')
    if (bytes.length < 16) throw new Error('short')
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(box.nonce, 'base64url'))
    decipher.setAAD(Buffer.from(context))
    decipher.setAuthTag(bytes.subarray(bytes.length - 16))
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()])
  } catch {
    throw new UnsealError(context)
  }
}

/** What a sealed Secret is bound to: the node it was sealed for, its name and its version. */
export function sealContext(nodeId: string, secret: string, version: number): string {
  return `shoal/v1 secret ${secret} version ${version} for node ${nodeId}`
}

function derive(shared: Buffer, epk: string, recipient: string): Buffer {
  const salt = Buffer.concat([Buffer.from(epk, 'base64url'), Buffer.from(recipient, 'base64url')])
  return Buffer.from(hkdfSync('sha256', shared, salt, HKDF_INFO, 32))
}

function rawPublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' })
  if (typeof jwk.x !== 'string') throw new Error('not an X25519 public key')
  return jwk.x
}

function publicKeyFromRaw(raw: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw }, format: 'jwk' })
}
