import { SLEEP_COMMAND, TEST_IMAGE } from './docker.mjs'

/**
 * One Deployment per name, as one multi-document YAML: the test image sleeping on the host
 * network, placed on the nodes labelled `bench=<selector>`.
 */
export function sleepDeployments(names, selector) {
  return names
    .map((name) =>
      [
        'apiVersion: shoal/v1',
        'kind: Deployment',
        `metadata: { name: ${name} }`,
        'spec:',
        `  selector: { matchLabels: { bench: ${selector} } }`,
        '  template:',
        `    image: ${TEST_IMAGE}`,
        `    command: ${JSON.stringify(SLEEP_COMMAND)}`,
        '    network: host',
      ].join('\n'),
    )
    .join('\n---\n')
}
