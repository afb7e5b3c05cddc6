import type { ConfigObjectKind, DataOverride, ObjectData } from '../../protocol/index.js'
import type { ConfigObjectRepository } from '../store/config-object-repository.js'
import type { AtRestCipher } from './at-rest-cipher.js'

/** What one version of a Config or Secret holds. */
export interface ObjectBody {
  readonly data: ObjectData
  readonly overrides: readonly DataOverride[]
}

const contextOf = (kind: ConfigObjectKind, name: string, version: number): string => `${kind}/${name} version ${version}`

/** Versions' bodies in and out of the store: a Secret's encrypted at rest, a Config's as JSON. */
export class ObjectBodies {
  constructor(
    private readonly repository: ConfigObjectRepository,
    private readonly cipher: AtRestCipher,
  ) {}

  read(kind: ConfigObjectKind, name: string, version: number): ObjectBody | null {
    const text = this.repository.body(kind, name, version)
    if (text === null) return null
    return JSON.parse(kind === 'Secret' ? this.cipher.decrypt(text, contextOf(kind, name, version)) : text) as ObjectBody
  }

  /** The current version's body, or null when there is no such object. */
  current(kind: ConfigObjectKind, name: string): ObjectBody | null {
    const record = this.repository.get(kind, name)
    return record ? this.read(kind, name, record.version) : null
  }

  /** Stores the body as the object's next version and returns that version. */
  write(kind: ConfigObjectKind, name: string, labels: Readonly<Record<string, string>>, body: ObjectBody, at: string): number {
    const version = (this.repository.get(kind, name)?.version ?? 0) + 1
    const text = JSON.stringify(body)
    const stored = this.repository.putVersion(kind, name, labels, kind === 'Secret' ? this.cipher.encrypt(text, contextOf(kind, name, version)) : text, at)
    if (stored !== version) throw new Error(`${kind}/${name}: expected version ${version}, stored ${stored}`)
    return version
  }
}
