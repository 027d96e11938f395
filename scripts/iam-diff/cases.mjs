// The generated corpus: families of cases that each vary one part of AWS's
// evaluation logic over the push flow's nine ECR actions, plus seeded random
// combinations. Pure and deterministic: the same cases every run.

export const A = '111111111111'
export const B = '222222222222'
export const REGION = 'us-east-1'
export const repo = (name, account = A, region = REGION) =>
  `arn:aws:ecr:${region}:${account}:repository/${name}`
export const ROLE = `arn:aws:iam::${A}:role/push`
export const USER = `arn:aws:iam::${A}:user/ci`
export const OTHER_ROLE = `arn:aws:iam::${B}:role/deploy`
export const ACTIONS = [
  'ecr:GetAuthorizationToken',
  'ecr:BatchCheckLayerAvailability',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchDeleteImage'
]

const V = '2012-10-17'
export const doc = (statements, version = V) =>
  version === null ? { Statement: statements } : { Version: version, Statement: statements }
const allowAll = { Effect: 'Allow', Action: '*', Resource: '*' }
const allowEcr = { Effect: 'Allow', Action: 'ecr:*', Resource: '*' }

/** A case: policies, a request, and what the generator varies. */
function makeCase(family, n, parts) {
  const principal = parts.principal ?? ROLE
  const action = parts.action ?? 'ecr:PutImage'
  const resource = parts.resource ?? (action === 'ecr:GetAuthorizationToken' ? '*' : repo('app'))
  return {
    id: `${family}-${String(n).padStart(3, '0')}`,
    family,
    identity: parts.identity ?? [],
    resource_policy: parts.resource_policy ?? null,
    boundary: parts.boundary ?? null,
    scps: parts.scps ?? [],
    session_policy: parts.session_policy ?? null,
    request: {
      action,
      resource,
      principal,
      // The role session's name; null for a user.
      session: principal.includes(':role/') ? (parts.session ?? 'GitHubActions') : null,
      context: parts.context ?? {},
      // Context keys our side is told nothing about (the simulator sees them absent).
      unknown: parts.unknown ?? []
    }
  }
}

function family(name, build) {
  let n = 0
  const out = []
  build((parts) => out.push(makeCase(name, ++n, parts)))
  return out
}

const actions = family('actions', (add) => {
  const patterns = ['ecr:*', 'ecr:Put*', 'ECR:putimage', 'ecr:*Layer*', 'ecr:Batch?etImage', '*',
    'ecr:PutImag?', 'ecr:get*', 's3:*', 'ecr:*Image', 'ecr:BatchGetImage', 'Ecr:CompleteLayerUPLOAD']
  for (const pattern of patterns)
    for (const action of ACTIONS)
      add({ action, identity: [doc([{ Effect: 'Allow', Action: pattern, Resource: '*' }])] })
})

const notActions = family('not-action', (add) => {
  const patterns = ['s3:*', 'ecr:PutImage', 'ecr:*Layer*', 'ECR:Batch*', 'iam:*']
  for (const pattern of patterns)
    for (const action of ['ecr:GetAuthorizationToken', 'ecr:PutImage', 'ecr:UploadLayerPart', 'ecr:BatchGetImage']) {
      add({ action, identity: [doc([{ Effect: 'Allow', NotAction: pattern, Resource: '*' }])] })
      add({ action, identity: [doc([allowEcr, { Effect: 'Deny', NotAction: pattern, Resource: '*' }])] })
    }
})

const requests = [
  ['ecr:PutImage', repo('app')],
  ['ecr:PutImage', repo('team/app')],
  ['ecr:BatchGetImage', repo('prod-app')],
  ['ecr:PutImage', repo('App')],
  ['ecr:GetAuthorizationToken', '*']
]
const resources = family('resources', (add) => {
  const patterns = ['*', repo('app'), repo('*'), `arn:aws:ecr:*:${A}:repository/app`, 'arn:aws:ecr:us-east-1:*',
    repo('a?p'), repo('App'), `arn:aws:ecr:us-east-1:${A}:*`, 'arn:aws:ecr:*:*:*',
    `arn:aws:*:us-east-1:${A}:repository/app`, repo('team/*'), repo('*app'), `arn:aws:ecr:us-east-1:${B}:repository/app`,
    'arn:aws:ecr:us-east-1:*:repository/app', 'arn:*:ecr:us-east-1:*:repository/*', `arn:aws:ecr:us-east-?:${A}:repository/app`]
  for (const pattern of patterns)
    for (const [action, resource] of requests)
      add({ action, resource, identity: [doc([{ Effect: 'Allow', Action: 'ecr:*', Resource: pattern }])] })
  for (const pattern of [repo('prod-*'), repo('*'), '*', `arn:aws:ecr:*:${A}:repository/team/*`])
    for (const [action, resource] of requests) {
      add({ action, resource, identity: [doc([{ Effect: 'Allow', Action: 'ecr:*', NotResource: pattern }])] })
      add({ action, resource, identity: [doc([allowEcr, { Effect: 'Deny', Action: 'ecr:*', NotResource: pattern }])] })
    }
})

// Each operator family with its keys, values and request contexts.
const operatorFamilies = [
  { ops: ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase'],
    key: 'aws:PrincipalTag/team', values: ['Platform', ['platform', 'web']], contexts: [['Platform'], ['platform'], ['web'], null] },
  { ops: ['StringLike', 'StringNotLike'], key: 'aws:PrincipalTag/team',
    values: ['plat*', ['we?', 'x*']], contexts: [['platform'], ['Platform'], ['web'], null] },
  { ops: ['StringEquals', 'StringLike'], key: 'aws:TagKeys', multi: true,
    values: [['env', 'team'], 'env'], contexts: [['env'], ['env', 'team'], ['env', 'owner'], null] },
  { ops: ['NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals'],
    key: 'aws:MultiFactorAuthAge', values: ['3600', ['60', '7200']], contexts: [['3600'], ['100'], ['99999'], null] },
  { ops: ['DateEquals', 'DateNotEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals'],
    key: 'aws:CurrentTime', values: ['2026-01-01T00:00:00Z'], contexts: [['2026-01-01T00:00:00Z'], ['2025-06-01T12:00:00Z'], ['2027-03-01T00:00:00Z'], null] },
  { ops: ['Bool'], key: 'aws:SecureTransport', values: ['true', 'false', ['true']], contexts: [['true'], ['false'], null] },
  { ops: ['Bool'], key: 'aws:MultiFactorAuthPresent', values: ['TRUE'], contexts: [['true'], ['false'], null] },
  { ops: ['IpAddress', 'NotIpAddress'], key: 'aws:SourceIp',
    values: ['203.0.113.0/24', ['10.0.0.0/8', '192.0.2.7']], contexts: [['203.0.113.9'], ['192.0.2.7'], ['198.51.100.1'], null] },
  { ops: ['ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike'], key: 'aws:SourceArn',
    values: [`arn:aws:codebuild:us-east-1:${A}:project/*`, [`arn:aws:codebuild:us-east-1:${A}:project/ci`]],
    contexts: [[`arn:aws:codebuild:us-east-1:${A}:project/ci`], [`arn:aws:codebuild:us-east-1:${B}:project/ci`], null] },
  { ops: ['Null'], key: 'aws:SourceVpc', values: ['true', 'false'], contexts: [['vpc-1'], null] }
]
const conditions = family('conditions', (add) => {
  for (const fam of operatorFamilies)
    for (const op of fam.ops) {
      const prefixes = op === 'Null' ? [''] : fam.multi ? ['ForAnyValue:', 'ForAllValues:'] : ['', 'ForAnyValue:', 'ForAllValues:']
      const suffixes = op === 'Null' ? [''] : ['', 'IfExists']
      for (const prefix of prefixes)
        for (const suffix of suffixes)
          for (const value of fam.values)
            for (const ctx of fam.contexts) {
              // Keep the corpus a reviewer's size: not every product for the wide families.
              if (prefix !== '' && value !== fam.values[0]) continue
              if (fam.ops.length > 2 && (prefix !== '' || suffix !== '' || Array.isArray(value)) && ctx !== null && ctx !== fam.contexts[0]) continue
              const condition = { [`${prefix}${op}${suffix}`]: { [fam.key]: value } }
              const context = ctx === null ? {} : { [fam.key]: ctx }
              add({ context, identity: [doc([{ Effect: 'Allow', Action: 'ecr:*', Resource: '*', Condition: condition }])] })
            }
    }
})

const variables = family('variables', (add) => {
  const tagged = { 'aws:PrincipalTag/team': ['app'] }
  const resourcesWithVars = [
    repo('${aws:PrincipalTag/team}'),
    repo('${aws:PrincipalTag/team, \'app\'}'),
    repo('${aws:PrincipalTag/team, \'web\'}'),
    `arn:aws:ecr:${REGION}:\${aws:PrincipalAccount}:repository/app`,
    `arn:aws:ecr:\${aws:RequestedRegion}:${A}:repository/app`,
    `arn:aws:ecr:${REGION}:${A}:repository/\${aws:PrincipalAccount}-app`,
    repo('ap${?}'),
    repo('app${*}'),
    repo('${*}'),
    repo('a${$}p'),
    repo('team/${aws:username}'),
    repo('${aws:PrincipalTag/team}/*')
  ]
  for (const version of [V, '2008-10-17', null])
    for (const pattern of resourcesWithVars)
      for (const [context, resource] of [[tagged, repo('app')], [{}, repo('app')], [tagged, repo('team/ci')], [{}, repo('ap?')]]) {
        if (version !== V && resource !== repo('app')) continue
        add({ resource, context, identity: [doc([{ Effect: 'Allow', Action: 'ecr:*', Resource: pattern }], version)] })
      }
  // Variables in condition values.
  for (const version of [V, null])
    for (const context of [{ 'aws:PrincipalTag/team': ['app'], 'aws:ResourceTag/team': ['app'] },
      { 'aws:PrincipalTag/team': ['app'], 'aws:ResourceTag/team': ['web'] }])
      add({ context, identity: [doc([{ Effect: 'Allow', Action: 'ecr:*', Resource: '*',
        Condition: { StringEquals: { 'aws:ResourceTag/team': '${aws:PrincipalTag/team}' } } }], version)] })
  // A user: ${aws:username} is the user's name.
  for (const name of ['ci', 'other'])
    add({ principal: USER, resource: repo(`team/${name}`),
      identity: [doc([{ Effect: 'Allow', Action: 'ecr:*', Resource: repo('team/${aws:username}') }])] })
})

const boundaries = family('boundaries', (add) => {
  const identities = [[doc([allowEcr])], [], [doc([{ Effect: 'Allow', Action: 'ecr:BatchGetImage', Resource: '*' }])]]
  const bounds = [doc([allowEcr]), doc([{ Effect: 'Allow', Action: 'ecr:Get*', Resource: '*' }]),
    doc([allowAll, { Effect: 'Deny', Action: 'ecr:PutImage', Resource: '*' }]), doc([{ Effect: 'Allow', Action: 's3:*', Resource: '*' }])]
  const repoPolicies = [null, doc([{ Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'ecr:*' }])]
  for (const principal of [ROLE, USER])
    for (const identity of identities)
      for (const boundary of bounds)
        for (const resource_policy of repoPolicies)
          for (const action of ['ecr:PutImage', 'ecr:GetAuthorizationToken'])
            add({ principal, action, identity, boundary, resource_policy })
})

const scps = family('scps', (add) => {
  const sets = [[doc([allowAll])], [doc([{ Effect: 'Allow', Action: 'ecr:Get*', Resource: '*' }])],
    [doc([allowAll, { Effect: 'Deny', Action: 'ecr:PutImage', Resource: '*', Condition: { StringNotEquals: { 'aws:RequestedRegion': 'eu-west-1' } } }])],
    [doc([{ Effect: 'Allow', Action: 'ecr:*', Resource: repo('*') }])]]
  for (const scp of sets)
    for (const identity of [[doc([allowEcr])], []])
      for (const resource_policy of [null, doc([{ Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'ecr:*' }])])
        for (const action of ['ecr:PutImage', 'ecr:GetAuthorizationToken', 'ecr:BatchGetImage'])
          add({ action, identity, scps: scp, resource_policy, context: { 'aws:RequestedRegion': [REGION] } })
})

const sessions = family('session', (add) => {
  const policies = [doc([allowEcr]), doc([{ Effect: 'Allow', Action: 'ecr:BatchGetImage', Resource: '*' }]),
    doc([{ Effect: 'Allow', Action: 'ecr:*', Resource: repo('app') }])]
  for (const session_policy of policies)
    for (const identity of [[doc([allowEcr])], []])
      for (const resource_policy of [null, doc([{ Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'ecr:*' }]),
        doc([{ Effect: 'Allow', Principal: { AWS: `arn:aws:sts::${A}:assumed-role/push/GitHubActions` }, Action: 'ecr:*' }])])
        for (const action of ['ecr:PutImage', 'ecr:BatchGetImage'])
          add({ action, identity, session_policy, resource_policy })
})

const repositories = family('repository-policy', (add) => {
  const principalForms = [
    '*', { AWS: '*' }, { AWS: ROLE }, { AWS: A }, { AWS: `arn:aws:iam::${A}:root` }, { AWS: USER },
    { AWS: OTHER_ROLE }, { AWS: B }, { AWS: `arn:aws:sts::${A}:assumed-role/push/GitHubActions` },
    { AWS: `arn:aws:sts::${A}:assumed-role/push/other` }, { AWS: [ROLE, OTHER_ROLE] }, { Service: 'codebuild.amazonaws.com' }
  ]
  const callers = [[ROLE, repo('app')], [USER, repo('app')], [OTHER_ROLE, repo('app')], [ROLE, repo('app', B)]]
  for (const principal of principalForms)
    for (const [caller, resource] of callers)
      for (const identity of [[doc([allowEcr])], []])
        add({ principal: caller, resource, identity,
          resource_policy: doc([{ Effect: 'Allow', Principal: principal, Action: ['ecr:PutImage', 'ecr:BatchGetImage'] }]) })
  for (const [caller, resource] of callers)
    for (const excluded of [ROLE, OTHER_ROLE, `arn:aws:sts::${A}:assumed-role/push/GitHubActions`])
      add({ principal: caller, resource, identity: [doc([allowEcr])],
        resource_policy: doc([{ Effect: 'Allow', Principal: '*', Action: 'ecr:*' },
          { Effect: 'Deny', NotPrincipal: { AWS: excluded }, Action: 'ecr:PutImage' }]) })
})

const principals = family('principals', (add) => {
  // aws:userid and aws:PrincipalArn conditions for the role's session.
  for (const session of ['GitHubActions', 'other'])
    for (const condition of [
      { StringLike: { 'aws:userid': '*:GitHubActions' } },
      { StringEquals: { 'aws:PrincipalArn': ROLE } },
      { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${A}:role/*` } },
      { StringEquals: { 'aws:username': 'ci' } },
      { Null: { 'aws:username': 'true' } }
    ])
      add({ session, identity: [doc([{ Effect: 'Allow', Action: 'ecr:*', Resource: '*', Condition: condition }])] })
})

const grammar = family('grammar', (add) => {
  for (const action of ['ecr :PutImage', 'e*r:PutImage', 'ecr:Put Image', ':PutImage', 'ecr:', 'ecr*',
    'ec?:PutImage', 'ecr:PutImage', 'ecr:Put*', 'ecr:*', 'ecr:Put:Image'])
    add({ identity: [doc([{ Effect: 'Allow', Action: action, Resource: '*' }])] })
})

/** A small seeded generator (mulberry32): the same numbers every run. */
function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const random = family('random', (add) => {
  const r = rng(13)
  const pick = (xs) => xs[Math.floor(r() * xs.length)]
  const actionParts = [{ Action: 'ecr:*' }, { Action: '*' }, { Action: ['ecr:PutImage', 'ecr:BatchGetImage'] },
    { Action: 'ecr:*Layer*' }, { Action: 'ECR:Get*' }, { NotAction: 's3:*' }, { NotAction: 'ecr:PutImage' }, { Action: 's3:GetObject' }]
  const resourceParts = [{ Resource: '*' }, { Resource: repo('app') }, { Resource: `arn:aws:ecr:*:${A}:repository/*` },
    { Resource: 'arn:aws:ecr:us-east-1:*' }, { Resource: repo('App') }, { NotResource: repo('prod-*') }]
  const conditionParts = [null, null, { StringEquals: { 'aws:SourceVpce': 'vpce-1' } },
    { StringNotEquals: { 'aws:SourceVpce': ['vpce-1', 'vpce-2'] } }, { StringEqualsIfExists: { 'aws:SourceVpce': 'vpce-1' } },
    { Bool: { 'aws:SecureTransport': 'true' } }, { StringEquals: { 'aws:PrincipalAccount': A } },
    { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/*' } }, { Null: { 'aws:SourceVpc': 'true' } }]
  const principalParts = ['*', { AWS: ROLE }, { AWS: A }, { AWS: `arn:aws:iam::${B}:root` }, { AWS: USER }]
  const statement = (resourcePolicy) => {
    const effect = r() < 0.75 ? 'Allow' : 'Deny'
    const s = { Effect: effect }
    if (resourcePolicy) s.Principal = pick(principalParts)
    Object.assign(s, pick(actionParts))
    if (!resourcePolicy || r() < 0.3) Object.assign(s, pick(resourceParts))
    const c = pick(conditionParts)
    if (c) s.Condition = c
    return s
  }
  const policy = (resourcePolicy) => doc(Array.from({ length: 1 + Math.floor(r() * 3) }, () => statement(resourcePolicy)))
  for (let i = 0; i < 160; i++) {
    const action = pick(ACTIONS)
    const principal = pick([ROLE, ROLE, USER, OTHER_ROLE])
    const context = {}
    const vpce = pick([null, [], ['vpce-1'], ['vpce-3']])
    if (vpce && vpce.length) context['aws:SourceVpce'] = vpce
    const transport = pick([null, 'true', 'false'])
    if (transport) context['aws:SecureTransport'] = [transport]
    if (r() < 0.5) context['aws:SourceVpc'] = ['vpc-1']
    add({
      action, principal, context,
      identity: Array.from({ length: Math.floor(r() * 3) }, () => policy(false)),
      resource_policy: r() < 0.5 ? policy(true) : null,
      boundary: r() < 0.3 ? policy(false) : null,
      scps: r() < 0.3 ? [policy(false)] : [],
      session_policy: principal !== USER && r() < 0.2 ? policy(false) : null
    })
  }
})

// Open world: our side is told nothing about a key (undetermined is then a
// fine answer), the simulator sees it absent. A definite answer from us must
// still agree.
const openWorld = family('open-world', (add) => {
  const unknownKey = 'aws:SourceVpce'
  const statements = [
    { Effect: 'Allow', Action: 'ecr:*', Resource: repo('*'), Condition: { StringEquals: { [unknownKey]: 'vpce-1' } } },
    { Effect: 'Allow', Action: 'ecr:*', Resource: repo('${aws:PrincipalTag/team}') },
    { Effect: 'Deny', Action: 'ecr:*', Resource: repo('prod-*'), Condition: { StringNotEquals: { [unknownKey]: 'vpce-1' } } },
    { Effect: 'Allow', Action: 'ecr:*', Resource: repo('${aws:PrincipalTag/team}'), Condition: { StringEquals: { 'aws:PrincipalTag/team': 'app' } } },
    { Effect: 'Allow', Action: 'ecr:*', Resource: repo('${aws:PrincipalTag/team}'), Condition: { Null: { 'aws:PrincipalTag/team': 'false' } } }
  ]
  for (const s of statements)
    for (const [action, resource] of requests)
      for (const extra of [[], [allowEcr]])
        add({ action, resource, identity: [doc([...extra, s])], unknown: [unknownKey, 'aws:PrincipalTag/team'] })
})

export function allCases() {
  return [...actions, ...notActions, ...resources, ...conditions, ...variables, ...boundaries, ...scps,
    ...sessions, ...repositories, ...principals, ...grammar, ...random, ...openWorld]
}
