// Regenerates tests/fixtures/iam-diff/cases.json: every generated case
// (cases.mjs) with the decision of an independent simulator,
// @cloud-copilot/iam-simulate (version pinned in package-lock.json). The Rust
// test tests/iam_diff.rs reads the fixture offline and compares our
// evaluator's decision on every case.
//
//   cd scripts/iam-diff && npm ci && node regenerate.mjs
import { writeFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import { runSimulation } from '@cloud-copilot/iam-simulate'
import { A, REGION, allCases } from './cases.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, '..', '..', 'tests', 'fixtures', 'iam-diff', 'cases.json')
const version = JSON.parse(readFileSync(join(here, 'node_modules', '@cloud-copilot', 'iam-simulate', 'package.json'), 'utf8')).version

const account = (arn) => (arn.startsWith('arn:') ? arn.split(':')[4] : '') || ''

/** What the simulator is told: the request as AWS would see it. */
export function simulation(c) {
  const r = c.request
  const principalAccount = account(r.principal)
  const roleName = r.principal.includes(':role/') ? r.principal.split('/').pop() : null
  const caller = roleName ? `arn:aws:sts::${principalAccount}:assumed-role/${roleName}/${r.session}` : r.principal
  const resourceAccount = account(r.resource) || principalAccount
  const context = {
    'aws:PrincipalArn': r.principal,
    'aws:PrincipalAccount': principalAccount,
    'aws:ResourceAccount': resourceAccount,
    'aws:RequestedRegion': REGION,
    'aws:userid': roleName ? `AROAEXAMPLEROLEID:${r.session}` : 'AIDAEXAMPLEUSERID'
  }
  if (!roleName) context['aws:username'] = r.principal.split('/').pop()
  Object.assign(context, r.context)
  return {
    request: { principal: caller, action: r.action, resource: { resource: r.resource, accountId: resourceAccount }, contextVariables: context },
    identityPolicies: c.identity.map((policy, i) => ({ name: `identity${i}`, policy })),
    serviceControlPolicies: c.scps.length ? [{ orgIdentifier: 'o-example', policies: c.scps.map((policy, i) => ({ name: `scp${i}`, policy })) }] : [],
    resourceControlPolicies: [],
    resourcePolicy: c.resource_policy ?? undefined,
    permissionBoundaryPolicies: c.boundary ? [{ name: 'boundary', policy: c.boundary }] : undefined,
    sessionPolicy: c.session_policy ?? undefined
  }
}

if (process.argv[1] && process.argv[1].endsWith("regenerate.mjs")) await main()
async function main() {
const cases = []
for (const c of allCases()) {
  let simulator
  try {
    const response = await runSimulation(simulation(c), {})
    simulator = response.resultType === 'error' ? 'Rejected' : response.overallResult
  } catch (error) {
    simulator = 'Rejected'
  }
  cases.push({ ...c, simulator })
}
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify({ simulator: `@cloud-copilot/iam-simulate ${version}`, account: A, cases }, null, 1) + '\n')
const tally = {}
for (const c of cases) tally[c.simulator] = (tally[c.simulator] ?? 0) + 1
console.log(`${cases.length} cases -> ${out}`, tally)
}
