// What arrives on the agent's topics is untrusted. A stale generation is ignored; a forged or
// tampered document is rejected and reported (DesiredRejected); malformed JSON, schema
// garbage and oversize payloads on its desired and ack topics do not crash it, change nothing
// stored, and it still converges on the next good document.
import path from 'node:path'
import t, { type Test } from 'tap'
import { MAX_BYTES, encodeMessage, generateSigningKeys, signDocument, type NodeEvent } from '../../protocol/index.js'
import { freePort, startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'
import { fetchText, httpdWorkload, nodeContainers, startAgentProcess, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startMqttHubDouble } from '../support/hub-double.js'

t.setTimeout(120_000)

t.test('refuses what it must not apply, survives garbage, and still converges', async (t) => {
  const image = testImage()
  const nodeId = uniqueNodeId('intake')
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'agent-intake')
  const [portA, portB] = [await freePort(), await freePort()]
  const webA = httpdWorkload('web-a', portA, image)
  const webB = httpdWorkload('web-b', portB, image)
  const agent = await startAgentProcess(t, { nodeId, dataDir: path.join(dir, 'data'), hubUrl: broker.url, hubKey: hub.publicKey })

  await hub.publishDesired(nodeId, [webA], 5)
  const baseline = await waitForRunning(nodeId, ['web-a'])
  await hub.waitForStatus(nodeId, (s) => s.observedGeneration === 5 && s.workloads.every((w) => w.state === 'running'), { what: 'generation 5 running' })

  /** Publishes a document and waits for the DesiredRejected event it causes. */
  const rejects = async (t: Test, what: string, payload: Buffer | string, code: string): Promise<NodeEvent> => {
    const seq = hub.lastSeq(nodeId)
    await hub.publishDocumentBytes(nodeId, payload)
    const event = await hub.waitForEvent(nodeId, 'DesiredRejected', undefined, { afterSeq: seq })
    t.equal(event.data?.code, code, `${what}: rejected with code ${code}: ${JSON.stringify(event.message.slice(0, 120))}`)
    return event
  }

  await t.test('a stale generation is ignored', async (t) => {
    const seq = hub.lastSeq(nodeId)
    await hub.publishDesired(nodeId, [webA, webB], 4)
    await hub.publishDesired(nodeId, [webA, webB], 5)
    // Messages on one topic arrive in order: once this forged one has been refused, the two
    // documents before it have been through the intake too.
    const forged = hub.signedDocument(nodeId, [webB], 9, generateSigningKeys().privateKeyPem)
    await rejects(t, 'barrier (forged)', encodeMessage(forged), 'bad-signature')
    t.same(hub.events(nodeId, 'DesiredAccepted', seq), [], 'neither an older nor an equal generation was accepted')
    t.equal((await agent.status()).generation, 5, 'the stored generation is unchanged')
    t.same([...(await waitForRunning(nodeId, ['web-a'])).keys()], ['web-a'], 'web-b was never started')
  })

  await t.test('a forged or tampered document is rejected and reported', async (t) => {
    const otherKey = generateSigningKeys()
    const forged = await rejects(
      t,
      'signed by another key',
      encodeMessage(hub.signedDocument(nodeId, [webA, webB], 10, otherKey.privateKeyPem)),
      'bad-signature',
    )
    t.match(forged.message, /pinned/, 'the reason names the pinned key')
    t.equal(forged.severity, 'error')

    const genuine = hub.signedDocument(nodeId, [webA], 11)
    const tampered = { ...genuine, workloads: [webA, webB].map((w) => ({ ...w, template: { ...w.template, restartPolicy: 'always', network: 'host' } })) }
    await rejects(t, 'a workload added after signing', encodeMessage(tampered), 'bad-signature')
    await rejects(t, 'the generation changed after signing', encodeMessage({ ...genuine, generation: 12 }), 'bad-signature')
    const { signature: _dropped, ...unsigned } = genuine
    await rejects(t, 'no signature at all', encodeMessage(unsigned), 'bad-signature')
    await rejects(t, 'addressed to another node', encodeMessage(hub.signedDocument('t-someone-else', [webB], 13)), 'wrong-node')
    // Signed by the right key but not a valid document: the schema check comes after the signature.
    const invalid = signDocument(
      {
        apiVersion: 'shoal/v1',
        kind: 'NodeDesiredState',
        nodeId,
        generation: 14,
        issuedAt: new Date().toISOString(),
        workloads: [{ name: 'Bad Name!' }],
      } as never,
      hub.keys.privateKeyPem,
    )
    await rejects(t, 'signed but schema-invalid', encodeMessage(invalid), 'invalid')
    t.equal((await agent.status()).generation, 5, 'nothing was stored')
  })

  await t.test('garbage on the desired and ack topics does not crash it', async (t) => {
    await rejects(t, 'malformed JSON', '{"apiVersion": "shoal/v1", "generation": ', 'malformed-json')
    await rejects(t, 'binary noise', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80, 0x7f]), 'malformed-json')
    await rejects(t, 'a JSON array', '[1, 2, 3]', 'bad-signature')
    await rejects(t, 'a JSON string', '"hello"', 'bad-signature')
    const oversize = `{"pad": "${'x'.repeat(MAX_BYTES.desired + 16)}"}`
    await rejects(t, 'an oversize payload', oversize, 'oversize')
    // Empty is how MQTT clears a retained message; whether that deserves an event is the
    // intake's call, so only survival is asserted here (the next subtest converges).
    await hub.publishDocumentBytes(nodeId, Buffer.alloc(0))

    const ackGarbage: Array<[string, Buffer | string]> = [
      ['malformed JSON', '{"nodeId": '],
      ['binary noise', Buffer.from([0xde, 0xad, 0xbe, 0xef])],
      ['wrong shape', '{"seq": "lots"}'],
      ['negative seq', JSON.stringify({ nodeId, seq: -5 })],
      ['oversize', JSON.stringify({ nodeId, seq: 1, pad: 'y'.repeat(MAX_BYTES.ack * 64) })],
      ['another node', JSON.stringify({ nodeId: 't-someone-else', seq: Number.MAX_SAFE_INTEGER })],
    ]
    const warnedBefore = agent.logLines(/ignoring (a malformed ack|an ack addressed to another node)/).length
    for (const [, payload] of ackGarbage) await hub.publishRaw(nodeId, 'ack', payload)
    await waitFor(() => agent.logLines(/ignoring (a malformed ack|an ack addressed to another node)/).length >= warnedBefore + ackGarbage.length, {
      what: 'the agent to log every bad ack',
    })
    t.pass(`all ${ackGarbage.length} bad acks were refused with a logged reason`)
    // A message on a channel the agent does not serve, and garbage on one it publishes itself.
    await hub.publishRaw(nodeId, 'logs-request', '{"garbage": true}')
    await hub.publishRaw(nodeId, 'outbox', 'not a batch')

    t.ok(agent.alive, 'the agent process is still running')
    t.equal((await agent.status()).generation, 5, 'the stored generation is unchanged')
    const now = await waitForRunning(nodeId, ['web-a'])
    t.equal(now.get('web-a')?.id, baseline.get('web-a')?.id, 'web-a was never touched')
    t.equal(await fetchText(portA), 'hello-web-a')
  })

  await t.test('it still converges on the next good document, and the outbox still drains', async (t) => {
    await hub.publishDesired(nodeId, [webA, webB], 20)
    const after = await waitForRunning(nodeId, ['web-a', 'web-b'])
    t.equal(after.get('web-a')?.id, baseline.get('web-a')?.id, 'web-a kept its container')
    t.equal(await waitFor(() => fetchText(portB), { what: 'web-b to serve', timeoutMs: 15_000 }), 'hello-web-b')
    await hub.waitForStatus(nodeId, (s) => s.observedGeneration === 20 && s.workloads.length === 2 && s.workloads.every((w) => w.state === 'running'), {
      what: 'generation 20 running',
    })
    await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'the outbox to drain', timeoutMs: 30_000 })
    t.equal((await nodeContainers(nodeId)).length, 2)
    t.same(hub.ledger.anomalies, [])
    // The one batch the hub refused is the garbage this test planted on the outbox topic.
    t.equal(hub.ledger.refused.length, 1, `the agent itself never sent an invalid batch: ${JSON.stringify(hub.ledger.refused)}`)
    t.match(hub.ledger.refused[0]?.reason ?? '', /not a batch/)
    t.ok(agent.alive)
  })
})
