//! Properties of AWS's evaluation logic that must hold for any policies:
//! an explicit deny always wins; adding an Allow never turns an allowed
//! request into a denied one; adding a Deny never turns a denied one into an
//! allowed one; the order of statements and documents does not matter.

use proptest::prelude::*;
use proptest::sample::{Index, select};

use super::*;
use crate::policy::document::{Source, parse_documents};

const ROLE: &str = "arn:aws:iam::111111111111:role/push";
const USER: &str = "arn:aws:iam::111111111111:user/ci";
const OTHER_ROLE: &str = "arn:aws:iam::222222222222:role/deploy";
const REPO: &str = "arn:aws:ecr:us-east-1:111111111111:repository/app";

const ACTIONS: &[&str] = &[
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];

/// A statement as JSON, without its Sid (added when the set is built).
fn statement(effect: &'static str, resource_policy: bool) -> impl Strategy<Value = String> {
    let actions = select(vec![
        r#""Action": "ecr:*""#,
        r#""Action": "*""#,
        r#""Action": ["ecr:PutImage", "ecr:BatchGetImage"]"#,
        r#""Action": "ecr:*Layer*""#,
        r#""Action": "ECR:Get*""#,
        r#""NotAction": "s3:*""#,
        r#""NotAction": "ecr:PutImage""#,
        r#""Action": "s3:GetObject""#,
    ]);
    let resources = select(vec![
        r#", "Resource": "*""#,
        r#", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/app""#,
        r#", "Resource": "arn:aws:ecr:*:111111111111:repository/*""#,
        r#", "Resource": "arn:aws:ecr:us-east-1:*""#,
        r#", "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/App""#,
        r#", "NotResource": "arn:aws:ecr:us-east-1:111111111111:repository/prod-*""#,
        "",
    ]);
    let conditions = select(vec![
        "",
        "",
        r#", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}"#,
        r#", "Condition": {"StringNotEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"]}}"#,
        r#", "Condition": {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}"#,
        r#", "Condition": {"Bool": {"aws:SecureTransport": "true"}}"#,
        r#", "Condition": {"StringEquals": {"aws:PrincipalAccount": "111111111111"}}"#,
        r#", "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}"#,
        r#", "Condition": {"Null": {"aws:SourceVpc": "true"}}"#,
    ]);
    let principals = if resource_policy {
        let mut principals = vec![
            r#""Principal": "*", "#,
            r#""Principal": {"AWS": "arn:aws:iam::111111111111:role/push"}, "#,
            r#""Principal": {"AWS": "111111111111"}, "#,
            r#""Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "#,
            r#""Principal": {"AWS": "arn:aws:iam::111111111111:user/ci", "Service": "codebuild.amazonaws.com"}, "#,
        ];
        if effect == "Deny" {
            principals.push(r#""NotPrincipal": {"AWS": "arn:aws:iam::111111111111:role/admin"}, "#);
        }
        principals
    } else {
        vec![""]
    };
    (select(principals), actions, resources, conditions).prop_map(
        move |(principal, action, resource, condition)| {
            format!(r#""Effect": "{effect}", {principal}{action}{resource}{condition}"#)
        },
    )
}

fn any_statement(resource_policy: bool) -> impl Strategy<Value = String> {
    // Mostly allows, as real policies are, so that many requests are allowed.
    prop_oneof![3 => statement("Allow", resource_policy), 1 => statement("Deny", resource_policy)]
}

fn document(resource_policy: bool) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(any_statement(resource_policy), 1..5)
}

/// The policies as JSON statements, so that they can be changed and rebuilt.
#[derive(Debug, Clone)]
struct Spec {
    identity: Vec<Vec<String>>,
    resource: Vec<Vec<String>>,
    boundary: Option<Vec<String>>,
    scps: Vec<Vec<String>>,
    session: Option<Vec<String>>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        proptest::collection::vec(document(false), 0..3),
        proptest::collection::vec(document(true), 0..2),
        proptest::option::weighted(0.3, document(false)),
        proptest::collection::vec(document(false), 0..2),
        proptest::option::weighted(0.2, document(false)),
    )
        .prop_map(|(identity, resource, boundary, scps, session)| {
            let mut spec = Spec {
                identity,
                resource,
                boundary,
                scps,
                session,
            };
            // Every statement gets its own Sid, which follows it when reordered.
            let mut sid = 0;
            for statement in spec
                .documents_mut()
                .flat_map(|document| document.iter_mut())
            {
                sid += 1;
                *statement = format!(r#""Sid": "S{sid}", {statement}"#);
            }
            spec
        })
}

fn request() -> impl Strategy<Value = Request> {
    let vpce = select(vec![
        None,
        Some(vec![]),
        Some(vec!["vpce-1"]),
        Some(vec!["vpce-3"]),
    ]);
    let transport = select(vec![None, Some("true"), Some("false")]);
    let vpc = select(vec![None, Some(vec![]), Some(vec!["vpc-1"])]);
    (
        select(ACTIONS.to_vec()),
        select(vec![ROLE, USER, OTHER_ROLE]),
        vpce,
        transport,
        vpc,
    )
        .prop_map(|(action, principal, vpce, transport, vpc)| {
            let resource = if action == "ecr:GetAuthorizationToken" {
                "*"
            } else {
                REPO
            };
            let mut request = Request::new(action, resource, principal);
            if let Some(vpce) = vpce {
                request = request.with_context("aws:SourceVpce", vpce);
            }
            if let Some(transport) = transport {
                request = request.with_context("aws:SecureTransport", [transport]);
            }
            if let Some(vpc) = vpc {
                request = request.with_context("aws:SourceVpc", vpc);
            }
            request
        })
}

impl Spec {
    fn documents_mut(&mut self) -> impl Iterator<Item = &mut Vec<String>> {
        self.identity
            .iter_mut()
            .chain(self.resource.iter_mut())
            .chain(self.boundary.iter_mut())
            .chain(self.scps.iter_mut())
            .chain(self.session.iter_mut())
    }

    fn build(&self) -> PolicySet {
        let document = |label: &str, statements: &[String]| {
            let statements: Vec<String> = statements
                .iter()
                .map(|statement| format!("{{{statement}}}"))
                .collect();
            let text = format!(
                "{{\"Version\": \"2012-10-17\", \"Statement\": [\n{}\n]}}",
                statements.join(",\n")
            );
            parse_documents(&text, Source::label(label))
                .unwrap_or_else(|error| panic!("{error}\n{text}"))
                .remove(0)
        };
        PolicySet {
            identity: self
                .identity
                .iter()
                .map(|d| document("identity", d))
                .collect(),
            resource: self
                .resource
                .iter()
                .map(|d| document("repository", d))
                .collect(),
            boundary: self.boundary.as_ref().map(|d| document("boundary", d)),
            scps: self.scps.iter().map(|d| document("scp", d)).collect(),
            session: self.session.as_ref().map(|d| document("session", d)),
        }
    }

    /// Adds a statement to one of the existing documents chosen by `at`, or
    /// as a new identity-based (or, for a resource statement, repository) policy.
    fn add(&mut self, statement: String, resource_policy: bool, at: Index) {
        let statement = format!(r#""Sid": "Added", {statement}"#);
        let mut documents: Vec<&mut Vec<String>> = if resource_policy {
            self.resource.iter_mut().collect()
        } else {
            self.identity
                .iter_mut()
                .chain(self.boundary.iter_mut())
                .chain(self.scps.iter_mut())
                .chain(self.session.iter_mut())
                .collect()
        };
        let slot = at.index(documents.len() + 1);
        if slot < documents.len() {
            documents[slot].push(statement);
        } else if resource_policy {
            self.resource.push(vec![statement]);
        } else {
            self.identity.push(vec![statement]);
        }
    }

    /// The same policies with statements and documents reordered.
    fn reordered(&self, seed: &[Index]) -> Spec {
        let mut seeds = seed.iter().cycle();
        let mut shuffle = |items: &mut Vec<String>| {
            for i in (1..items.len()).rev() {
                let j = seeds.next().map_or(0, |s| s.index(i + 1));
                items.swap(i, j);
            }
        };
        let mut spec = self.clone();
        for document in spec.documents_mut() {
            shuffle(document);
        }
        spec.identity.reverse();
        spec.scps.reverse();
        spec.resource.reverse();
        spec
    }
}

/// What a reason says, without where its statement sits in its document.
fn gist(evaluation: &Evaluation) -> (Decision, Vec<String>) {
    let mut reasons: Vec<String> = evaluation
        .reasons
        .iter()
        .map(|reason| {
            let sid = reason
                .statement
                .as_ref()
                .and_then(|s| s.sid.clone())
                .unwrap_or_default();
            format!(
                "{:?} {sid} {:?} {} {:?}",
                reason.kind, reason.effect, reason.note, reason.undetermined
            )
        })
        .collect();
    reasons.sort();
    (evaluation.decision, reasons)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, max_global_rejects: 50_000, ..ProptestConfig::default() })]

    #[test]
    fn an_explicit_deny_always_wins(mut spec in spec(), request in request(), at in any::<Index>(), resource_side in any::<bool>()) {
        // A resource-based statement only counts for a request on a resource.
        let resource_side = resource_side && request.resource != "*";
        let deny = if resource_side {
            r#""Effect": "Deny", "Principal": "*", "Action": "*""#
        } else {
            r#""Effect": "Deny", "Action": "*", "Resource": "*""#
        };
        spec.add(deny.to_string(), resource_side, at);
        let evaluation = evaluate(&spec.build(), &request);
        prop_assert_eq!(evaluation.decision, Decision::ExplicitDeny);
        prop_assert!(evaluation.reasons.iter().all(|r| r.effect == Some(Effect::Deny) && r.statement.is_some()));
    }

    #[test]
    fn adding_an_allow_never_denies_an_allowed_request(
        mut spec in spec(),
        request in request(),
        (allow, resource_side) in prop_oneof![statement("Allow", false).prop_map(|s| (s, false)), statement("Allow", true).prop_map(|s| (s, true))],
        at in any::<Index>(),
    ) {
        prop_assume!(evaluate(&spec.build(), &request).decision == Decision::Allowed);
        spec.add(allow, resource_side, at);
        prop_assert_eq!(evaluate(&spec.build(), &request).decision, Decision::Allowed);
    }

    #[test]
    fn adding_a_deny_never_allows_a_denied_request(
        mut spec in spec(),
        request in request(),
        (deny, resource_side) in prop_oneof![statement("Deny", false).prop_map(|s| (s, false)), statement("Deny", true).prop_map(|s| (s, true))],
        at in any::<Index>(),
    ) {
        let before = evaluate(&spec.build(), &request).decision;
        prop_assume!(before.is_denied());
        spec.add(deny, resource_side, at);
        let after = evaluate(&spec.build(), &request).decision;
        prop_assert!(after.is_denied(), "{:?} became {:?}", before, after);
        if before == Decision::ExplicitDeny {
            prop_assert_eq!(after, Decision::ExplicitDeny);
        }
    }

    #[test]
    fn statement_order_does_not_matter(spec in spec(), request in request(), seed in proptest::collection::vec(any::<Index>(), 1..16)) {
        let original = evaluate(&spec.build(), &request);
        let reordered = evaluate(&spec.reordered(&seed).build(), &request);
        prop_assert_eq!(gist(&original), gist(&reordered));
    }

    #[test]
    fn every_decision_is_explained(spec in spec(), request in request()) {
        let evaluation = evaluate(&spec.build(), &request);
        prop_assert!(!evaluation.reasons.is_empty());
        if evaluation.decision == Decision::Undetermined {
            prop_assert!(evaluation.reasons.iter().any(|r| !r.undetermined.is_empty()));
        }
        if evaluation.decision == Decision::Allowed {
            prop_assert!(evaluation.reasons.iter().all(|r| r.effect == Some(Effect::Allow)));
        }
    }
}
