//! Trust that reaches further than this job: statements that admit other
//! repositories or every pull request, and wildcards `StringEquals` reads
//! literally. Judged whatever this job presents.

use serde_json::json;

use super::{
    ANY_REPOSITORY, ASSUME_ACTION, PULL_REQUESTS_ADMITTED, WILDCARD_IN_STRING_EQUALS, base_request,
    decide, location, statement_name,
};
use crate::policy::document::{Condition, PolicyDocument, Statement};
use crate::policy::evaluate::Decision;
use crate::report::{Finding, Fix};
use crate::trust::claims::ISSUER_HOST;
use crate::trust::facts::TrustFacts;

/// Statement-level warnings, whatever this job presents.
pub(super) fn over_broad(
    document: &PolicyDocument,
    trusting: &[&Statement],
    facts: &TrustFacts,
    findings: &mut Vec<Finding>,
) {
    let sub_key = format!("{ISSUER_HOST}:sub");
    let repository = facts.claims.as_ref().and_then(|c| c.repository.clone());
    let owner = repository
        .as_deref()
        .and_then(|r| r.split_once('/'))
        .map_or("owner", |(owner, _)| owner);
    for statement in trusting {
        for condition in &statement.condition {
            let literal = condition.operator.contains("StringEquals")
                && condition.key.to_ascii_lowercase().starts_with(ISSUER_HOST)
                && condition
                    .values
                    .iter()
                    .any(|v| v.contains('*') || v.contains('?'));
            if literal {
                findings.push(
                    WILDCARD_IN_STRING_EQUALS
                        .finding(
                            format!("`{}` on {} compares `*` literally", condition.operator, condition.key),
                            format!(
                                "{} compares {} with {:?} literally: no real token has a `*` there, so this condition admits no job through those values.",
                                condition.operator, condition.key, condition.values
                            ),
                        )
                        .with_resources([facts.role_arn.clone()])
                        .with_location(location(document, Some((statement, condition.line))))
                        .with_fix(Fix {
                            description: format!(
                                "Write `{}` as `{}`.",
                                condition.operator,
                                condition.operator.replace("StringEquals", "StringLike")
                            ),
                            policy_statement: None,
                            terraform: None,
                            aws_cli: None,
                        }),
                );
            }
        }
        // Subjects of other owners, and of an owner whose name only starts like ours.
        let strangers = [
            "repo:efp-someone-else/any-repo:ref:refs/heads/main".to_string(),
            format!("repo:{owner}efp-lookalike/any-repo:ref:refs/heads/main"),
        ];
        let sub_conditions: Vec<&Condition> = statement
            .condition
            .iter()
            .filter(|c| c.key.eq_ignore_ascii_case(&sub_key))
            .collect();
        let admits_stranger = sub_conditions.is_empty()
            || strangers.iter().any(|stranger| {
                admits_subject(document, statement, facts, stranger, &sub_conditions)
            });
        if admits_stranger {
            let why = if sub_conditions.is_empty() {
                "has no condition on token.actions.githubusercontent.com:sub".to_string()
            } else {
                format!(
                    "admits subjects such as `{}` through {:?}",
                    strangers[0],
                    sub_conditions
                        .iter()
                        .flat_map(|c| c.values.iter())
                        .collect::<Vec<_>>()
                )
            };
            findings.push(
                ANY_REPOSITORY
                    .finding(
                        "The trust policy admits workflows of other repositories",
                        format!(
                            "{} {why}: a workflow in a repository outside {owner} can assume {}.",
                            statement_name(document, statement),
                            facts.role_arn
                        ),
                    )
                    .with_resources([facts.role_arn.clone()])
                    .with_iam_action(ASSUME_ACTION)
                    .with_location(location(document, Some((statement, None))))
                    .with_fix(Fix {
                        description: "Admit only this repository's subjects: the branches, environments or tags that deploy.".to_string(),
                        policy_statement: Some(json!({"Condition": {"StringLike": {
                            sub_key.clone(): facts
                                .claims
                                .as_ref()
                                .and_then(|c| c.sub.clone())
                                .unwrap_or_else(|| format!("repo:{}:ref:refs/heads/main", repository.as_deref().unwrap_or("OWNER/REPO")))
                        }}})),
                        terraform: None,
                        aws_cli: None,
                    }),
            );
        }
        let public = facts
            .claims
            .as_ref()
            .and_then(|c| c.repository_visibility.as_deref())
            == Some("public");
        if let (true, Some(repository)) = (public, &repository) {
            let pull_request = format!("repo:{repository}:pull_request");
            if !sub_conditions.is_empty()
                && admits_subject(document, statement, facts, &pull_request, &sub_conditions)
            {
                findings.push(
                    PULL_REQUESTS_ADMITTED
                        .finding(
                            "The trust policy admits every pull-request run of this public repository",
                            format!(
                                "{} admits `{pull_request}`: any pull-request run that gets a token can assume {}.",
                                statement_name(document, statement),
                                facts.role_arn
                            ),
                        )
                        .with_resources([facts.role_arn.clone()])
                        .with_iam_action(ASSUME_ACTION)
                        .with_location(location(document, Some((statement, None)))),
                );
            }
        }
    }
}

/// Whether the statement's `sub` conditions hold for `subject`.
fn admits_subject(
    document: &PolicyDocument,
    statement: &Statement,
    facts: &TrustFacts,
    subject: &str,
    sub_conditions: &[&Condition],
) -> bool {
    let only_sub = Statement {
        condition: sub_conditions.iter().map(|c| (*c).clone()).collect(),
        ..(*statement).clone()
    };
    let request = base_request(facts, &facts.provider_arn())
        .with_context(format!("{ISSUER_HOST}:sub"), [subject]);
    decide(document, only_sub, &request) == Decision::Allowed
}
