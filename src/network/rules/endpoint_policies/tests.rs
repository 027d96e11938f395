use super::*;
use crate::network::rules::fixture::{self, EXECUTION_ROLE, of};

fn policy(v: Value) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn wildcards() {
    assert!(glob("ecr:*", "ECR:BatchGetImage", true));
    assert!(glob("ecr:Get*Layer", "ecr:getdownloadurlforlayer", true));
    assert!(glob("ecr:Batch?etImage", "ecr:BatchGetImage", true));
    assert!(!glob("ecr:Batch?etImage", "ecr:BatchGeetImage", true));
    assert!(glob(
        "arn:aws:s3:::prod-*-starport-layer-bucket/*",
        "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*",
        false
    ));
    assert!(!glob("arn:aws:s3:::Prod-*", "arn:aws:s3:::prod-x", false));
    assert!(glob("*", "", false));
    assert!(!glob("a*b", "acd", false));
}

#[test]
fn deny_wins_and_conditions_are_not_assumed() {
    let role = Caller::Role(Some(EXECUTION_ROLE));
    let p = json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Sid": "NoSecrets", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["secretsmanager:*"], "Resource": "*"},
    ]});
    assert_eq!(
        evaluate(&p, "ecr:BatchGetImage", "x", role),
        Decision::Allowed
    );
    assert_eq!(
        evaluate(&p, "secretsmanager:GetSecretValue", "x", role),
        Decision::ExplicitDeny("statement `NoSecrets`".into())
    );
    let p = json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}}});
    assert_eq!(
        evaluate(&p, "s3:GetObject", "x", Caller::Service),
        Decision::Conditional(vec!["statement 1".into()])
    );
    let p = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "NotAction": "s3:PutObject", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
    assert_eq!(
        evaluate(&p, "s3:GetObject", "x", Caller::Service),
        Decision::Allowed
    );
    assert_eq!(
        evaluate(&p, "s3:PutObject", "x", Caller::Service),
        Decision::ImplicitDeny
    );
}

#[test]
fn principals() {
    let role = Caller::Role(Some(EXECUTION_ROLE));
    let allow = |principal: Value| json!({"Statement": [{"Effect": "Allow", "Principal": principal, "Action": "*", "Resource": "*"}]});
    assert_eq!(
        evaluate(&allow(json!({"AWS": EXECUTION_ROLE})), "a:b", "r", role),
        Decision::Allowed
    );
    assert_eq!(
        evaluate(&allow(json!({"AWS": ["123456789012"]})), "a:b", "r", role),
        Decision::Allowed
    );
    assert_eq!(
        evaluate(
            &allow(json!({"AWS": "arn:aws:iam::123456789012:root"})),
            "a:b",
            "r",
            role
        ),
        Decision::Allowed
    );
    assert_eq!(
        evaluate(
            &allow(json!({"AWS": "arn:aws:iam::999999999999:root"})),
            "a:b",
            "r",
            role
        ),
        Decision::ImplicitDeny
    );
    // ECR-signed layer URLs are not the execution role.
    assert_eq!(
        evaluate(
            &allow(json!({"AWS": EXECUTION_ROLE})),
            "a:b",
            "r",
            Caller::Service
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&allow(json!("*")), "a:b", "r", Caller::Service),
        Decision::Allowed
    );
}

#[test]
fn fixture_policies_are_full_access() {
    let mut s = fixture::snapshot();
    assert!(check(&s).is_empty());
    fixture::endpoint(&mut s, "vpce-s3").policy_document = policy(
        json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}),
    );
    assert!(check(&s).is_empty());
}

#[test]
fn s3_policy_for_own_buckets_only_blocks_layers() {
    let mut s = fixture::snapshot();
    s.workloads.push(fixture::workload("api"));
    fixture::endpoint(&mut s, "vpce-s3").policy_document = policy(json!({"Statement": [
        {"Sid": "OwnBuckets", "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::acme-*", "arn:aws:s3:::acme-*/*"]},
    ]}));
    let findings = check(&s);
    fixture::assert_well_formed(&findings);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f.rule, S3_ENDPOINT_POLICY_BLOCKS_LAYERS.id);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.endpoint_service.as_deref(),
        Some("com.amazonaws.us-east-1.s3")
    );
    assert_eq!(f.iam_action.as_deref(), Some("s3:GetObject"));
    assert!(f.message.contains("`s3:GetObject` on `arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*`: no statement allows it"));
    assert!(
        f.message
            .contains("service `api` (cluster `prod`) and service `web`")
    );
    let fix = f.fix.as_ref().unwrap();
    let cli = fix.aws_cli.as_ref().unwrap();
    assert!(
        cli.starts_with(
            "aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-s3 --policy-document '"
        )
    );
    assert!(
        cli.contains("OwnBuckets") && cli.contains("AllowEcrImageLayers"),
        "{cli}"
    );
    assert_eq!(
        fix.policy_statement.as_ref().unwrap()["Resource"],
        "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"
    );
    assert!(
        fix.terraform
            .as_ref()
            .unwrap()
            .contains("resource \"aws_vpc_endpoint_policy\" \"s3\"")
    );
}

#[test]
fn principal_account_condition_cannot_be_evaluated() {
    let mut s = fixture::snapshot();
    fixture::endpoint(&mut s, "vpce-s3").policy_document = policy(json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}},
    ]}));
    let findings = check(&s);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].severity, Severity::Warning);
    assert!(findings[0].message.contains("cannot be evaluated offline"));
    assert!(findings[0].message.contains("aws:PrincipalAccount"));
}

#[test]
fn ecr_policy_without_the_token() {
    let mut s = fixture::snapshot();
    fixture::endpoint(&mut s, "vpce-ecr-api").policy_document = policy(json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": EXECUTION_ROLE}, "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
         "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/*"},
    ]}));
    let findings = check(&s);
    fixture::assert_well_formed(&findings);
    let f = of(&findings, &ENDPOINT_POLICY_BLOCKS);
    assert_eq!(f.len(), 1, "{findings:#?}");
    assert_eq!(
        f[0].endpoint_service.as_deref(),
        Some("com.amazonaws.us-east-1.ecr.api")
    );
    assert!(
        f[0].message
            .contains("`ecr:GetAuthorizationToken` on `*`: no statement allows it")
    );
    assert!(!f[0].message.contains("BatchGetImage` on"));
    assert!(f[0].message.contains(EXECUTION_ROLE));
    let statement = f[0].fix.as_ref().unwrap().policy_statement.clone().unwrap();
    assert_eq!(statement["Action"], json!(["ecr:GetAuthorizationToken"]));
    assert_eq!(statement["Principal"], json!({"AWS": EXECUTION_ROLE}));
}

#[test]
fn explicit_deny_on_logs() {
    let mut s = fixture::snapshot();
    fixture::endpoint(&mut s, "vpce-logs").policy_document = policy(json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Sid": "ReadOnly", "Effect": "Deny", "Principal": "*", "Action": "logs:Put*", "Resource": "*"},
    ]}));
    let findings = check(&s);
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert!(f.message.contains("`logs:PutLogEvents` on `arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:log-stream:web/app/*`: explicitly denied by statement `ReadOnly`"), "{}", f.message);
    assert!(
        f.fix
            .as_ref()
            .unwrap()
            .description
            .contains("statement `ReadOnly` in the policy of `vpce-logs` matches")
    );
}

#[test]
fn invalid_policy_is_a_warning() {
    let mut s = fixture::snapshot();
    fixture::endpoint(&mut s, "vpce-ecr-dkr").policy_document = Some("{not json".into());
    let findings = check(&s);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].severity, Severity::Warning);
    assert!(findings[0].message.contains("is not valid JSON"));
}

#[test]
fn environment_files_through_the_s3_endpoint() {
    let mut s = fixture::snapshot();
    fixture::task(&mut s).containers[0].environment_files =
        vec!["arn:aws:s3:::acme-config/web.env".into()];
    fixture::endpoint(&mut s, "vpce-s3").policy_document = policy(json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"},
    ]}));
    let findings = check(&s);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].rule, ENDPOINT_POLICY_BLOCKS.id);
    assert!(
        findings[0]
            .message
            .contains("`s3:GetObject` on `arn:aws:s3:::acme-config/web.env`")
    );
}
