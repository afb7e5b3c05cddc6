/**
 * A use case asked for a record the store does not hold. Services throw these; the API answers
 * 404 (hub/api/service-errors.ts).
 */
export class NodeNotFoundError extends Error {
  constructor(readonly nodeId: string) {
    super(`node ${nodeId} not found`)
    this.name = 'NodeNotFoundError'
  }
}

export class DeploymentNotFoundError extends Error {
  constructor(readonly deployment: string) {
    super(`deployment ${deployment} not found`)
    this.name = 'DeploymentNotFoundError'
  }
}

export class JoinTokenNotFoundError extends Error {
  constructor(readonly tokenId: string) {
    super(`join token ${tokenId} not found`)
    this.name = 'JoinTokenNotFoundError'
  }
}

export class ConfigObjectNotFoundError extends Error {
  constructor(
    readonly kind: 'Config' | 'Secret',
    readonly objectName: string,
  ) {
    super(`${kind} ${objectName} not found`)
    this.name = 'ConfigObjectNotFoundError'
  }
}

export class CronJobNotFoundError extends Error {
  constructor(readonly cronJob: string) {
    super(`cron job ${cronJob} not found`)
    this.name = 'CronJobNotFoundError'
  }
}
