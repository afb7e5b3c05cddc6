// The hub's HTTP API contract: every request and answer of every route, declared once as a zod
// schema (types come from them), the list of routes, and the OpenAPI document built from both.
// The hub builds its answers as these types, the CLI and the console read them as these types.
export * from './changes.js'
export * from './config-objects.js'
export * from './deployments.js'
export * from './envelopes.js'
export * from './events.js'
export * from './health.js'
export * from './logs.js'
export * from './manifests.js'
export * from './nodes.js'
export * from './openapi.js'
export * from './rollouts.js'
export * from './routes.js'
export * from './tokens.js'
export * from './alerts.js'
export * from './bulk-nodes.js'
export * from './cron-jobs.js'
