// Configs and Secrets as the hub would put them in a node's desired document, for agent tests.
import { type ObjectData, type SecretValues, type ConfigValues, canonicalJson, seal, sealContext } from '../../protocol/index.js'

/** A Secret's data sealed to a node's public key, as the hub seals it (the data's canonical JSON). */
export function sealedSecret(nodeId: string, name: string, version: number, data: ObjectData, publicKey: string, overrides: number[] = []): SecretValues {
  return { version, overrides, sealed: seal(Buffer.from(canonicalJson(data)), publicKey, sealContext(nodeId, name, version)) }
}

export function configValues(version: number, data: ObjectData, overrides: number[] = []): ConfigValues {
  return { version, overrides, data }
}

/** The same box with one byte of its ciphertext flipped. */
export function tamperedSecret(values: SecretValues): SecretValues {
  const bytes = Buffer.from(values.sealed.ciphertext, 'base64url')
  bytes[0] = (bytes[0] ?? 0) ^ 0x01
  return { ...values, sealed: { ...values.sealed, ciphertext: bytes.toString('base64url') } }
}
