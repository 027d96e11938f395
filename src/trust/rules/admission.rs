//! Whether this job's claims get through the trust policy, and when they
//! do not, which condition fails, the value presented and the smallest
//! change that admits it.

use serde_json::json;

use super::{
    ASSUME_ACTION, AUDIENCE_NOT_ADMITTED, NOT_EVALUATED, SUBJECT_FORMAT, SUBJECT_NOT_ADMITTED,
    decide, job_request, location, role_name, statement_name,
};
use crate::policy::document::{Condition, PolicyDocument, Statement};
use crate::policy::evaluate::{Decision, PolicySet, Request, evaluate};
use crate::report::{Finding, Fix};
use crate::trust::claims::{Claims, ClaimsOrigin, ISSUER_HOST};
use crate::trust::facts::TrustFacts;

/// Whether this job's claims get through.
pub(super) fn admission(
    document: &PolicyDocument,
    trusting: &[&Statement],
    facts: &TrustFacts,
    claims: &Claims,
    findings: &mut Vec<Finding>,
) {
    let subjects = claims.subjects();
    if subjects.is_empty() {
        findings.push(
            NOT_EVALUATED
                .finding(
                    "This job's subject is not known before it runs",
                    format!(
                        "Whether {} admits this job cannot be decided: the subject depends on {}.",
                        facts.role_arn,
                        if claims.unknown.is_empty() {
                            "claims the token did not carry".to_string()
                        } else {
                            claims.unknown.join("; ")
                        }
                    ),
                )
                .with_resources([facts.role_arn.clone()])
                .with_iam_action(ASSUME_ACTION),
        );
        return;
    }
    let provider_arn = facts.provider_arn();
    let outcomes: Vec<(&str, Decision)> = subjects
        .iter()
        .map(|subject| {
            let request = job_request(facts, &provider_arn, claims, subject);
            let set = PolicySet {
                resource: vec![document.clone()],
                ..PolicySet::default()
            };
            (*subject, evaluate(&set, &request).decision)
        })
        .collect();
    let admitted: Vec<&str> = outcomes
        .iter()
        .filter(|(_, d)| *d == Decision::Allowed)
        .map(|(s, _)| *s)
        .collect();
    if admitted.len() == outcomes.len() {
        return;
    }
    if !admitted.is_empty() {
        let refused: Vec<&str> = outcomes
            .iter()
            .filter(|(_, d)| *d != Decision::Allowed)
            .map(|(s, _)| *s)
            .collect();
        findings.push(
            SUBJECT_FORMAT
                .finding(
                    "The trust policy admits this job in only one subject format",
                    format!(
                        "{} admits `{}` but not `{}`. Which of the two this repository's tokens carry depends on when it was created and on its OIDC settings (repositories created after 15 July 2026 present the immutable `repo:OWNER@ID/REPO@ID:…`).",
                        facts.role_arn,
                        admitted.join("`, `"),
                        refused.join("`, `")
                    ),
                )
                .with_resources([facts.role_arn.clone()])
                .with_iam_action(ASSUME_ACTION),
        );
        return;
    }
    // Every subject is refused, or undetermined: judge the first (the one the
    // token carries, or the legacy prediction).
    let (subject, decision) = outcomes[0];
    let request = job_request(facts, &provider_arn, claims, subject);
    if decision == Decision::Undetermined {
        findings.push(undetermined(document, trusting, facts, &request));
        return;
    }
    findings.push(refused(
        document, trusting, facts, claims, subject, decision, &request,
    ));
}

fn undetermined(
    document: &PolicyDocument,
    trusting: &[&Statement],
    facts: &TrustFacts,
    request: &Request,
) -> Finding {
    let keys: Vec<String> = trusting
        .iter()
        .flat_map(|s| s.condition.iter())
        .filter(|c| single(document, trusting, c, request) == Decision::Undetermined)
        .map(|c| format!("{} {} {:?}", c.operator, c.key, c.values))
        .collect();
    NOT_EVALUATED
        .finding(
            "Whether the trust policy admits this job depends on conditions not evaluated",
            format!(
                "{} admits this job only if these conditions hold, which the tool does not evaluate: {}.",
                facts.role_arn,
                keys.join("; ")
            ),
        )
        .with_resources([facts.role_arn.clone()])
        .with_iam_action(ASSUME_ACTION)
}

/// The decision of one condition of one of the trusting statements.
fn single(
    document: &PolicyDocument,
    trusting: &[&Statement],
    condition: &Condition,
    request: &Request,
) -> Decision {
    let Some(statement) = trusting.iter().find(|s| s.condition.contains(condition)) else {
        return Decision::Undetermined;
    };
    let alone = Statement {
        condition: vec![condition.clone()],
        ..(*statement).clone()
    };
    decide(document, alone, request)
}

fn refused(
    document: &PolicyDocument,
    trusting: &[&Statement],
    facts: &TrustFacts,
    claims: &Claims,
    subject: &str,
    decision: Decision,
    request: &Request,
) -> Finding {
    let presents = if claims.origin == ClaimsOrigin::Token {
        "presents"
    } else {
        "will present"
    };
    if decision == Decision::ExplicitDeny {
        return SUBJECT_NOT_ADMITTED
            .finding(
                format!("The trust policy denies `{subject}`"),
                format!(
                    "This job {presents} the subject `{subject}`, and a Deny statement of {}'s trust policy ({}) matches it.",
                    facts.role_arn, document.source.label
                ),
            )
            .with_resources([facts.role_arn.clone()])
            .with_iam_action(ASSUME_ACTION)
            .with_location(location(document, None));
    }
    // The statement closest to admitting the job: the fewest failing conditions.
    let mut best: Option<(&Statement, Vec<&Condition>)> = None;
    for statement in trusting {
        let failing: Vec<&Condition> = statement
            .condition
            .iter()
            .filter(|c| single(document, &[statement], c, request) == Decision::ImplicitDeny)
            .collect();
        if best.as_ref().is_none_or(|(_, f)| failing.len() < f.len()) {
            best = Some((statement, failing));
        }
    }
    let Some((statement, failing)) = best else {
        return SUBJECT_NOT_ADMITTED.finding(
            "The trust policy refuses this job",
            "No statement admits it.",
        );
    };
    let aud_key = format!("{ISSUER_HOST}:aud");
    if let Some(condition) = failing
        .iter()
        .find(|c| c.key.eq_ignore_ascii_case(&aud_key))
    {
        return AUDIENCE_NOT_ADMITTED
            .finding(
                format!("The trust policy does not admit the audience {}", claims.aud.join(", ")),
                format!(
                    "This job {presents} the audience {}; {} of {} requires {} {:?}.",
                    claims.aud.join(", "),
                    statement_name(document, statement),
                    facts.role_arn,
                    condition.operator,
                    condition.values
                ),
            )
            .with_resources([facts.role_arn.clone()])
            .with_iam_action(ASSUME_ACTION)
            .with_location(location(document, Some((statement, condition.line))))
            .with_fix(Fix {
                description: format!(
                    "Ask for the audience the policy expects (the `audience` input), or add {} to the condition.",
                    claims.aud.join(", ")
                ),
                policy_statement: None,
                terraform: None,
                aws_cli: None,
            });
    }
    let conditions: Vec<String> = failing
        .iter()
        .map(|c| format!("{} {} {:?}", c.operator, c.key, c.values))
        .collect();
    let sub_key = format!("{ISSUER_HOST}:sub");
    let sub_condition = failing
        .iter()
        .find(|c| c.key.eq_ignore_ascii_case(&sub_key));
    let mut message = format!(
        "STS will refuse `{ASSUME_ACTION}` (\"Not authorized to perform sts:AssumeRoleWithWebIdentity\"): this job {presents} the subject `{subject}` and {} of {}'s trust policy does not admit it: {} fails.",
        statement_name(document, statement),
        facts.role_arn,
        conditions.join(" and ")
    );
    if claims.environment.is_some() {
        message.push_str(" A job with `environment:` presents the environment, not its branch.");
    } else if subject.ends_with(":pull_request") {
        message.push_str(" A pull-request run presents `pull_request`, not its branch.");
    }
    let mut finding = SUBJECT_NOT_ADMITTED
        .finding(
            format!("The trust policy does not admit `{subject}`"),
            message,
        )
        .with_resources([facts.role_arn.clone()])
        .with_iam_action(ASSUME_ACTION)
        .with_location(location(
            document,
            Some((statement, sub_condition.and_then(|c| c.line))),
        ));
    if let Some(condition) = sub_condition {
        finding = finding.with_fix(subject_fix(facts, condition, subject));
    }
    finding
}

/// Adds exactly this subject to the failing `sub` condition.
fn subject_fix(facts: &TrustFacts, condition: &Condition, subject: &str) -> Fix {
    let operator = if condition
        .values
        .iter()
        .any(|v| v.contains('*') || v.contains('?'))
    {
        condition.operator.replace("StringEquals", "StringLike")
    } else {
        condition.operator.clone()
    };
    let mut values = condition.values.clone();
    values.push(subject.to_string());
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    Fix {
        description: format!(
            "Add `{subject}` to the `{}` condition of the trust policy (only this subject, not a wildcard over the repository).",
            condition.key
        ),
        policy_statement: Some(
            json!({ "Condition": { operator.clone(): { condition.key.clone(): values } } }),
        ),
        terraform: Some(format!(
            "condition {{\n  test     = \"{operator}\"\n  variable = \"{}\"\n  values   = [{}]\n}}",
            condition.key,
            quoted.join(", ")
        )),
        aws_cli: Some(format!(
            "aws iam update-assume-role-policy --role-name {} --policy-document file://trust-policy.json",
            role_name(&facts.role_arn)
        )),
    }
}
