//! Issue 13: where the evaluator now follows AWS's documentation, each case
//! with the passage (quoted in the code it tests) and, where iam-rs answers
//! otherwise, an `iam_rs_*` test showing iam-rs's answer.

use super::*;

fn decision(set: &PolicySet, request: &Request) -> Decision {
    evaluate(set, request).decision
}

fn versioned(version: Option<&str>, statements: &[&str]) -> PolicySet {
    let version = version.map_or(String::new(), |v| format!("\"Version\": \"{v}\", "));
    let text = format!("{{{version}\"Statement\": [{}]}}", statements.join(", "));
    PolicySet {
        identity: parse_documents(&text, Source::file("push.json")).unwrap(),
        ..PolicySet::default()
    }
}

fn on(repository: &str) -> Request {
    Request::new(
        "ecr:PutImage",
        format!("arn:aws:ecr:us-east-1:111111111111:repository/{repository}"),
        ROLE,
    )
}

// ---- Policy variables ------------------------------------------------------

#[test]
fn variables_are_substituted_only_after_the_fifth_colon() {
    let before = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:${aws:RequestedRegion}:${aws:PrincipalAccount}:repository/app"}"#,
    ]);
    assert_eq!(decision(&before, &on("app")), Decision::ImplicitDeny);
    let after = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/${aws:PrincipalAccount}-app"}"#,
    ]);
    assert_eq!(decision(&after, &on("111111111111-app")), Decision::Allowed);
}

#[test]
fn iam_rs_substitutes_variables_before_the_fifth_colon() {
    let mut context = iam_rs::Context::new();
    context.insert(
        "aws:RequestedRegion".to_string(),
        iam_rs::ContextValue::String("us-east-1".to_string()),
    );
    assert_eq!(
        iam_rs::interpolate_variables(
            "arn:aws:ecr:${aws:RequestedRegion}:111111111111:repository/app",
            &context
        )
        .unwrap(),
        "arn:aws:ecr:us-east-1:111111111111:repository/app"
    );
    // Ours: variables_are_substituted_only_after_the_fifth_colon.
}

#[test]
fn escaped_characters_are_literal() {
    let star = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/app${*}"}"#,
    ]);
    assert_eq!(decision(&star, &on("apps")), Decision::ImplicitDeny);
    assert_eq!(decision(&star, &on("app*")), Decision::Allowed);
    let question = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/ap${?}"}"#,
    ]);
    assert_eq!(decision(&question, &on("app")), Decision::ImplicitDeny);
    assert_eq!(decision(&question, &on("ap?")), Decision::Allowed);
    let condition = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"StringLike": {"aws:PrincipalTag/team": "a${*}"}}}"#,
    ]);
    let tagged = |team: &str| on("app").with_context("aws:PrincipalTag/team", [team]);
    assert_eq!(decision(&condition, &tagged("a*")), Decision::Allowed);
    assert_eq!(decision(&condition, &tagged("ab")), Decision::ImplicitDeny);
}

#[test]
fn iam_rs_drops_escaped_characters() {
    // iam-rs reads `${*}` as a variable that is not in the context and puts
    // nothing there, so `app${*}` becomes `app` (and our earlier code wrote
    // it back as the wildcard `*`): never the literal character.
    assert_eq!(
        iam_rs::interpolate_variables(
            "arn:aws:ecr:us-east-1:111111111111:repository/app${*}",
            &iam_rs::Context::new(),
        )
        .unwrap(),
        "arn:aws:ecr:us-east-1:111111111111:repository/app"
    );
    // Ours: escaped_characters_are_literal.
}

#[test]
fn without_version_2012_10_17_variables_are_literal_text() {
    let statement = r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/team/${aws:username}"}"#;
    let user = Request::new(
        "ecr:PutImage",
        "arn:aws:ecr:us-east-1:111111111111:repository/team/ci",
        USER,
    );
    assert_eq!(
        decision(&versioned(Some("2012-10-17"), &[statement]), &user),
        Decision::Allowed
    );
    for version in [None, Some("2008-10-17")] {
        assert_eq!(
            decision(&versioned(version, &[statement]), &user),
            Decision::ImplicitDeny,
            "{version:?}"
        );
    }
}

// ---- Role sessions -----------------------------------------------------------

const SESSION_ARN: &str = "arn:aws:sts::111111111111:assumed-role/push/GitHubActions";

#[test]
fn a_principal_naming_the_session_arn_matches_that_session_only() {
    let set = PolicySet {
        resource: repository_policy(&[&format!(
            r#"{{"Effect": "Allow", "Principal": {{"AWS": "{SESSION_ARN}"}}, "Action": "ecr:*"}}"#
        )]),
        // A grant to the session ARN is not limited by the role's boundary.
        boundary: Some(policy("boundary.json", &[PULL_ONLY])),
        ..PolicySet::default()
    };
    assert_eq!(
        decision(&set, &push("ecr:PutImage").with_session("GitHubActions")),
        Decision::Allowed
    );
    assert_eq!(
        decision(&set, &push("ecr:PutImage").with_session("release")),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decision(&set, &push("ecr:PutImage")),
        Decision::ImplicitDeny
    );
}

#[test]
fn iam_rs_does_not_match_a_session_arn_to_its_role() {
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"AWS": "{SESSION_ARN}"}}, "Action": "ecr:*", "Resource": "*"}}]}}"#
    );
    assert_eq!(
        iam_rs(&policy, "ecr:PutImage", REPO, ROLE, iam_rs::Context::new()),
        Ok(IamDecision::NotApplicable)
    );
    // Ours: a_principal_naming_the_session_arn_matches_that_session_only.
}

#[test]
fn user_id_and_user_name_are_those_of_the_session() {
    let on_userid = |value: &str| {
        identity(&[&format!(
            r#"{{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {{"StringLike": {{"aws:userid": "{value}"}}}}}}"#
        )])
    };
    let session = |name: &str| push("ecr:PutImage").with_session(name);
    assert_eq!(
        decision(&on_userid("*:GitHubActions"), &session("GitHubActions")),
        Decision::Allowed
    );
    assert_eq!(
        decision(&on_userid("*:GitHubActions"), &session("release")),
        Decision::ImplicitDeny
    );
    // The role's unique ID is not known offline.
    assert_eq!(
        decision(&on_userid("AROAEXAMPLE:*"), &session("GitHubActions")),
        Decision::Undetermined
    );
    // A role session has no aws:username; a user has its name.
    let named = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"StringEquals": {"aws:username": "ci"}}}"#,
    ]);
    assert_eq!(
        decision(&named, &session("GitHubActions")),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decision(&named, &Request::new("ecr:PutImage", REPO, USER)),
        Decision::Allowed
    );
}

#[test]
fn a_grant_to_everyone_for_a_role_under_a_boundary_that_does_not_allow_is_undetermined() {
    let set = PolicySet {
        resource: repository_policy(&[
            r#"{"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}"#,
        ]),
        boundary: Some(policy("boundary.json", &[PULL_ONLY])),
        ..PolicySet::default()
    };
    let evaluation = evaluate(&set, &push("ecr:PutImage"));
    assert_eq!(evaluation.decision, Decision::Undetermined);
    assert!(
        evaluation
            .reasons
            .iter()
            .any(|r| r.note.contains("not which applies to \"*\"") && !r.undetermined.is_empty()),
        "{:#?}",
        evaluation.reasons
    );
    // The boundary allows pulls: no question there.
    assert_eq!(
        decision(&set, &push("ecr:BatchGetImage")),
        Decision::Allowed
    );
    // A user is not limited by its boundary for a resource-based grant.
    let user = Request::new("ecr:PutImage", REPO, USER);
    assert_eq!(decision(&set, &user), Decision::Allowed);
}

// ---- Certain answers ----------------------------------------------------------

#[test]
fn a_resource_that_can_never_match_leaves_nothing_undetermined() {
    let set = identity(&[
        ALLOW_ECR,
        r#"{"Effect": "Deny", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/${aws:PrincipalTag/team}"}"#,
    ]);
    // GetAuthorizationToken is on `*`: no repository ARN can match it.
    let token = Request::new("ecr:GetAuthorizationToken", "*", ROLE);
    assert_eq!(decision(&set, &token), Decision::Allowed);
    // On a repository the tag decides.
    assert_eq!(decision(&set, &on("app")), Decision::Undetermined);
}

#[test]
fn a_resource_variable_and_a_condition_on_the_same_key_are_decided_together() {
    let set = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/${aws:PrincipalTag/team}", "Condition": {"StringEquals": {"aws:PrincipalTag/team": ["app", "api"]}}}"#,
    ]);
    assert_eq!(decision(&set, &on("web")), Decision::ImplicitDeny);
    assert_eq!(decision(&set, &on("app")), Decision::Undetermined);
    let absent = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/${aws:PrincipalTag/team}", "Condition": {"Null": {"aws:PrincipalTag/team": "true"}}}"#,
    ]);
    assert_eq!(decision(&absent, &on("app")), Decision::ImplicitDeny);
}

// ---- IAM's grammar ---------------------------------------------------------------

#[test]
fn set_operators_combine_with_every_operator_and_if_exists() {
    let with = |operator: &str, key: &str, value: &str| {
        identity(&[&format!(
            r#"{{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {{"{operator}": {{"{key}": {value}}}}}}}"#
        )])
    };
    let tags = |keys: &[&str]| on("app").with_context("aws:TagKeys", keys.iter().copied());
    let all = with(
        "ForAllValues:StringEquals",
        "aws:TagKeys",
        r#"["env", "team"]"#,
    );
    assert_eq!(decision(&all, &tags(&["env"])), Decision::Allowed);
    assert_eq!(
        decision(&all, &tags(&["env", "owner"])),
        Decision::ImplicitDeny
    );
    // "It also returns true if there are no context keys in the request."
    assert_eq!(decision(&all, &tags(&[])), Decision::Allowed);
    let any = with("ForAnyValue:StringLike", "aws:TagKeys", r#""te*""#);
    assert_eq!(decision(&any, &tags(&["env", "team"])), Decision::Allowed);
    assert_eq!(decision(&any, &tags(&[])), Decision::ImplicitDeny);
    let any_if_exists = with(
        "ForAnyValue:StringEqualsIfExists",
        "aws:TagKeys",
        r#""team""#,
    );
    assert_eq!(decision(&any_if_exists, &tags(&[])), Decision::Allowed);
    assert_eq!(
        decision(&any_if_exists, &tags(&["env"])),
        Decision::ImplicitDeny
    );
    let numbers = with(
        "ForAllValues:NumericLessThan",
        "aws:MultiFactorAuthAge",
        r#""3600""#,
    );
    let age = |a: &str| on("app").with_context("aws:MultiFactorAuthAge", [a]);
    assert_eq!(decision(&numbers, &age("60")), Decision::Allowed);
    assert_eq!(decision(&numbers, &age("7200")), Decision::ImplicitDeny);
    let if_exists = with("IpAddressIfExists", "aws:SourceIp", r#""10.0.0.0/8""#);
    let ip = |a: &[&str]| on("app").with_context("aws:SourceIp", a.iter().copied());
    assert_eq!(decision(&if_exists, &ip(&[])), Decision::Allowed);
    assert_eq!(
        decision(&if_exists, &ip(&["192.0.2.1"])),
        Decision::ImplicitDeny
    );
}

#[test]
fn iam_rs_rejects_most_set_operator_combinations() {
    for operator in [
        "ForAnyValue:StringEqualsIfExists",
        "ForAllValues:NumericLessThan",
        "ForAnyValue:IpAddress",
    ] {
        assert!(
            <IAMOperator as std::str::FromStr>::from_str(operator).is_err(),
            "{operator}"
        );
        assert!(
            crate::policy::document::condition_operator(operator).is_some(),
            "{operator}"
        );
    }
    for bad in [
        "NullIfExists",
        "ForAnyValue:Null",
        "ForAnyValue:ForAllValues:StringEquals",
        "StringEqualsIfExistsIfExists",
    ] {
        assert!(
            crate::policy::document::condition_operator(bad).is_none(),
            "{bad}"
        );
    }
}

#[test]
fn actions_follow_iam_grammar() {
    let read = |action: &str| {
        let text = format!(
            "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"{action}\", \"Resource\": \"*\"}}\n}}"
        );
        parse_documents(&text, Source::file("p.json")).map(|_| ())
    };
    for good in [
        "*",
        "ecr:*",
        "ecr:Put*",
        "ECR:putimage",
        "ecr:Batch?etImage",
        "aws-marketplace:View*",
    ] {
        assert_eq!(read(good), Ok(()), "{good}");
    }
    for (bad, why) in [
        ("ecr :PutImage", "letters, digits and hyphens"),
        ("e*r:PutImage", "wildcard in the service prefix"),
        ("ec?:PutImage", "wildcard in the service prefix"),
        (":PutImage", "no service prefix"),
        ("ecr:", "no action name"),
        ("ecr:Put:Image", "more than one colon"),
        ("ecr:Put Image", "letters, digits, * and ?"),
        ("ecr*", "not \"service:action\""),
    ] {
        let error = read(bad).unwrap_err();
        assert_eq!((error.line, error.column), (3, 46), "{bad}: {error}");
        assert!(error.message.contains(why), "{bad}: {error}");
    }
}

#[test]
fn iam_rs_matches_a_wildcard_service_prefix() {
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "e*r:PutImage", "Resource": "*"}]}"#;
    assert_eq!(
        iam_rs(policy, "ecr:PutImage", REPO, ROLE, iam_rs::Context::new()),
        Ok(IamDecision::Allow)
    );
    // Ours: actions_follow_iam_grammar (refused, exit 2 from the command line).
}
