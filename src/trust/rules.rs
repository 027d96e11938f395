//! The trust rules: will the role's trust policy admit this job's
//! `AssumeRoleWithWebIdentity`, and does it admit more than it should?
//! A pure judge over [`TrustFacts`], with the project's IAM evaluator
//! ([`crate::policy::evaluate`]) deciding every condition.
//!
//! AWS passes a GitHub token's `sub` and `aud` to the trust policy as
//! `token.actions.githubusercontent.com:sub` and `…:aud`; a condition on
//! another claim key is reported as not evaluated rather than guessed.

use serde_json::json;

use super::claims::{Claims, ISSUER_HOST};
use super::facts::{Provider, TokenAvailability, TrustFacts};
use crate::policy::document::{Effect, PolicyDocument, Statement};
use crate::policy::evaluate::{Decision, PolicySet, Request, evaluate};
use crate::report::{Finding, Fix, Location, Severity};
use crate::rules::{Meaning, Rule};

/// The action a GitHub job's role assumption is.
pub const ASSUME_ACTION: &str = "sts:AssumeRoleWithWebIdentity";

const OIDC_DOCS: &str = "https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services";
const ROLE_DOCS: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html";

/// The job cannot get an OIDC token.
pub const TOKEN_UNAVAILABLE: Rule = Rule {
    id: "trust/id-token-unavailable",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The job runs under GitHub Actions with a role to assume but the runner gave it no OIDC token request URL.",
    why: "Without `permissions: id-token: write` (or in a pull request from a fork) the job has no token, so `AssumeRoleWithWebIdentity` cannot even be called.",
    fix: "Add `permissions: id-token: write` (and `contents: read`) to the job or workflow; fork pull requests never get a token, so run the credentialed part on `push` or `workflow_run`.",
    docs: OIDC_DOCS,
};

/// The trust policy's `sub` condition does not admit this job's subject.
pub const SUBJECT_NOT_ADMITTED: Rule = Rule {
    id: "trust/subject-not-admitted",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "No statement of the role's trust policy admits the subject (`sub`) this job presents.",
    why: "STS answers `Not authorized to perform sts:AssumeRoleWithWebIdentity` with no hint of which condition failed; jobs with `environment:`, pull requests and tags present other subjects than a branch.",
    fix: "Add this job's exact subject to the failing condition (not `repo:OWNER/REPO:*`, which admits every branch, environment and pull request).",
    docs: OIDC_DOCS,
};

/// The trust policy's `aud` condition does not admit this job's audience.
pub const AUDIENCE_NOT_ADMITTED: Rule = Rule {
    id: "trust/audience-not-admitted",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The role's trust policy tests `token.actions.githubusercontent.com:aud` and the audience this job asks for does not satisfy it.",
    why: "STS refuses the token before any permission is looked at.",
    fix: "Use the audience the policy expects (`sts.amazonaws.com` by default; the `audience` input changes it) or add the job's audience to the condition.",
    docs: OIDC_DOCS,
};

/// No statement trusts the account's GitHub OIDC provider.
pub const PROVIDER_NOT_TRUSTED: Rule = Rule {
    id: "trust/provider-not-trusted",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "No `Allow` statement of the trust policy names the account's GitHub OIDC provider as `Federated` principal for `sts:AssumeRoleWithWebIdentity`.",
    why: "A role trusted only by AWS principals or by another provider cannot be assumed with a GitHub token.",
    fix: "Add a statement with `\"Principal\": {\"Federated\": \"<provider ARN>\"}` and `\"Action\": \"sts:AssumeRoleWithWebIdentity\"`, with `aud` and `sub` conditions.",
    docs: ROLE_DOCS,
};

/// The account has no GitHub OIDC provider, or it does not accept the audience.
pub const PROVIDER_MISSING: Rule = Rule {
    id: "trust/provider-missing",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The account has no IAM OIDC provider for `token.actions.githubusercontent.com`, or its client id list lacks the job's audience.",
    why: "STS rejects a token whose issuer or audience no provider of the account registers, whatever the trust policy says.",
    fix: "Create the provider (`aws_iam_openid_connect_provider` with `url = \"https://token.actions.githubusercontent.com\"` and `client_id_list = [\"sts.amazonaws.com\"]`) or add the audience to its client ids.",
    docs: ROLE_DOCS,
};

/// The trust policy admits other repositories.
pub const ANY_REPOSITORY: Rule = Rule {
    id: "trust/any-repository",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "A statement trusting the GitHub provider has no `sub` condition, or one whose pattern admits repositories of other owners.",
    why: "Any GitHub repository's workflow could assume the role: a known takeover path for roles trusted by GitHub's OIDC provider.",
    fix: "Condition the statement on `token.actions.githubusercontent.com:sub` with this repository's subjects (`repo:OWNER/REPO:ref:refs/heads/main`, `repo:OWNER/REPO:environment:NAME`).",
    docs: OIDC_DOCS,
};

/// The trust policy admits every pull-request run of a public repository.
pub const PULL_REQUESTS_ADMITTED: Rule = Rule {
    id: "trust/pull-requests-admitted",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "The trust policy admits the subject `repo:OWNER/REPO:pull_request` of a public repository.",
    why: "Every pull-request run that gets a token, whatever branch and code it runs, can assume the role; a push role should not be reachable from unreviewed code.",
    fix: "Admit pull requests only on a read-only role, or require an environment with reviewers (`repo:OWNER/REPO:environment:NAME`).",
    docs: OIDC_DOCS,
};

/// A wildcard in a `StringEquals` condition.
pub const WILDCARD_IN_STRING_EQUALS: Rule = Rule {
    id: "trust/wildcard-in-string-equals",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "A `StringEquals` condition on a GitHub claim has a value with `*` or `?`.",
    why: "`StringEquals` compares literally: the value never matches a real subject, so the statement admits nothing through it.",
    fix: "Use `StringLike` for values with wildcards, or write the exact value.",
    docs: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String",
};

/// The job's subject format may not be the one the policy admits.
pub const SUBJECT_FORMAT: Rule = Rule {
    id: "trust/subject-format",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "The trust policy admits this job's subject in only one of GitHub's two formats (`repo:OWNER/REPO:…` or the immutable `repo:OWNER@ID/REPO@ID:…`), and the run's context does not say which one its repository uses.",
    why: "Repositories created after 15 July 2026, or opted in, present the immutable format; a policy written for the other refuses them.",
    fix: "Admit the subject in the format the repository uses, or both while migrating.",
    docs: "https://docs.github.com/en/actions/reference/openid-connect-reference",
};

/// The requested session is longer than the role allows.
pub const SESSION_TOO_LONG: Rule = Rule {
    id: "trust/session-duration-over-maximum",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "`role-duration-seconds` is over the role's `MaxSessionDuration`, or over one hour for a chained role.",
    why: "STS refuses the call (`DurationSeconds exceeds the MaxSessionDuration`; role chaining is limited to one hour).",
    fix: "Lower `role-duration-seconds`, or raise the role's `MaxSessionDuration` (up to 12 hours; chained sessions stay at one hour).",
    docs: "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html",
};

/// The trust decision depends on what could not be known.
pub const NOT_EVALUATED: Rule = Rule {
    id: "trust/not-evaluated",
    severity: Severity::Warning,
    meaning: Meaning::NotVerified,
    what: "Whether the trust policy admits this job depends on a claim the tool could not know (an environment given by an expression, a condition on a claim key AWS's evaluation is not modelled for).",
    why: "A pass would be a guess.",
    fix: "Give the missing value (`--oidc-sub-claim-keys`, a literal `environment:`), or check the decision in CloudTrail's `AssumeRoleWithWebIdentity` events.",
    docs: OIDC_DOCS,
};

/// Every trust rule, in the order the README lists them.
pub const RULES: &[Rule] = &[
    TOKEN_UNAVAILABLE,
    SUBJECT_NOT_ADMITTED,
    AUDIENCE_NOT_ADMITTED,
    PROVIDER_NOT_TRUSTED,
    PROVIDER_MISSING,
    ANY_REPOSITORY,
    PULL_REQUESTS_ADMITTED,
    WILDCARD_IN_STRING_EQUALS,
    SUBJECT_FORMAT,
    SESSION_TOO_LONG,
    NOT_EVALUATED,
];

/// The rules whose error says why STS refused (or will refuse) the role
/// assumption: where one holds, `check` reports it instead of the bare
/// `credentials/unavailable`.
pub const EXPLAINS_REFUSAL: &[Rule] = &[
    TOKEN_UNAVAILABLE,
    SUBJECT_NOT_ADMITTED,
    AUDIENCE_NOT_ADMITTED,
    PROVIDER_NOT_TRUSTED,
    PROVIDER_MISSING,
];

/// One hour: the most a chained role session may last.
const CHAINED_SESSION_MAX: u32 = 3600;

/// Judges the facts: every trust finding.
pub fn judge(facts: &TrustFacts) -> Vec<Finding> {
    let mut findings = Vec::new();
    if facts.token == TokenAvailability::Missing && facts.token_needed {
        findings.push(
            TOKEN_UNAVAILABLE
                .finding(
                    "The job has no OIDC token: `permissions: id-token: write` is missing",
                    format!(
                        "ACTIONS_ID_TOKEN_REQUEST_URL is not set, so this job cannot ask GitHub for a token and `{ASSUME_ACTION}` on {} cannot be called. The job (or the workflow) needs `permissions: id-token: write`; pull requests from forks never get one.",
                        facts.role_arn
                    ),
                )
                .with_resources([facts.role_arn.clone()])
                .with_iam_action(ASSUME_ACTION)
                .with_fix(Fix {
                    description: "Grant the job the token permission.".to_string(),
                    policy_statement: None,
                    terraform: None,
                    aws_cli: Some("permissions:\n  id-token: write\n  contents: read".to_string()),
                }),
        );
    }
    session_duration(facts, &mut findings);
    provider(facts, &mut findings);
    let Some(document) = &facts.trust_policy else {
        if let Some(why) = &facts.trust_policy_unread {
            findings.push(
                NOT_EVALUATED
                    .finding("The role's trust policy could not be read", why.clone())
                    .with_resources([facts.role_arn.clone()])
                    .with_iam_action("iam:GetRole"),
            );
        }
        return findings;
    };
    let provider_arn = facts.provider_arn();
    let trusting: Vec<&Statement> = document
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow && names_provider(document, s, facts, &provider_arn))
        .collect();
    if trusting.is_empty() {
        findings.push(provider_not_trusted(document, facts, &provider_arn));
        return findings;
    }
    breadth::over_broad(document, &trusting, facts, &mut findings);
    if let Some(claims) = &facts.claims {
        admission::admission(document, &trusting, facts, claims, &mut findings);
    }
    findings
}

fn session_duration(facts: &TrustFacts, findings: &mut Vec<Finding>) {
    let Some(requested) = facts.requested_duration else {
        return;
    };
    let (limit, why) = if facts.role_chaining && requested > CHAINED_SESSION_MAX {
        (
            CHAINED_SESSION_MAX,
            "a chained role session (AssumeRole from another role's session) lasts at most one hour",
        )
    } else if let Some(max) = facts.max_session_duration.filter(|max| requested > *max) {
        (max, "the role's MaxSessionDuration")
    } else {
        return;
    };
    findings.push(
        SESSION_TOO_LONG
            .finding(
                format!("A {requested} s session is longer than {limit} s"),
                format!(
                    "role-duration-seconds asks for {requested} seconds but {why} is {limit} seconds; STS refuses the call."
                ),
            )
            .with_resources([facts.role_arn.clone()])
            .with_fix(Fix {
                description: format!("Ask for at most {limit} seconds."),
                policy_statement: None,
                terraform: (!facts.role_chaining)
                    .then(|| format!("resource \"aws_iam_role\" \"…\" {{\n  max_session_duration = {requested}\n}}")),
                aws_cli: (!facts.role_chaining).then(|| {
                    format!(
                        "aws iam update-role --role-name {} --max-session-duration {requested}",
                        role_name(&facts.role_arn)
                    )
                }),
            }),
    );
}

fn provider(facts: &TrustFacts, findings: &mut Vec<Finding>) {
    let audiences: Vec<&str> = facts
        .claims
        .as_ref()
        .map(|c| c.aud.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let (title, message, resources) = match &facts.provider {
        Provider::Unknown => return,
        Provider::Missing { looked_in, certain } => (
            format!("{looked_in} has no GitHub OIDC provider"),
            if *certain {
                format!(
                    "{looked_in} has no IAM OIDC provider for https://{ISSUER_HOST}, so STS cannot accept any GitHub token for {}.",
                    facts.role_arn
                )
            } else {
                format!(
                    "{looked_in} declares no IAM OIDC provider for https://{ISSUER_HOST} (neither a resource nor a data source). Unless another stack creates it in the account, STS cannot accept any GitHub token for {}.",
                    facts.role_arn
                )
            },
            vec![facts.role_arn.clone()],
        ),
        Provider::Present {
            arn,
            client_ids,
            source,
        } => {
            let missing: Vec<&str> = audiences
                .iter()
                .copied()
                .filter(|aud| !client_ids.iter().any(|id| id == aud))
                .collect();
            if missing.is_empty() {
                return;
            }
            (
                format!(
                    "The GitHub OIDC provider does not accept the audience {}",
                    missing.join(", ")
                ),
                format!(
                    "The provider {arn} ({source}) lists the client ids [{}]; the job's token has the audience {}, so STS refuses it.",
                    client_ids.join(", "),
                    missing.join(", ")
                ),
                vec![arn.clone()],
            )
        }
    };
    let audience = audiences
        .first()
        .copied()
        .unwrap_or(super::claims::DEFAULT_AUDIENCE);
    let severity = match &facts.provider {
        Provider::Missing { certain: false, .. } => Severity::Warning,
        _ => PROVIDER_MISSING.severity,
    };
    findings.push(
        PROVIDER_MISSING
            .finding(title, message)
            .with_severity(severity)
            .with_resources(resources)
            .with_fix(Fix {
                description: format!("Register GitHub's issuer with the audience {audience}."),
                policy_statement: None,
                terraform: Some(format!(
                    "resource \"aws_iam_openid_connect_provider\" \"github\" {{\n  url            = \"https://{ISSUER_HOST}\"\n  client_id_list = [\"{audience}\"]\n}}"
                )),
                aws_cli: Some(format!(
                    "aws iam create-open-id-connect-provider --url https://{ISSUER_HOST} --client-id-list {audience}"
                )),
            }),
    );
}

/// Whether the statement, its conditions aside, lets the provider call the action.
fn names_provider(
    document: &PolicyDocument,
    statement: &Statement,
    facts: &TrustFacts,
    provider_arn: &str,
) -> bool {
    let bare = Statement {
        condition: Vec::new(),
        ..statement.clone()
    };
    decide(document, bare, &base_request(facts, provider_arn)) == Decision::Allowed
}

fn provider_not_trusted(
    document: &PolicyDocument,
    facts: &TrustFacts,
    provider_arn: &str,
) -> Finding {
    let federated: Vec<String> = document
        .statements
        .iter()
        .filter_map(|s| match &s.principal {
            Some(crate::policy::document::Principals::Listed(listed)) => Some(listed),
            _ => None,
        })
        .flatten()
        .filter(|(kind, _)| *kind == crate::policy::document::PrincipalType::Federated)
        .flat_map(|(_, ids)| ids.iter().cloned())
        .collect();
    let named = if federated.is_empty() {
        "names no Federated principal".to_string()
    } else {
        format!("trusts only {}", federated.join(", "))
    };
    PROVIDER_NOT_TRUSTED
        .finding(
            "The trust policy does not trust the GitHub OIDC provider",
            format!(
                "{}'s trust policy ({}) {named}; no Allow statement lets {provider_arn} call {ASSUME_ACTION}.",
                facts.role_arn, document.source.label
            ),
        )
        .with_resources([facts.role_arn.clone()])
        .with_iam_action(ASSUME_ACTION)
        .with_location(location(document, None))
        .with_fix(Fix {
            description: "Trust the provider, for this repository's subjects only.".to_string(),
            policy_statement: Some(json!({
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": ASSUME_ACTION,
                "Condition": {
                    "StringEquals": {format!("{ISSUER_HOST}:aud"): super::claims::DEFAULT_AUDIENCE},
                    "StringLike": {format!("{ISSUER_HOST}:sub"): facts
                        .claims
                        .as_ref()
                        .and_then(|c| c.sub.clone())
                        .unwrap_or_else(|| "repo:OWNER/REPO:ref:refs/heads/main".to_string())},
                }
            })),
            terraform: None,
            aws_cli: None,
        })
}

fn base_request(facts: &TrustFacts, provider_arn: &str) -> Request {
    Request::new(
        ASSUME_ACTION,
        facts.role_arn.clone(),
        provider_arn.to_string(),
    )
}

fn job_request(facts: &TrustFacts, provider_arn: &str, claims: &Claims, subject: &str) -> Request {
    base_request(facts, provider_arn)
        .with_context(format!("{ISSUER_HOST}:sub"), [subject])
        .with_context(format!("{ISSUER_HOST}:aud"), claims.aud.clone())
}

/// The decision of a document holding only `statement`.
fn decide(document: &PolicyDocument, statement: Statement, request: &Request) -> Decision {
    let set = PolicySet {
        resource: vec![PolicyDocument {
            statements: vec![statement],
            ..document.clone()
        }],
        ..PolicySet::default()
    };
    evaluate(&set, request).decision
}

fn statement_name(document: &PolicyDocument, statement: &Statement) -> String {
    match &statement.sid {
        Some(sid) => format!(
            "statement {sid:?} ({} Statement[{}])",
            document.source.label, statement.index
        ),
        None => format!("{} Statement[{}]", document.source.label, statement.index),
    }
}

fn location(
    document: &PolicyDocument,
    at: Option<(&Statement, Option<usize>)>,
) -> Option<Location> {
    let file = document.source.file.clone()?;
    let line = at.and_then(|(statement, line)| line.or(statement.line));
    Some(Location {
        file: Some(file),
        line,
        address: None,
    })
}

fn role_name(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}

mod admission;
mod breadth;

#[cfg(test)]
mod tests;
