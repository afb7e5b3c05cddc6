import http from 'node:http'
import net from 'node:net'
import type { ContainerRuntime } from '../runtime/runtime.js'
import type { ProbeAction } from './probe-plan.js'
import type { ProbeOutcome } from './probe-state.js'

/** Enough of an answer to judge a probe; a health endpoint that sends more is not read further. */
const MAX_BODY_BYTES = 64 * 1024

/**
 * Runs one probe from the agent's side and says how it went; never throws. http: a GET answered
 * 200-399 passes (Kubernetes' rule). tcp: an accepted connection passes. exec: exit code 0 passes.
 */
export async function runProbe(action: ProbeAction, timeoutMs: number, runtime: ContainerRuntime, containerId: string): Promise<ProbeOutcome> {
  try {
    switch (action.kind) {
      case 'http':
        return await httpProbe(action, timeoutMs)
      case 'tcp':
        return await tcpProbe(action, timeoutMs)
      case 'exec': {
        const exitCode = await runtime.exec(containerId, action.command, timeoutMs)
        return exitCode === 0 ? { ok: true } : { ok: false, error: `${action.command.join(' ')} exited with code ${exitCode}` }
      }
    }
  } catch (error) {
    return { ok: false, error: (error as Error).message }
  }
}

function httpProbe(action: Extract<ProbeAction, { kind: 'http' }>, timeoutMs: number): Promise<ProbeOutcome> {
  const target = `http://${action.host.includes(':') ? `[${action.host}]` : action.host}:${action.port}${action.path}`
  if (action.host === '') return Promise.resolve({ ok: false, error: `GET ${action.path}: the container has no address yet` })
  return new Promise((resolve) => {
    const request = http.get(
      { host: action.host, port: action.port, path: action.path, agent: false, headers: { 'User-Agent': 'shoal-probe' } },
      (response) => {
        const status = response.statusCode ?? 0
        let read = 0
        response.on('data', (chunk: Buffer) => {
          read += chunk.length
          if (read > MAX_BODY_BYTES) response.destroy()
        })
        response.on('error', () => undefined)
        response.on('close', () => request.destroy())
        response.resume()
        resolve(status >= 200 && status < 400 ? { ok: true } : { ok: false, error: `GET ${target} answered ${status}` })
      },
    )
    request.setTimeout(timeoutMs, () => {
      request.destroy(new Error(`GET ${target} did not answer within ${timeoutMs} ms`))
    })
    request.on('error', (error) => resolve({ ok: false, error: error.message.startsWith('GET ') ? error.message : `GET ${target}: ${error.message}` }))
  })
}

function tcpProbe(action: Extract<ProbeAction, { kind: 'tcp' }>, timeoutMs: number): Promise<ProbeOutcome> {
  const target = `${action.host.includes(':') ? `[${action.host}]` : action.host}:${action.port}`
  if (action.host === '') return Promise.resolve({ ok: false, error: `connect to port ${action.port}: the container has no address yet` })
  return new Promise((resolve) => {
    const socket = net.connect({ host: action.host, port: action.port })
    const done = (outcome: ProbeOutcome) => {
      socket.destroy()
      resolve(outcome)
    }
    socket.setTimeout(timeoutMs, () => done({ ok: false, error: `connect to ${target}: no answer within ${timeoutMs} ms` }))
    socket.once('connect', () => done({ ok: true }))
    socket.once('error', (error) => done({ ok: false, error: `connect to ${target}: ${error.message}` }))
  })
}
