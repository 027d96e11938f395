//! Evaluations per second of the push flow's eight IAM actions over a
//! realistic policy set: 10 policies, 50 statements, a third with conditions.
//!
//! The baseline does, per evaluation, as many plain string comparisons as
//! there are statements, so the ratio says what the evaluator costs per
//! statement over the cheapest possible look at it.
//!
//! Run: `cargo bench --bench policy_eval` (a plain `main`, no harness).

use std::hint::black_box;
use std::time::{Duration, Instant};

use ecr_fargate_preflight::policy::document::{PolicyDocument, Source, Statement, parse_documents};
use ecr_fargate_preflight::policy::evaluate::{Decision, PolicySet, Request, evaluate};

const ROLE: &str = "arn:aws:iam::111111111111:role/github-push";
const REPO: &str = "arn:aws:ecr:eu-west-1:111111111111:repository/team/app";

/// The push flow: `GetAuthorizationToken` on `*`, the rest on the repository.
const PUSH_ACTIONS: [&str; 8] = [
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];

fn document(label: &str, statements: &[&str]) -> PolicyDocument {
    let text = format!(
        "{{\"Version\": \"2012-10-17\", \"Statement\": [\n{}\n]}}",
        statements.join(",\n")
    );
    parse_documents(&text, Source::label(label))
        .expect("benchmark policy")
        .remove(0)
}

/// 10 policies, 50 statements, a good part of them with conditions.
fn policy_set() -> (PolicySet, usize) {
    let identity = vec![
        document(
            "inline/push",
            &[
                r#"{"Sid": "Token", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}"#,
                r#"{"Sid": "Push", "Effect": "Allow", "Action": ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Resource": "arn:aws:ecr:eu-west-1:111111111111:repository/team/*"}"#,
                r#"{"Sid": "NoDelete", "Effect": "Deny", "Action": ["ecr:BatchDeleteImage", "ecr:DeleteRepository"], "Resource": "*"}"#,
                r#"{"Sid": "OwnAccount", "Effect": "Deny", "Action": "ecr:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:ResourceAccount": "111111111111"}}}"#,
                r#"{"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "arn:aws:logs:eu-west-1:111111111111:log-group:/ci/*"}"#,
            ],
        ),
        document(
            "managed/ecr-read",
            &[
                r#"{"Sid": "Read", "Effect": "Allow", "Action": ["ecr:Describe*", "ecr:List*", "ecr:Get*"], "Resource": "*"}"#,
                r#"{"Sid": "ReadTagged", "Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}}"#,
                r#"{"Sid": "S3Cache", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::ci-cache/*"}"#,
                r#"{"Sid": "Kms", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringLike": {"kms:ViaService": "ecr.*.amazonaws.com"}}}"#,
                r#"{"Sid": "Sts", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}"#,
            ],
        ),
        document(
            "managed/ci-extras",
            &[
                r#"{"Sid": "Ssm", "Effect": "Allow", "Action": "ssm:GetParameter*", "Resource": "arn:aws:ssm:eu-west-1:111111111111:parameter/ci/*"}"#,
                r#"{"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ci/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}"#,
                r#"{"Sid": "Ecs", "Effect": "Allow", "Action": ["ecs:UpdateService", "ecs:DescribeServices"], "Resource": "*", "Condition": {"ArnLike": {"ecs:cluster": "arn:aws:ecs:eu-west-1:111111111111:cluster/ci-*"}}}"#,
                r#"{"Sid": "PassRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::111111111111:role/ecs-*", "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}"#,
                r#"{"Sid": "NoIam", "Effect": "Deny", "NotAction": ["iam:PassRole", "iam:Get*", "iam:List*"], "Resource": "arn:aws:iam::*:*"}"#,
            ],
        ),
        document(
            "managed/legacy",
            &[
                r#"{"Sid": "Old1", "Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/legacy-*"}"#,
                r#"{"Sid": "Old2", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*", "Condition": {"StringEquals": {"cloudwatch:namespace": "CI"}}}"#,
                r#"{"Sid": "Old3", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}"#,
                r#"{"Sid": "Old4", "Effect": "Deny", "Action": "ec2:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}}"#,
                r#"{"Sid": "Old5", "Effect": "Allow", "Action": "ecr:PutImageTagMutability", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/role": "admin"}}}"#,
            ],
        ),
        document(
            "inline/ip",
            &[
                r#"{"Sid": "Office", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]}, "Bool": {"aws:ViaAWSService": "false"}, "Null": {"aws:SourceVpc": "true"}}}"#,
                r#"{"Sid": "Mfa", "Effect": "Deny", "Action": "iam:*", "Resource": "*", "Condition": {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}}"#,
                r#"{"Sid": "Window", "Effect": "Deny", "Action": "ecr:DeleteRepository", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}"#,
                r#"{"Sid": "Session", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotLike": {"aws:PrincipalArn": ["arn:aws:iam::111111111111:role/github-*", "arn:aws:iam::111111111111:role/admin"]}}}"#,
            ],
        ),
    ];
    let resource = vec![document(
        "repository/team/app",
        &[
            r#"{"Sid": "Push", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/github-push"}, "Action": ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"]}"#,
            r#"{"Sid": "Pull", "Effect": "Allow", "Principal": {"AWS": ["222222222222", "arn:aws:iam::333333333333:root"]}, "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]}"#,
            r#"{"Sid": "Lambda", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Condition": {"StringLike": {"aws:sourceArn": "arn:aws:lambda:eu-west-1:111111111111:function:*"}}}"#,
            r#"{"Sid": "Endpoint", "Effect": "Deny", "Principal": "*", "Action": "ecr:*", "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": ["vpce-0a1", "vpce-0b2"]}, "Bool": {"aws:ViaAWSService": "false"}}}"#,
            r#"{"Sid": "Org", "Effect": "Deny", "Principal": "*", "Action": "ecr:*", "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}}}"#,
            r#"{"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/admin"}, "Action": "ecr:*"}"#,
            r#"{"Sid": "NoDelete", "Effect": "Deny", "NotPrincipal": {"AWS": ["arn:aws:iam::111111111111:role/admin", "111111111111"]}, "Action": "ecr:BatchDeleteImage"}"#,
        ],
    )];
    let boundary = Some(document(
        "boundary/ci",
        &[
            r#"{"Sid": "Ecr", "Effect": "Allow", "Action": "ecr:*", "Resource": "*"}"#,
            r#"{"Sid": "Support", "Effect": "Allow", "Action": ["logs:*", "s3:*", "kms:Decrypt", "sts:*", "ssm:Get*", "secretsmanager:GetSecretValue", "ecs:*", "iam:PassRole", "cloudwatch:PutMetricData", "ec2:Describe*"], "Resource": "*"}"#,
            r#"{"Sid": "NoBoundaryEdit", "Effect": "Deny", "Action": ["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"], "Resource": "*"}"#,
            r#"{"Sid": "NoUsers", "Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}"#,
            r#"{"Sid": "Ec2Regions", "Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*", "Condition": {"ForAnyValue:StringNotLike": {"ec2:InstanceType": ["t3.*", "m7g.*"]}}}"#,
        ],
    ));
    let scps = vec![
        document(
            "scp/FullAWSAccess",
            &[r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#],
        ),
        document(
            "scp/guardrails",
            &[
                r#"{"Sid": "Regions", "Effect": "Deny", "NotAction": ["iam:*", "sts:*", "organizations:*", "support:*"], "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1", "us-east-1"]}}}"#,
                r#"{"Sid": "NoLeave", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}"#,
                r#"{"Sid": "NoRoot", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}"#,
                r#"{"Sid": "Tls", "Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}"#,
                r#"{"Sid": "NoCloudTrailStop", "Effect": "Deny", "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], "Resource": "*"}"#,
                r#"{"Sid": "NoPublicEcr", "Effect": "Deny", "Action": "ecr-public:*", "Resource": "*"}"#,
                r#"{"Sid": "TagKeys", "Effect": "Deny", "Action": "ecr:TagResource", "Resource": "*", "Condition": {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["team", "env"]}}}"#,
                r#"{"Sid": "Tags", "Effect": "Deny", "Action": "ecr:CreateRepository", "Resource": "*", "Condition": {"Null": {"aws:RequestTag/team": "true"}}}"#,
            ],
        ),
    ];
    let session = Some(document(
        "session/github",
        &[
            r#"{"Sid": "Ci", "Effect": "Allow", "Action": ["ecr:*", "logs:*", "s3:*", "sts:GetCallerIdentity"], "Resource": "*"}"#,
            r#"{"Sid": "NoIam", "Effect": "Deny", "Action": "iam:*", "Resource": "*"}"#,
            r#"{"Sid": "Repo", "Effect": "Deny", "Action": "ecr:*", "NotResource": ["arn:aws:ecr:eu-west-1:111111111111:repository/team/*", "*"]}"#,
            r#"{"Sid": "Cache", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ci-cache/*"}"#,
            r#"{"Sid": "Kms", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}"#,
        ],
    ));
    let set = PolicySet {
        identity,
        resource,
        boundary,
        scps,
        session,
    };
    let documents = set.identity.len() + set.resource.len() + 1 + set.scps.len() + 1;
    let statements = all_statements(&set).count();
    assert_eq!(
        (documents, statements),
        (10, 50),
        "the benchmark's policy set"
    );
    let with_conditions = all_statements(&set)
        .filter(|statement| !statement.condition.is_empty())
        .count();
    println!(
        "policy set: {documents} policies, {statements} statements, {with_conditions} with conditions"
    );
    (set, statements)
}

fn all_statements(set: &PolicySet) -> impl Iterator<Item = &Statement> {
    set.identity
        .iter()
        .chain(&set.resource)
        .chain(&set.scps)
        .chain(set.boundary.iter())
        .chain(set.session.iter())
        .flat_map(|document| &document.statements)
}

fn requests() -> Vec<Request> {
    PUSH_ACTIONS
        .iter()
        .map(|action| {
            let resource = if *action == "ecr:GetAuthorizationToken" {
                "*"
            } else {
                REPO
            };
            Request::new(*action, resource, ROLE)
                .with_context("aws:RequestedRegion", ["eu-west-1"])
                .with_context("aws:SourceVpce", ["vpce-0a1"])
                .with_context("aws:SourceVpc", ["vpc-1"])
                .with_context("aws:ViaAWSService", ["false"])
                .with_context("aws:SecureTransport", ["true"])
                .with_context("aws:PrincipalOrgID", ["o-abc123"])
                .with_context("aws:SourceIp", ["203.0.113.7"])
                .with_context("aws:PrincipalTag/team", ["team"])
                .with_context("aws:ResourceTag/team", ["team"])
        })
        .collect()
}

/// Runs `work` (which does `per_call` evaluations) for about `budget`; returns evaluations per second.
fn rate(budget: Duration, per_call: usize, mut work: impl FnMut()) -> f64 {
    for _ in 0..20 {
        work();
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        for _ in 0..16 {
            work();
        }
        calls += 16;
    }
    (calls as f64 * per_call as f64) / start.elapsed().as_secs_f64()
}

fn main() {
    let (set, statements) = policy_set();
    let requests = requests();
    for request in &requests {
        let evaluation = evaluate(&set, request);
        assert_eq!(
            evaluation.decision,
            Decision::Allowed,
            "{}: {:?}",
            request.action,
            evaluation.reasons
        );
    }

    // The baseline: one plain string comparison per statement and request.
    let needles: Vec<String> = all_statements(&set)
        .map(|statement| {
            statement
                .action
                .as_ref()
                .or(statement.not_action.as_ref())
                .and_then(|a| a.first())
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(needles.len(), statements);

    let budget = Duration::from_secs(3);
    let evaluations = rate(budget, requests.len(), || {
        for request in &requests {
            black_box(evaluate(black_box(&set), black_box(request)));
        }
    });
    let comparisons = rate(budget, requests.len(), || {
        for request in &requests {
            let action = black_box(request.action.as_str());
            let mut equal = 0usize;
            for needle in black_box(&needles) {
                equal += usize::from(needle.as_str() == action);
            }
            black_box(equal);
        }
    });
    println!("push flow: {} actions", requests.len());
    println!(
        "evaluate:       {evaluations:>14.0} evaluations/s ({:.2} µs each)",
        1e6 / evaluations
    );
    println!(
        "baseline:       {comparisons:>14.0} evaluations/s ({statements} string comparisons each)"
    );
    println!(
        "ratio:          {:>14.1}x slower than the string-comparison baseline",
        comparisons / evaluations
    );
    println!(
        "push flows/s:   {:>14.0}",
        evaluations / requests.len() as f64
    );
}
