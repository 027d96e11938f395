//! The trust judge on real-shaped trust policies: AWS's and GitHub's
//! documented examples, and the mistakes users report.

use super::*;
use crate::policy::document::{Source, parse_documents};
use crate::trust::claims::{DEFAULT_AUDIENCE, GithubContext, JobEnvironment, predict};
use crate::trust::facts::{Provider, TokenAvailability, TrustFacts};

const ROLE: &str = "arn:aws:iam::123456789012:role/github-push";
const PROVIDER: &str =
    "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

/// GitHub's documented AWS example: `aud` pinned, `sub` with StringLike.
fn policy(sub_operator: &str, subs: &[&str]) -> String {
    format!(
        r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Sid": "GitHubActions",
      "Effect": "Allow",
      "Principal": {{ "Federated": "{PROVIDER}" }},
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {{
        "StringEquals": {{ "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" }},
        "{sub_operator}": {{ "token.actions.githubusercontent.com:sub": {} }}
      }}
    }}
  ]
}}"#,
        serde_json::to_string(subs).expect("json")
    )
}

fn main_only() -> String {
    policy("StringLike", &["repo:acme/shop:ref:refs/heads/main"])
}

fn context(event: &str, git_ref: &str) -> GithubContext {
    GithubContext {
        repository: "acme/shop".to_string(),
        event_name: Some(event.to_string()),
        git_ref: Some(git_ref.to_string()),
        audience: DEFAULT_AUDIENCE.to_string(),
        ..GithubContext::default()
    }
}

fn facts(policy: &str, context: &GithubContext) -> TrustFacts {
    let document = parse_documents(policy, Source::file("trust-policy.json"))
        .expect("policy")
        .remove(0);
    TrustFacts {
        role_arn: ROLE.to_string(),
        claims: Some(predict(context)),
        token: TokenAvailability::NotInActions,
        token_needed: true,
        trust_policy: Some(document),
        trust_policy_unread: None,
        provider: Provider::Unknown,
        requested_duration: None,
        max_session_duration: None,
        role_chaining: false,
    }
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

fn only<'a>(findings: &'a [Finding], rule: &Rule) -> &'a Finding {
    let matching: Vec<&Finding> = findings.iter().filter(|f| f.rule == rule.id).collect();
    assert_eq!(
        matching.len(),
        1,
        "one {} in {:?}",
        rule.id,
        rules(findings)
    );
    matching[0]
}

#[test]
fn a_branch_run_passes_a_main_only_policy() {
    let findings = judge(&facts(&main_only(), &context("push", "refs/heads/main")));
    assert!(findings.is_empty(), "{:?}", rules(&findings));
}

#[test]
fn a_pull_request_run_is_refused_by_a_main_only_policy_and_the_fix_adds_only_its_subject() {
    let findings = judge(&facts(
        &main_only(),
        &context("pull_request", "refs/pull/7/merge"),
    ));
    let finding = only(&findings, &SUBJECT_NOT_ADMITTED);
    assert_eq!(
        finding.iam_action.as_deref(),
        Some("sts:AssumeRoleWithWebIdentity")
    );
    assert!(
        finding.message.contains("`repo:acme/shop:pull_request`"),
        "{}",
        finding.message
    );
    assert!(
        finding.message.contains("\"GitHubActions\""),
        "{}",
        finding.message
    );
    let fix = finding.fix.as_ref().expect("fix");
    assert_eq!(
        fix.policy_statement.as_ref().expect("statement")["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"],
        serde_json::json!([
            "repo:acme/shop:ref:refs/heads/main",
            "repo:acme/shop:pull_request"
        ])
    );
    assert!(
        !fix.terraform
            .as_deref()
            .unwrap_or_default()
            .contains("repo:acme/shop:*")
    );
    let location = finding.location.as_ref().expect("location");
    assert_eq!(location.file.as_deref(), Some("trust-policy.json"));
    assert_eq!(location.line, Some(11), "the line of the sub condition");
}

#[test]
fn a_job_with_an_environment_is_refused_by_a_branch_policy_and_told_why() {
    let mut ctx = context("push", "refs/heads/main");
    ctx.environment = JobEnvironment::Named("production".to_string());
    let findings = judge(&facts(&main_only(), &ctx));
    let finding = only(&findings, &SUBJECT_NOT_ADMITTED);
    assert!(
        finding
            .message
            .contains("repo:acme/shop:environment:production"),
        "{}",
        finding.message
    );
    assert!(
        finding
            .message
            .contains("presents the environment, not its branch")
    );
}

#[test]
fn a_tag_is_refused_by_a_branch_policy() {
    let findings = judge(&facts(&main_only(), &context("push", "refs/tags/v1.0.0")));
    assert!(
        only(&findings, &SUBJECT_NOT_ADMITTED)
            .message
            .contains("repo:acme/shop:ref:refs/tags/v1.0.0")
    );
}

#[test]
fn a_repository_wide_wildcard_admits_the_job_and_warns_about_pull_requests_when_public() {
    let wide = policy("StringLike", &["repo:acme/shop:*"]);
    let mut ctx = context("pull_request", "refs/pull/7/merge");
    let findings = judge(&facts(&wide, &ctx));
    assert!(findings.is_empty(), "private: {:?}", rules(&findings));
    ctx.repository_visibility = Some("public".to_string());
    let findings = judge(&facts(&wide, &ctx));
    assert_eq!(rules(&findings), vec![PULL_REQUESTS_ADMITTED.id]);
}

#[test]
fn any_repository_is_warned_about() {
    for subs in [&["repo:*"][..], &["*"], &["repo:acme*"]] {
        let findings = judge(&facts(
            &policy("StringLike", subs),
            &context("push", "refs/heads/main"),
        ));
        assert_eq!(rules(&findings), vec![ANY_REPOSITORY.id], "{subs:?}");
    }
    let no_sub = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}}}}]}}"#
    );
    let findings = judge(&facts(&no_sub, &context("push", "refs/heads/main")));
    assert!(
        only(&findings, &ANY_REPOSITORY)
            .message
            .contains("has no condition")
    );
    // The owner's own repositories are not "any repository".
    let owner = judge(&facts(
        &policy("StringLike", &["repo:acme/*"]),
        &context("push", "refs/heads/main"),
    ));
    assert!(owner.is_empty(), "{:?}", rules(&owner));
}

#[test]
fn string_equals_with_a_wildcard_is_literal() {
    // The documented mistake: the wildcard subject under the aud's StringEquals.
    let literal = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:acme/shop:*"}}}}}}]}}"#
    );
    let findings = judge(&facts(&literal, &context("push", "refs/heads/main")));
    assert!(
        rules(&findings).contains(&WILDCARD_IN_STRING_EQUALS.id),
        "{:?}",
        rules(&findings)
    );
    let refused = only(&findings, &SUBJECT_NOT_ADMITTED);
    let fix = refused.fix.as_ref().expect("fix");
    assert!(
        fix.terraform
            .as_deref()
            .unwrap_or_default()
            .contains("test     = \"StringLike\"")
    );
}

#[test]
fn an_audience_mismatch_is_named() {
    let mut ctx = context("push", "refs/heads/main");
    ctx.audience = "https://github.com/acme".to_string();
    let findings = judge(&facts(&main_only(), &ctx));
    let finding = only(&findings, &AUDIENCE_NOT_ADMITTED);
    assert!(
        finding.message.contains("https://github.com/acme"),
        "{}",
        finding.message
    );
    assert!(!rules(&findings).contains(&SUBJECT_NOT_ADMITTED.id));
}

#[test]
fn a_customised_subject_template_is_judged_in_its_own_format() {
    let mut ctx = context("push", "refs/heads/main");
    ctx.workflow_ref = Some("acme/shop/.github/workflows/release.yml@refs/heads/main".into());
    ctx.claim_keys = Some(vec![
        "repo".into(),
        "context".into(),
        "job_workflow_ref".into(),
    ]);
    let custom = policy(
        "StringLike",
        &[
            "repo:acme/shop:ref:refs/heads/main:job_workflow_ref:acme/shop/.github/workflows/release.yml@*",
        ],
    );
    assert!(judge(&facts(&custom, &ctx)).is_empty());
    // The default-format policy refuses the customised subject.
    let findings = judge(&facts(&main_only(), &ctx));
    assert!(
        only(&findings, &SUBJECT_NOT_ADMITTED)
            .message
            .contains(":job_workflow_ref:")
    );
}

#[test]
fn a_missing_provider_or_audience_is_named() {
    let mut f = facts(&main_only(), &context("push", "refs/heads/main"));
    f.provider = Provider::Missing {
        looked_in: "The account".to_string(),
        certain: true,
    };
    let findings = judge(&f);
    let finding = only(&findings, &PROVIDER_MISSING);
    assert_eq!(finding.severity, Severity::Error);
    let mut in_plan = f.clone();
    in_plan.provider = Provider::Missing {
        looked_in: "The Terraform plan".to_string(),
        certain: false,
    };
    let plan = judge(&in_plan);
    let plan = only(&plan, &PROVIDER_MISSING);
    assert_eq!(
        plan.severity,
        Severity::Warning,
        "another stack may create it"
    );
    assert!(plan.message.contains("Unless another stack"));
    assert!(
        finding
            .fix
            .as_ref()
            .and_then(|f| f.terraform.as_deref())
            .unwrap_or_default()
            .contains("aws_iam_openid_connect_provider")
    );
    f.provider = Provider::Present {
        arn: PROVIDER.to_string(),
        client_ids: vec!["sigstore".to_string()],
        source: "aws_iam_openid_connect_provider.github".to_string(),
    };
    assert!(
        only(&judge(&f), &PROVIDER_MISSING)
            .title
            .contains("sts.amazonaws.com")
    );
}

#[test]
fn a_role_trusting_only_aws_principals_or_another_provider_is_named() {
    let aws = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    let findings = judge(&facts(aws, &context("push", "refs/heads/main")));
    assert!(
        only(&findings, &PROVIDER_NOT_TRUSTED)
            .message
            .contains("names no Federated")
    );
    let other = main_only().replace("123456789012:oidc-provider", "999999999999:oidc-provider");
    let findings = judge(&facts(&other, &context("push", "refs/heads/main")));
    assert!(
        only(&findings, &PROVIDER_NOT_TRUSTED)
            .message
            .contains("999999999999")
    );
}

#[test]
fn a_deny_statement_is_named() {
    let with_deny = policy("StringLike", &["repo:acme/shop:*"]).replace(
        "    }\n  ]\n}",
        &format!(
            r#"    }},
    {{"Effect":"Deny","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringLike":{{"token.actions.githubusercontent.com:sub":"repo:*:pull_request"}}}}}}
  ]
}}"#
        ),
    );
    assert!(with_deny.contains("Deny"), "{with_deny}");
    assert!(judge(&facts(&with_deny, &context("push", "refs/heads/main"))).is_empty());
    let findings = judge(&facts(
        &with_deny,
        &context("pull_request", "refs/pull/1/merge"),
    ));
    assert!(
        only(&findings, &SUBJECT_NOT_ADMITTED)
            .message
            .contains("a Deny statement")
    );
}

#[test]
fn a_missing_token_permission_is_named() {
    let mut f = facts(&main_only(), &context("push", "refs/heads/main"));
    f.token = TokenAvailability::Missing;
    let findings = judge(&f);
    assert!(
        only(&findings, &TOKEN_UNAVAILABLE)
            .title
            .contains("id-token: write")
    );
}

#[test]
fn a_session_longer_than_the_role_or_chaining_allows_is_named() {
    let mut f = facts(&main_only(), &context("push", "refs/heads/main"));
    f.requested_duration = Some(7200);
    f.max_session_duration = Some(3600);
    assert!(
        only(&judge(&f), &SESSION_TOO_LONG)
            .message
            .contains("MaxSessionDuration")
    );
    f.max_session_duration = Some(43200);
    assert!(judge(&f).is_empty());
    f.role_chaining = true;
    assert!(
        only(&judge(&f), &SESSION_TOO_LONG)
            .message
            .contains("one hour")
    );
}

#[test]
fn a_legacy_only_policy_warns_when_the_immutable_format_may_apply() {
    let mut ctx = context("push", "refs/heads/main");
    ctx.ids = Some(("111".into(), "222".into()));
    let findings = judge(&facts(&main_only(), &ctx));
    assert!(
        only(&findings, &SUBJECT_FORMAT)
            .message
            .contains("repo:acme@111/shop@222:ref:refs/heads/main")
    );
    let both = policy(
        "StringLike",
        &[
            "repo:acme/shop:ref:refs/heads/main",
            "repo:acme@111/shop@222:ref:refs/heads/main",
        ],
    );
    assert!(judge(&facts(&both, &ctx)).is_empty());
}

#[test]
fn what_cannot_be_known_is_not_verified() {
    let mut ctx = context("push", "refs/heads/main");
    ctx.environment = JobEnvironment::Unknown("`${{ inputs.env }}` is an expression".into());
    let findings = judge(&facts(&main_only(), &ctx));
    let finding = only(&findings, &NOT_EVALUATED);
    assert_eq!(finding.meaning, Meaning::NotVerified);
    // A condition on a claim key the evaluation does not model.
    let workflow_key = main_only().replace(
        "\"StringEquals\": { \"token.actions.githubusercontent.com:aud\": \"sts.amazonaws.com\" }",
        "\"StringEquals\": { \"token.actions.githubusercontent.com:aud\": \"sts.amazonaws.com\", \"token.actions.githubusercontent.com:job_workflow_ref\": \"acme/shop/.github/workflows/ci.yml@refs/heads/main\" }",
    );
    assert_ne!(workflow_key, main_only());
    let findings = judge(&facts(&workflow_key, &context("push", "refs/heads/main")));
    assert!(
        only(&findings, &NOT_EVALUATED)
            .message
            .contains("job_workflow_ref")
    );
}
