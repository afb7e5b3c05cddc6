// Chaos: the hub SIGKILLed while applies stream in. An apply the hub answered was committed
// before the answer, so every answered apply must be there after a restart, at the revision it
// was answered with; one that got no answer may or may not be. Each round kills at a moment
// from a seeded PRNG (the seed is printed); the number of rounds bounds the time.
import t from 'tap'
import { deploymentYaml, sleepTemplate, startHubProcess } from '../support/hub-process.js'
import { testImage } from '../support/index.js'
import { prng } from '../support/prng.js'

t.setTimeout(300_000)

const ROUNDS = 5
const SEED = Number(process.env.SHOAL_CHAOS_SEED ?? 20261206)

t.test('every apply the hub answered survives a SIGKILL', async (t) => {
  t.comment(`seed ${SEED} (replay with SHOAL_CHAOS_SEED=${SEED})`)
  const random = prng(SEED)
  const image = testImage()
  const hub = await startHubProcess(t)
  const answered = new Map<string, number>()
  let unanswered = 0
  let sent = 0
  for (let round = 1; round <= ROUNDS; round++) {
    let stop = false
    // A stream of applies, each a new deployment or a new revision of an earlier one.
    const stream = (async () => {
      while (!stop) {
        const name = `chaos-${round}-${sent % 7}`
        const body = deploymentYaml(name, { replicas: 0, template: sleepTemplate(image, { env: { N: String(sent) } }) })
        sent++
        try {
          const response = await hub.api('POST', '/api/v1/manifests', body, { contentType: 'application/yaml' })
          if (response.status === 200) answered.set(name, response.body.results[0].revision)
        } catch {
          unanswered++
          return
        }
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(random() * 1_500)))
    await hub.kill('SIGKILL')
    stop = true
    await stream
    await hub.start()
    const live = new Map(((await hub.api('GET', '/api/v1/deployments')).body.items as { name: string; revision: number }[]).map((d) => [d.name, d.revision]))
    const lost = [...answered].filter(([name, revision]) => (live.get(name) ?? 0) < revision)
    t.same(lost, [], `round ${round}: every answered apply is there (${answered.size} answered so far)`)
  }
  t.ok(answered.size > ROUNDS, `applies were answered between the kills (${answered.size} deployments)`)
  t.comment(`figures: ${JSON.stringify({ kills: ROUNDS, applies: sent, answeredDeployments: answered.size, unanswered })}`)
})
