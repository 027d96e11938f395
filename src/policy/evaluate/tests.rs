//! The case table: AWS's documented evaluation cases, each with its decision
//! and its explanation. Then the `iam_rs_*` tests, which show, by calling
//! iam-rs directly, every place where we do not use it and why.

use super::*;
use crate::policy::document::{Source, parse_documents};

const ROLE: &str = "arn:aws:iam::111111111111:role/push";
const USER: &str = "arn:aws:iam::111111111111:user/ci";
const OTHER_ROLE: &str = "arn:aws:iam::222222222222:role/deploy";
const REPO: &str = "arn:aws:ecr:us-east-1:111111111111:repository/app";

/// A policy file `label` whose statement `i` is on line `4 + i`.
fn policy(label: &str, statements: &[&str]) -> PolicyDocument {
    let text = format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {}\n  ]\n}}\n",
        statements.join(",\n    ")
    );
    parse_documents(&text, Source::file(label))
        .unwrap_or_else(|error| panic!("{error}\n{text}"))
        .remove(0)
}

fn identity(statements: &[&str]) -> PolicySet {
    PolicySet {
        identity: vec![policy("push.json", statements)],
        ..PolicySet::default()
    }
}

fn push(action: &str) -> Request {
    Request::new(action, REPO, ROLE)
}

/// The decision and each reason as one line.
fn explain(evaluation: &Evaluation) -> (Decision, Vec<String>) {
    (
        evaluation.decision,
        evaluation.reasons.iter().map(ToString::to_string).collect(),
    )
}

fn check(set: &PolicySet, request: &Request, decision: Decision, reasons: &[&str]) {
    let evaluation = evaluate(set, request);
    assert_eq!(
        explain(&evaluation),
        (
            decision,
            reasons.iter().map(ToString::to_string).collect::<Vec<_>>()
        ),
        "{} on {}",
        request.action,
        request.resource
    );
}

const ALLOW_ECR: &str = r#"{"Sid": "Ecr", "Effect": "Allow", "Action": "ecr:*", "Resource": "*"}"#;

// ---- Deny precedence and the default deny -------------------------------

#[test]
fn explicit_deny_overrides_allow() {
    let set = identity(&[
        ALLOW_ECR,
        r#"{"Sid": "NoPut", "Effect": "Deny", "Action": "ecr:PutImage", "Resource": "*"}"#,
    ]);
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::ExplicitDeny,
        &[
            r#"identity-based policy push.json:5 Statement[1] "NoPut": denies the ecr:PutImage action"#,
        ],
    );
    check(
        &set,
        &push("ecr:BatchGetImage"),
        Decision::Allowed,
        &[
            r#"identity-based policy push.json:4 Statement[0] "Ecr": allows the ecr:BatchGetImage action"#,
        ],
    );
}

#[test]
fn nothing_allows_is_an_implicit_deny() {
    let set = identity(&[r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}"#]);
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::ImplicitDeny,
        &["no identity-based policy allows the ecr:PutImage action"],
    );
    check(
        &PolicySet::default(),
        &push("ecr:PutImage"),
        Decision::ImplicitDeny,
        &["no identity-based policy allows the ecr:PutImage action"],
    );
}

// ---- Action / NotAction, wildcards and case ------------------------------

#[test]
fn not_action_with_allow_allows_everything_else() {
    let set = identity(&[
        r#"{"Sid": "AllButIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}"#,
    ]);
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::Allowed,
        &[
            r#"identity-based policy push.json:4 Statement[0] "AllButIam": allows the ecr:PutImage action"#,
        ],
    );
    check(
        &set,
        &Request::new("iam:CreateUser", "arn:aws:iam::111111111111:user/x", ROLE),
        Decision::ImplicitDeny,
        &["no identity-based policy allows the iam:CreateUser action"],
    );
}

#[test]
fn not_action_with_deny_denies_everything_else() {
    let set = identity(&[
        r#"{"Sid": "OnlyEcr", "Effect": "Deny", "NotAction": "ecr:*", "Resource": "*"}"#,
        r#"{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}"#,
    ]);
    check(
        &set,
        &Request::new("s3:GetObject", "arn:aws:s3:::bucket/key", ROLE),
        Decision::ExplicitDeny,
        &[
            r#"identity-based policy push.json:4 Statement[0] "OnlyEcr": denies the s3:GetObject action"#,
        ],
    );
    assert_eq!(
        evaluate(&set, &push("ecr:PutImage")).decision,
        Decision::Allowed
    );
}

#[test]
fn action_wildcards_and_case() {
    let set = identity(&[
        r#"{"Sid": "Layers", "Effect": "Allow", "Action": ["ecr:*Layer*", "ecr:Batch?etImage"], "Resource": "*"}"#,
        r#"{"Sid": "Shouting", "Effect": "Allow", "Action": "ECR:putimage", "Resource": "*"}"#,
    ]);
    for action in [
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
    ] {
        check(
            &set,
            &push(action),
            Decision::Allowed,
            &[&format!(
                r#"identity-based policy push.json:4 Statement[0] "Layers": allows the {action} action"#
            )],
        );
    }
    // Service prefix and action name compare case-insensitively.
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::Allowed,
        &[
            r#"identity-based policy push.json:5 Statement[1] "Shouting": allows the ecr:PutImage action"#,
        ],
    );
    assert_eq!(
        evaluate(&set, &push("ecr:DescribeImages")).decision,
        Decision::ImplicitDeny
    );
}

// ---- Resource / NotResource ----------------------------------------------

#[test]
fn resource_arns_are_case_sensitive() {
    let set = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/App"}"#,
    ]);
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::ImplicitDeny,
        &["no identity-based policy allows the ecr:PutImage action"],
    );
}

#[test]
fn resource_wildcards_and_not_resource() {
    let set = identity(&[
        r#"{"Sid": "Team", "Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:*:111111111111:repository/a?p*"}"#,
        r#"{"Sid": "NotProd", "Effect": "Deny", "Action": "ecr:PutImage", "NotResource": "arn:aws:ecr:*:111111111111:repository/a*"}"#,
    ]);
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::Allowed,
        &[
            r#"identity-based policy push.json:4 Statement[0] "Team": allows the ecr:PutImage action"#,
        ],
    );
    check(
        &set,
        &Request::new(
            "ecr:PutImage",
            "arn:aws:ecr:us-east-1:111111111111:repository/web",
            ROLE,
        ),
        Decision::ExplicitDeny,
        &[
            r#"identity-based policy push.json:5 Statement[1] "NotProd": denies the ecr:PutImage action"#,
        ],
    );
}

#[test]
fn a_trailing_star_spans_the_remaining_arn_fields() {
    let set = identity(&[
        r#"{"Sid": "Region", "Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:*"}"#,
    ]);
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::Allowed,
        &[
            r#"identity-based policy push.json:4 Statement[0] "Region": allows the ecr:PutImage action"#,
        ],
    );
    assert_eq!(
        evaluate(
            &set,
            &Request::new(
                "ecr:PutImage",
                "arn:aws:ecr:eu-west-1:111111111111:repository/app",
                ROLE
            )
        )
        .decision,
        Decision::ImplicitDeny
    );
}

#[test]
fn authorization_token_needs_resource_star_and_ignores_the_repository_policy() {
    let token = Request::new("ecr:GetAuthorizationToken", "*", ROLE);
    let scoped = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/*"}"#,
    ]);
    check(
        &scoped,
        &token,
        Decision::ImplicitDeny,
        &["no identity-based policy allows the ecr:GetAuthorizationToken action"],
    );
    check(
        &identity(&[ALLOW_ECR]),
        &token,
        Decision::Allowed,
        &[
            r#"identity-based policy push.json:4 Statement[0] "Ecr": allows the ecr:GetAuthorizationToken action"#,
        ],
    );
    let repository_only = PolicySet {
        resource: vec![policy(
            "repository.json",
            &[
                r#"{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/push"}, "Action": "ecr:*"}"#,
            ],
        )],
        ..PolicySet::default()
    };
    check(
        &repository_only,
        &token,
        Decision::ImplicitDeny,
        &["no identity-based policy allows the ecr:GetAuthorizationToken action"],
    );
}

// ---- Same account vs cross-account ----------------------------------------

fn repository_policy(statements: &[&str]) -> Vec<PolicyDocument> {
    vec![policy("repository.json", statements)]
}

#[test]
fn same_account_repository_policy_naming_the_role_grants_alone() {
    let set = PolicySet {
        resource: repository_policy(&[
            r#"{"Sid": "Push", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/push"}, "Action": ["ecr:PutImage", "ecr:BatchGetImage"]}"#,
        ]),
        ..PolicySet::default()
    };
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::Allowed,
        &[
            r#"resource-based policy repository.json:4 Statement[0] "Push": allows the ecr:PutImage action"#,
        ],
    );
    check(
        &set,
        &push("ecr:InitiateLayerUpload"),
        Decision::ImplicitDeny,
        &[
            "no identity-based policy allows the ecr:InitiateLayerUpload action",
            "no resource-based policy allows the ecr:InitiateLayerUpload action",
        ],
    );
}

#[test]
fn same_account_repository_policy_naming_the_account_needs_iam_too() {
    let statement = r#"{"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "ecr:*"}"#;
    let set = PolicySet {
        resource: repository_policy(&[statement]),
        ..PolicySet::default()
    };
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::ImplicitDeny,
        &[
            r#"resource-based policy repository.json:4 Statement[0] "Account": allows the ecr:PutImage action for account 111111111111"#,
            "no identity-based policy allows the ecr:PutImage action",
            "the resource-based policy allows the ecr:PutImage action only for the account, which leaves the decision to identity-based policies",
        ],
    );
    let with_identity = PolicySet {
        identity: vec![policy("push.json", &[ALLOW_ECR])],
        ..set
    };
    assert_eq!(
        evaluate(&with_identity, &push("ecr:PutImage")).decision,
        Decision::Allowed
    );
}

#[test]
fn cross_account_needs_both_sides() {
    let request = Request::new("ecr:PutImage", REPO, OTHER_ROLE);
    let identity_side = vec![policy("deploy.json", &[ALLOW_ECR])];
    let resource_side = repository_policy(&[
        r#"{"Sid": "Deploy", "Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "ecr:*"}"#,
    ]);
    check(
        &PolicySet {
            identity: identity_side.clone(),
            ..PolicySet::default()
        },
        &request,
        Decision::ImplicitDeny,
        &[
            r#"identity-based policy deploy.json:4 Statement[0] "Ecr": allows the ecr:PutImage action"#,
            "no resource-based policy allows the ecr:PutImage action (account 222222222222 is not the resource's account 111111111111: both sides must allow)",
        ],
    );
    check(
        &PolicySet {
            resource: resource_side.clone(),
            ..PolicySet::default()
        },
        &request,
        Decision::ImplicitDeny,
        &[
            r#"resource-based policy repository.json:4 Statement[0] "Deploy": allows the ecr:PutImage action for account 222222222222"#,
            "no identity-based policy allows the ecr:PutImage action",
        ],
    );
    check(
        &PolicySet {
            identity: identity_side,
            resource: resource_side,
            ..PolicySet::default()
        },
        &request,
        Decision::Allowed,
        &[
            r#"resource-based policy repository.json:4 Statement[0] "Deploy": allows the ecr:PutImage action for account 222222222222"#,
            r#"identity-based policy deploy.json:4 Statement[0] "Ecr": allows the ecr:PutImage action"#,
        ],
    );
}

#[test]
fn a_deny_in_the_repository_policy_wins_over_an_identity_allow() {
    let set = PolicySet {
        identity: vec![policy("push.json", &[ALLOW_ECR])],
        resource: repository_policy(&[
            r#"{"Sid": "NoPush", "Effect": "Deny", "Principal": "*", "Action": "ecr:PutImage"}"#,
        ]),
        ..PolicySet::default()
    };
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::ExplicitDeny,
        &[
            r#"resource-based policy repository.json:4 Statement[0] "NoPush": denies the ecr:PutImage action"#,
        ],
    );
}

#[test]
fn not_principal_deny_applies_to_everyone_else() {
    let set = PolicySet {
        identity: vec![policy("push.json", &[ALLOW_ECR])],
        resource: repository_policy(&[
            r#"{"Sid": "OnlyAdmin", "Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:role/admin"}, "Action": "ecr:PutImage"}"#,
        ]),
        ..PolicySet::default()
    };
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::ExplicitDeny,
        &[
            r#"resource-based policy repository.json:4 Statement[0] "OnlyAdmin": denies the ecr:PutImage action"#,
        ],
    );
    let admin = Request::new("ecr:PutImage", REPO, "arn:aws:iam::111111111111:role/admin");
    assert_eq!(evaluate(&set, &admin).decision, Decision::Allowed);
}

#[test]
fn a_principal_with_two_types_is_read() {
    let set = PolicySet {
        resource: repository_policy(&[
            r#"{"Sid": "Both", "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com", "AWS": ["arn:aws:iam::111111111111:role/push"]}, "Action": "ecr:*"}"#,
        ]),
        ..PolicySet::default()
    };
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::Allowed,
        &[
            r#"resource-based policy repository.json:4 Statement[0] "Both": allows the ecr:PutImage action"#,
        ],
    );
}

// ---- Boundary, SCP and session policy cap what identity policies grant ---

const PULL_ONLY: &str = r#"{"Sid": "Pull", "Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Resource": "*"}"#;

#[test]
fn a_permissions_boundary_caps_identity_policies() {
    let set = PolicySet {
        identity: vec![policy("push.json", &[ALLOW_ECR])],
        boundary: Some(policy("boundary.json", &[PULL_ONLY])),
        ..PolicySet::default()
    };
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::ImplicitDeny,
        &[
            r#"identity-based policy push.json:4 Statement[0] "Ecr": allows the ecr:PutImage action"#,
            "no permissions boundary allows the ecr:PutImage action",
        ],
    );
    check(
        &set,
        &push("ecr:BatchGetImage"),
        Decision::Allowed,
        &[
            r#"identity-based policy push.json:4 Statement[0] "Ecr": allows the ecr:BatchGetImage action"#,
            r#"permissions boundary boundary.json:4 Statement[0] "Pull": allows the ecr:BatchGetImage action"#,
        ],
    );
}

#[test]
fn a_boundary_caps_a_repository_grant_to_a_role_but_not_to_a_user() {
    let grant = |principal: &str| {
        format!(
            r#"{{"Sid": "Grant", "Effect": "Allow", "Principal": {{"AWS": "{principal}"}}, "Action": "ecr:*"}}"#
        )
    };
    let boundary = Some(policy("boundary.json", &[PULL_ONLY]));
    let for_role = PolicySet {
        resource: repository_policy(&[&grant(ROLE)]),
        boundary: boundary.clone(),
        ..PolicySet::default()
    };
    check(
        &for_role,
        &push("ecr:PutImage"),
        Decision::ImplicitDeny,
        &[
            r#"resource-based policy repository.json:4 Statement[0] "Grant": allows the ecr:PutImage action"#,
            "no identity-based policy allows the ecr:PutImage action",
            "no permissions boundary allows the ecr:PutImage action",
        ],
    );
    let for_user = PolicySet {
        resource: repository_policy(&[&grant(USER)]),
        boundary,
        ..PolicySet::default()
    };
    check(
        &for_user,
        &Request::new("ecr:PutImage", REPO, USER),
        Decision::Allowed,
        &[
            r#"resource-based policy repository.json:4 Statement[0] "Grant": allows the ecr:PutImage action"#,
        ],
    );
}

#[test]
fn service_control_policies_must_allow_and_their_denies_win() {
    let only_s3 = PolicySet {
        identity: vec![policy("push.json", &[ALLOW_ECR])],
        scps: vec![policy(
            "scp.json",
            &[r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}"#],
        )],
        ..PolicySet::default()
    };
    check(
        &only_s3,
        &push("ecr:PutImage"),
        Decision::ImplicitDeny,
        &[
            r#"identity-based policy push.json:4 Statement[0] "Ecr": allows the ecr:PutImage action"#,
            "no service control policy allows the ecr:PutImage action",
        ],
    );
    let region_guard = PolicySet {
        identity: vec![policy("push.json", &[ALLOW_ECR])],
        scps: vec![policy(
            "scp.json",
            &[
                r#"{"Sid": "Full", "Effect": "Allow", "Action": "*", "Resource": "*"}"#,
                r#"{"Sid": "EuOnly", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}}"#,
            ],
        )],
        ..PolicySet::default()
    };
    // aws:RequestedRegion comes from the repository ARN (us-east-1).
    check(
        &region_guard,
        &push("ecr:PutImage"),
        Decision::ExplicitDeny,
        &[
            r#"service control policy scp.json:5 Statement[1] "EuOnly": denies the ecr:PutImage action"#,
        ],
    );
    let eu = Request::new(
        "ecr:PutImage",
        "arn:aws:ecr:eu-west-1:111111111111:repository/app",
        ROLE,
    );
    check(
        &region_guard,
        &eu,
        Decision::Allowed,
        &[
            r#"service control policy scp.json:4 Statement[0] "Full": allows the ecr:PutImage action"#,
            r#"identity-based policy push.json:4 Statement[0] "Ecr": allows the ecr:PutImage action"#,
        ],
    );
}

#[test]
fn a_session_policy_caps_the_role() {
    let set = PolicySet {
        identity: vec![policy("push.json", &[ALLOW_ECR])],
        session: Some(policy("session.json", &[PULL_ONLY])),
        ..PolicySet::default()
    };
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::ImplicitDeny,
        &[
            r#"identity-based policy push.json:4 Statement[0] "Ecr": allows the ecr:PutImage action"#,
            "no session policy allows the ecr:PutImage action",
        ],
    );
}

// ---- Conditions -------------------------------------------------------------

const VIA_ENDPOINT: &str = r#"{"Sid": "ViaEndpoint", "Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}"#;

#[test]
fn a_condition_on_an_unknown_key_is_undetermined_and_shown() {
    let set = identity(&[VIA_ENDPOINT]);
    let evaluation = evaluate(&set, &push("ecr:PutImage"));
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::Undetermined,
        &[
            r#"identity-based policy push.json:4 Statement[0] "ViaEndpoint": allows the ecr:PutImage action only if conditions the simulation cannot evaluate hold; undetermined: StringEquals aws:SourceVpce ["vpce-1"]"#,
        ],
    );
    assert_eq!(
        evaluation.reasons[0].undetermined,
        vec![UndeterminedCondition {
            operator: "StringEquals".to_string(),
            key: "aws:SourceVpce".to_string(),
            values: vec!["vpce-1".to_string()],
        }]
    );
    // Known: through the endpoint, through another one, or through none.
    assert_eq!(
        evaluate(
            &set,
            &push("ecr:PutImage").with_context("aws:SourceVpce", ["vpce-1"])
        )
        .decision,
        Decision::Allowed
    );
    assert_eq!(
        evaluate(
            &set,
            &push("ecr:PutImage").with_context("aws:SourceVpce", ["vpce-2"])
        )
        .decision,
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(
            &set,
            &push("ecr:PutImage").with_context("aws:SourceVpce", Vec::<String>::new())
        )
        .decision,
        Decision::ImplicitDeny
    );
    // Condition key names are case-insensitive.
    assert_eq!(
        evaluate(
            &set,
            &push("ecr:PutImage").with_context("AWS:SOURCEVPCE", ["vpce-1"])
        )
        .decision,
        Decision::Allowed
    );
}

#[test]
fn an_undetermined_deny_leaves_an_allow_undetermined_but_not_an_implicit_deny() {
    let guard = r#"{"Sid": "OnlyViaEndpoint", "Effect": "Deny", "Principal": "*", "Action": "ecr:*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}"#;
    let set = PolicySet {
        identity: vec![policy("push.json", &[ALLOW_ECR])],
        resource: repository_policy(&[guard]),
        ..PolicySet::default()
    };
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::Undetermined,
        &[
            r#"resource-based policy repository.json:4 Statement[0] "OnlyViaEndpoint": denies the ecr:PutImage action only if conditions the simulation cannot evaluate hold; undetermined: StringNotEquals aws:SourceVpce ["vpce-1"]"#,
            r#"identity-based policy push.json:4 Statement[0] "Ecr": allows the ecr:PutImage action"#,
        ],
    );
    let no_identity = PolicySet {
        resource: repository_policy(&[guard]),
        ..PolicySet::default()
    };
    assert_eq!(
        evaluate(&no_identity, &push("ecr:PutImage")).decision,
        Decision::ImplicitDeny
    );
    // Not through the endpoint (known absent): the deny applies.
    assert_eq!(
        evaluate(
            &set,
            &push("ecr:PutImage").with_context("aws:SourceVpce", Vec::<String>::new())
        )
        .decision,
        Decision::ExplicitDeny
    );
}

#[test]
fn if_exists_matches_when_the_key_is_absent() {
    let set = identity(&[
        r#"{"Sid": "Endpoint", "Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}}"#,
    ]);
    let absent = push("ecr:PutImage").with_context("aws:SourceVpce", Vec::<String>::new());
    check(
        &set,
        &absent,
        Decision::Allowed,
        &[
            r#"identity-based policy push.json:4 Statement[0] "Endpoint": allows the ecr:PutImage action"#,
        ],
    );
    assert_eq!(
        evaluate(
            &set,
            &push("ecr:PutImage").with_context("aws:SourceVpce", ["vpce-2"])
        )
        .decision,
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&set, &push("ecr:PutImage")).decision,
        Decision::Undetermined
    );
}

#[test]
fn condition_operators_of_every_family() {
    let case = |operator: &str,
                key: &str,
                policy_value: &str,
                request_values: &[&str],
                expected: Decision| {
        let statement = format!(
            r#"{{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {{"{operator}": {{"{key}": {policy_value}}}}}}}"#
        );
        let set = identity(&[&statement]);
        let request = push("ecr:PutImage").with_context(key, request_values.iter().copied());
        assert_eq!(
            evaluate(&set, &request).decision,
            expected,
            "{operator} {key} {policy_value} vs {request_values:?}"
        );
    };
    use Decision::{Allowed, ImplicitDeny};
    case(
        "StringLike",
        "aws:PrincipalTag/team",
        r#""web-*""#,
        &["web-1"],
        Allowed,
    );
    case(
        "StringLike",
        "aws:PrincipalTag/team",
        r#""Web-*""#,
        &["web-1"],
        ImplicitDeny,
    );
    case(
        "StringEqualsIgnoreCase",
        "aws:PrincipalTag/team",
        r#""WEB""#,
        &["web"],
        Allowed,
    );
    case(
        "StringNotEquals",
        "aws:RequestedRegion",
        r#"["us-east-1", "eu-west-1"]"#,
        &["us-east-1"],
        ImplicitDeny,
    );
    case(
        "StringNotEquals",
        "aws:RequestedRegion",
        r#"["us-east-1", "eu-west-1"]"#,
        &["ap-south-1"],
        Allowed,
    );
    case(
        "Bool",
        "aws:SecureTransport",
        r#""true""#,
        &["true"],
        Allowed,
    );
    case(
        "Bool",
        "aws:SecureTransport",
        "false",
        &["true"],
        ImplicitDeny,
    );
    case("Null", "aws:SourceVpce", r#""true""#, &[], Allowed);
    case(
        "Null",
        "aws:SourceVpce",
        r#""true""#,
        &["vpce-1"],
        ImplicitDeny,
    );
    case(
        "IpAddress",
        "aws:SourceIp",
        r#""203.0.113.0/24""#,
        &["203.0.113.9"],
        Allowed,
    );
    case(
        "NotIpAddress",
        "aws:SourceIp",
        r#""203.0.113.0/24""#,
        &["203.0.113.9"],
        ImplicitDeny,
    );
    case(
        "NumericLessThanEquals",
        "aws:MultiFactorAuthAge",
        "3600",
        &["100"],
        Allowed,
    );
    case(
        "NumericGreaterThan",
        "aws:MultiFactorAuthAge",
        r#""3600""#,
        &["100"],
        ImplicitDeny,
    );
    case(
        "DateLessThan",
        "aws:CurrentTime",
        r#""2030-01-01T00:00:00Z""#,
        &["2026-06-01T00:00:00Z"],
        Allowed,
    );
    case(
        "DateGreaterThan",
        "aws:CurrentTime",
        r#""2030-01-01T00:00:00Z""#,
        &["2026-06-01T00:00:00Z"],
        ImplicitDeny,
    );
    case(
        "ArnLike",
        "aws:PrincipalArn",
        r#""arn:aws:iam::111111111111:role/pu*""#,
        &[ROLE],
        Allowed,
    );
    // ArnEquals takes wildcards exactly as ArnLike does.
    case(
        "ArnEquals",
        "aws:PrincipalArn",
        r#""arn:aws:iam::111111111111:role/pu*""#,
        &[ROLE],
        Allowed,
    );
    case(
        "ArnNotEquals",
        "aws:PrincipalArn",
        r#""arn:aws:iam::111111111111:role/pu*""#,
        &[ROLE],
        ImplicitDeny,
    );
    case(
        "StringEquals",
        "aws:PrincipalOrgID",
        r#""o-abc""#,
        &["o-abc"],
        Allowed,
    );
}

#[test]
fn keys_derived_from_the_request() {
    let set = identity(&[
        r#"{"Sid": "Own", "Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalAccount": "111111111111", "aws:ResourceAccount": "111111111111"}, "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/push"}}}"#,
    ]);
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::Allowed,
        &[
            r#"identity-based policy push.json:4 Statement[0] "Own": allows the ecr:PutImage action"#,
        ],
    );
}

#[test]
fn several_values_are_or_and_several_keys_are_and() {
    let set = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"], "aws:SourceVpc": "vpc-1"}}}"#,
    ]);
    let request = |vpce: &str, vpc: &str| {
        push("ecr:PutImage")
            .with_context("aws:SourceVpce", [vpce])
            .with_context("aws:SourceVpc", [vpc])
    };
    assert_eq!(
        evaluate(&set, &request("vpce-2", "vpc-1")).decision,
        Decision::Allowed
    );
    assert_eq!(
        evaluate(&set, &request("vpce-2", "vpc-9")).decision,
        Decision::ImplicitDeny
    );
    // One key known false decides, whatever the other: no undetermined.
    let half = push("ecr:PutImage").with_context("aws:SourceVpc", ["vpc-9"]);
    assert_eq!(evaluate(&set, &half).decision, Decision::ImplicitDeny);
}

#[test]
fn set_operators() {
    let all = identity(&[
        r#"{"Sid": "Tags", "Effect": "Allow", "Action": "ecr:TagResource", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}}"#,
    ]);
    let tag = |keys: &[&str]| {
        Request::new("ecr:TagResource", REPO, ROLE)
            .with_context("aws:TagKeys", keys.iter().copied())
    };
    assert_eq!(evaluate(&all, &tag(&["team"])).decision, Decision::Allowed);
    assert_eq!(
        evaluate(&all, &tag(&["team", "owner"])).decision,
        Decision::ImplicitDeny
    );
    // AWS's documented pitfall: ForAllValues is true when the key is absent.
    check(
        &all,
        &tag(&[]),
        Decision::Allowed,
        &[
            r#"identity-based policy push.json:4 Statement[0] "Tags": allows the ecr:TagResource action"#,
        ],
    );
    let any = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:TagResource", "Resource": "*", "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "team"}}}"#,
    ]);
    assert_eq!(
        evaluate(&any, &tag(&["env", "team"])).decision,
        Decision::Allowed
    );
    assert_eq!(evaluate(&any, &tag(&[])).decision, Decision::ImplicitDeny);
    assert_eq!(
        evaluate(&any, &Request::new("ecr:TagResource", REPO, ROLE)).decision,
        Decision::Undetermined
    );
}

#[test]
fn policy_variables_in_resources_and_condition_values() {
    let set = identity(&[
        r#"{"Sid": "TeamRepos", "Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/${aws:PrincipalTag/team}-*"}"#,
    ]);
    let web_app = "arn:aws:ecr:us-east-1:111111111111:repository/web-app";
    let tagged =
        Request::new("ecr:PutImage", web_app, ROLE).with_context("aws:PrincipalTag/team", ["web"]);
    check(
        &set,
        &tagged,
        Decision::Allowed,
        &[
            r#"identity-based policy push.json:4 Statement[0] "TeamRepos": allows the ecr:PutImage action"#,
        ],
    );
    check(
        &set,
        &Request::new("ecr:PutImage", web_app, ROLE),
        Decision::Undetermined,
        &[
            r#"identity-based policy push.json:4 Statement[0] "TeamRepos": allows the ecr:PutImage action only if conditions the simulation cannot evaluate hold; undetermined: policy variable aws:PrincipalTag/team ["${aws:PrincipalTag/team}"]"#,
        ],
    );
    // Untagged: the variable has no value and the statement does not apply.
    let untagged = Request::new(
        "ecr:PutImage",
        "arn:aws:ecr:us-east-1:111111111111:repository/-app",
        ROLE,
    )
    .with_context("aws:PrincipalTag/team", Vec::<String>::new());
    assert_eq!(evaluate(&set, &untagged).decision, Decision::ImplicitDeny);

    let same_team = identity(&[
        r#"{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}}"#,
    ]);
    let request = push("ecr:PutImage")
        .with_context("aws:PrincipalTag/team", ["web"])
        .with_context("aws:ResourceTag/team", ["web"]);
    assert_eq!(evaluate(&same_team, &request).decision, Decision::Allowed);
}

#[test]
fn statements_are_found_in_several_documents_and_kinds() {
    let set = PolicySet {
        identity: vec![
            policy(
                "inline.json",
                &[r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}"#],
            ),
            policy("managed.json", &[PULL_ONLY, ALLOW_ECR]),
        ],
        ..PolicySet::default()
    };
    check(
        &set,
        &push("ecr:PutImage"),
        Decision::Allowed,
        &[
            r#"identity-based policy managed.json:5 Statement[1] "Ecr": allows the ecr:PutImage action"#,
        ],
    );
}

// ---- Where iam-rs is wrong, shown on iam-rs itself -------------------------
//
// Each test asserts iam-rs's current answer. If one fails after an iam-rs
// upgrade, iam-rs was fixed there and our override can go.

fn iam_rs(
    policy: &str,
    action: &str,
    resource: &str,
    principal: &str,
    context: iam_rs::Context,
) -> Result<IamDecision, String> {
    let policy = IAMPolicy::from_json(policy).map_err(|error| format!("parse: {error}"))?;
    let request = IAMRequest::new_with_context(
        Principal::Aws(PrincipalId::String(principal.to_string())),
        action,
        Arn::parse(resource).map_err(|error| error.to_string())?,
        context,
    );
    PolicyEvaluator::with_policies(vec![policy])
        .evaluate(&request)
        .map(|result| result.decision)
        .map_err(|error| format!("evaluate: {error}"))
}

#[test]
fn iam_rs_errors_on_short_resource_pattern() {
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:*"}]}"#;
    let answer = iam_rs(policy, "ecr:PutImage", REPO, ROLE, iam_rs::Context::new());
    assert!(answer.unwrap_err().contains("exactly 6 parts"));
    // Ours: a_trailing_star_spans_the_remaining_arn_fields.
}

#[test]
fn iam_rs_account_principal_does_not_match_a_role() {
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "ecr:*", "Resource": "*"}]}"#;
    assert_eq!(
        iam_rs(
            policy,
            "ecr:PutImage",
            REPO,
            OTHER_ROLE,
            iam_rs::Context::new()
        ),
        Ok(IamDecision::NotApplicable)
    );
    // Ours: cross_account_needs_both_sides.
}

#[test]
fn iam_rs_wildcard_principal_arn_matches() {
    // AWS does not support wildcards inside a principal ARN.
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/pu*"}, "Action": "ecr:*", "Resource": "*"}]}"#;
    assert_eq!(
        iam_rs(policy, "ecr:PutImage", REPO, ROLE, iam_rs::Context::new()),
        Ok(IamDecision::Allow)
    );
    let set = PolicySet {
        resource: repository_policy(&[
            r#"{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/pu*"}, "Action": "ecr:*"}"#,
        ]),
        ..PolicySet::default()
    };
    assert_eq!(
        evaluate(&set, &push("ecr:PutImage")).decision,
        Decision::ImplicitDeny
    );
}

#[test]
fn iam_rs_rejects_principal_with_two_types() {
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/push", "Service": "codebuild.amazonaws.com"}, "Action": "ecr:*", "Resource": "*"}]}"#;
    assert!(
        iam_rs(policy, "ecr:PutImage", REPO, ROLE, iam_rs::Context::new())
            .unwrap_err()
            .starts_with("parse:")
    );
    // Ours: a_principal_with_two_types_is_read.
}

#[test]
fn iam_rs_requires_version() {
    // AWS accepts a policy without Version (it is then read as 2008-10-17).
    let policy = r#"{"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}"#;
    assert!(
        iam_rs(policy, "ecr:PutImage", REPO, ROLE, iam_rs::Context::new())
            .unwrap_err()
            .contains("Version")
    );
    let ours = parse_documents(policy, Source::label("no-version")).unwrap();
    assert_eq!(ours[0].version, None);
}

#[test]
fn iam_rs_rejects_boolean_arrays_in_conditions() {
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ecr:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": [false]}}}]}"#;
    assert!(
        iam_rs(policy, "ecr:PutImage", REPO, ROLE, iam_rs::Context::new())
            .unwrap_err()
            .starts_with("parse:")
    );
    let set = identity(&[
        ALLOW_ECR,
        r#"{"Sid": "Tls", "Effect": "Deny", "Action": "ecr:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": [false]}}}"#,
    ]);
    let plain_http = push("ecr:PutImage").with_context("aws:SecureTransport", ["false"]);
    assert_eq!(evaluate(&set, &plain_http).decision, Decision::ExplicitDeny);
}

#[test]
fn iam_rs_bool_ignores_string_context() {
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}"#;
    let context = iam_rs::Context::new().with_string("aws:SecureTransport", "true");
    assert_eq!(
        iam_rs(policy, "ecr:PutImage", REPO, ROLE, context),
        Ok(IamDecision::NotApplicable)
    );
    // Ours: condition_operators_of_every_family (Bool).
}

#[test]
fn iam_rs_arn_equals_ignores_wildcards() {
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/pu*"}}}]}"#;
    let context = iam_rs::Context::new().with_string("aws:PrincipalArn", ROLE);
    assert_eq!(
        iam_rs(policy, "ecr:PutImage", REPO, ROLE, context),
        Ok(IamDecision::NotApplicable)
    );
    // Ours: condition_operators_of_every_family (ArnEquals).
}

#[test]
fn iam_rs_repository_policy_without_resource_never_matches() {
    // ECR repository policies have no Resource element: they are about their repository.
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/push"}, "Action": "ecr:*"}]}"#;
    assert_eq!(
        iam_rs(policy, "ecr:PutImage", REPO, ROLE, iam_rs::Context::new()),
        Ok(IamDecision::NotApplicable)
    );
    // Ours: same_account_repository_policy_naming_the_role_grants_alone.
}

#[test]
fn iam_rs_fills_a_missing_policy_variable_with_nothing() {
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/${aws:PrincipalTag/team}-*"}]}"#;
    let untagged_repo = "arn:aws:ecr:us-east-1:111111111111:repository/-app";
    assert_eq!(
        iam_rs(
            policy,
            "ecr:PutImage",
            untagged_repo,
            ROLE,
            iam_rs::Context::new()
        ),
        Ok(IamDecision::Allow)
    );
    // Ours: policy_variables_in_resources_and_condition_values.
}

#[test]
fn iam_rs_ignores_variables_in_condition_values() {
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}}]}"#;
    let context = iam_rs::Context::new()
        .with_string("aws:PrincipalTag/team", "web")
        .with_string("aws:ResourceTag/team", "web");
    assert_eq!(
        iam_rs(policy, "ecr:PutImage", REPO, ROLE, context),
        Ok(IamDecision::NotApplicable)
    );
    // Ours: policy_variables_in_resources_and_condition_values.
}

#[test]
fn iam_rs_has_no_policy_types() {
    // One pool of statements: a boundary that does not allow cannot cap an
    // identity policy that does, and a cross-account request needs no
    // resource-side allow.
    let identity_policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}"#;
    let boundary = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}]}"#;
    let pool = PolicyEvaluator::with_policies(vec![
        IAMPolicy::from_json(identity_policy).unwrap(),
        IAMPolicy::from_json(boundary).unwrap(),
    ]);
    let request = IAMRequest::new(
        Principal::Aws(PrincipalId::String(OTHER_ROLE.to_string())),
        "ecr:PutImage",
        Arn::parse(REPO).unwrap(),
    );
    assert_eq!(
        pool.evaluate(&request).unwrap().decision,
        IamDecision::Allow
    );
    // Ours: a_permissions_boundary_caps_identity_policies, cross_account_needs_both_sides.
}

mod fidelity;
