use proptest::prelude::*;

use super::*;

const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Push",
      "Effect": "Allow",
      "Action": ["ecr:PutImage", "ecr:InitiateLayerUpload"],
      "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/app"
    },
    {
      "Effect": "Deny",
      "NotAction": "ecr:*",
      "NotResource": ["arn:aws:s3:::bucket/*"],
      "Condition": {
        "StringNotEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"]},
        "Bool": {"aws:SecureTransport": false},
        "NumericLessThan": {"aws:MultiFactorAuthAge": 3600}
      }
    }
  ]
}
"#;

fn parse(text: &str) -> Result<Vec<PolicyDocument>, PolicyError> {
    parse_documents(text, Source::file("policy.json"))
}

fn error(text: &str) -> String {
    parse(text).expect_err("should not parse").to_string()
}

#[test]
fn reads_statements_with_their_lines() {
    let documents = parse(POLICY).unwrap();
    assert_eq!(documents.len(), 1);
    let document = &documents[0];
    assert_eq!(document.version.as_deref(), Some("2012-10-17"));
    assert_eq!(document.source, Source::file("policy.json"));
    let [push, deny] = document.statements.as_slice() else {
        panic!("two statements expected")
    };
    assert_eq!(
        (push.sid.as_deref(), push.index, push.line, push.effect),
        (Some("Push"), 0, Some(4), Effect::Allow)
    );
    assert_eq!(
        push.action.as_deref(),
        Some(
            &[
                "ecr:PutImage".to_string(),
                "ecr:InitiateLayerUpload".to_string()
            ][..]
        )
    );
    assert_eq!(
        push.resource.as_deref(),
        Some(&["arn:aws:ecr:us-east-1:111111111111:repository/app".to_string()][..])
    );
    assert_eq!(
        (deny.sid.as_deref(), deny.index, deny.line, deny.effect),
        (None, 1, Some(10), Effect::Deny)
    );
    assert_eq!(deny.not_action.as_deref(), Some(&["ecr:*".to_string()][..]));
    let conditions: Vec<_> = deny
        .condition
        .iter()
        .map(|c| {
            (
                c.operator.as_str(),
                c.key.as_str(),
                c.values.join("|"),
                c.line,
            )
        })
        .collect();
    assert_eq!(
        conditions,
        vec![
            (
                "StringNotEquals",
                "aws:SourceVpce",
                "vpce-1|vpce-2".to_string(),
                Some(15)
            ),
            ("Bool", "aws:SecureTransport", "false".to_string(), Some(16)),
            (
                "NumericLessThan",
                "aws:MultiFactorAuthAge",
                "3600".to_string(),
                Some(17)
            ),
        ]
    );
}

#[test]
fn reads_an_array_of_documents_and_a_single_statement_object() {
    let text = r#"[
  {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}},
  {"Statement": [{"Sid": "A", "Effect": "Deny", "Action": "*", "Resource": "*"}]}
]"#;
    let documents = parse(text).unwrap();
    assert_eq!(documents.len(), 2);
    assert_eq!(documents[0].statements[0].line, Some(2));
    assert_eq!(documents[1].version, None);
    assert_eq!(documents[1].statements[0].line, Some(3));
    assert_eq!(parse("[]").unwrap().len(), 0);
}

#[test]
fn reads_principals() {
    let text = r#"{"Statement": [
  {"Effect": "Allow", "Principal": {"AWS": ["111111111111", "arn:aws:iam::222222222222:root"], "Service": "codebuild.amazonaws.com"}, "Action": "ecr:*"},
  {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:role/admin"}, "Action": "ecr:*"},
  {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}
]}"#;
    let documents = parse(text).unwrap();
    let statements = &documents[0].statements;
    let principal = statements[0].principal.as_ref().unwrap();
    assert_eq!(
        principal.aws().collect::<Vec<_>>(),
        ["111111111111", "arn:aws:iam::222222222222:root"]
    );
    assert!(
        matches!(principal, Principals::Listed(listed) if listed[1].0 == PrincipalType::Service)
    );
    assert!(statements[1].not_principal.is_some());
    assert_eq!(statements[2].principal, Some(Principals::Everyone));
    assert_eq!(statements[2].resource, None);
}

#[test]
fn reads_a_terraform_jsonencode_string() {
    // A plan holds `jsonencode(...)` output as a JSON string; its statements
    // get the line of that string.
    let inner = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Pull","Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}]}"#;
    let text = format!("\n  {}\n", serde_json::to_string(inner).unwrap());
    let documents = parse_documents(&text, Source::label("aws_iam_policy.pull")).unwrap();
    assert_eq!(documents[0].statements[0].sid.as_deref(), Some("Pull"));
    assert_eq!(documents[0].statements[0].line, Some(2));
    assert_eq!(documents[0].source.label, "aws_iam_policy.pull");
    let broken = serde_json::to_string(r#"{"Statement": [}"#).unwrap();
    let message = parse_documents(&broken, Source::label("aws_iam_policy.pull"))
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("aws_iam_policy.pull:1:1: invalid JSON: "),
        "{message}"
    );
    assert!(
        message.ends_with("(at 1:16 inside the JSON string)"),
        "{message}"
    );
}

#[test]
fn errors_name_the_element_and_its_place() {
    let cases = [
        (
            "{\n  \"Statement\": [\n    {\"Effect\": \"allow\", \"Action\": \"ecr:*\", \"Resource\": \"*\"}\n  ]\n}",
            r#"policy.json:3:16: Statement[0].Effect must be "Allow" or "Deny""#,
        ),
        (
            "{\n  \"Statement\": {\"Effect\": \"Allow\", \"Resource\": \"*\"}\n}",
            "policy.json:2:16: Statement has neither Action nor NotAction",
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "Action": "ecr:*", "NotAction": "s3:*", "Resource": "*"}]}"#,
            "policy.json:1:16: Statement[0] has both Action and NotAction: use one of them",
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "Action": ["ecr:*", "PutImage"], "Resource": "*"}]}"#,
            r#"policy.json:1:56: Statement[0].Action[1] "PutImage" is not "service:action" or "*""#,
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"StringEqualz": {"a": "b"}}}]}"#,
            r#"policy.json:1:86: Statement[0].Condition: "StringEqualz" is not a condition operator"#,
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "soon"}}}]}"#,
            r#"policy.json:1:132: Statement[0].Condition.NumericLessThan.aws:MultiFactorAuthAge: "soon" is not a number"#,
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}}}]}"#,
            r#"policy.json:1:116: Statement[0].Condition.IpAddress.aws:SourceIp: "10.0.0.300/8" is not an IP address or CIDR range"#,
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Effect": "Deny"}]}"#,
            r#"policy.json:1:72: Statement[0]: "Effect" is given twice"#,
        ),
        (
            r#"{"Version": "2012-10-18", "Statement": []}"#,
            r#"policy.json:1:13: Version must be "2012-10-17" or "2008-10-17", not "2012-10-18""#,
        ),
        (
            r#"{"Version": "2012-10-17"}"#,
            "policy.json:1:1: Statement is missing: a policy needs at least one statement",
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Principals": "*"}]}"#,
            r#"policy.json:1:72: Statement[0]: "Principals" is not a statement element (expected Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition)"#,
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "NotPrincipal": "*", "Action": "ecr:*"}]}"#,
            r#"policy.json:1:16: Statement[0].NotPrincipal is only allowed with "Effect": "Deny""#,
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "Principal": {"User": "x"}, "Action": "ecr:*"}]}"#,
            r#"policy.json:1:50: Statement[0].Principal: "User" is not a principal type (expected AWS, Service, Federated, CanonicalUser)"#,
        ),
        (
            "[1]",
            "policy.json:1:2: [0] must be a policy document (a JSON object), not a number",
        ),
        (
            "\"x\"",
            "policy.json:1:1: invalid JSON: Unexpected word (at 1:1 inside the JSON string)",
        ),
        (
            "   ",
            "policy.json:1:4: no policy here: expected a policy document (a JSON object) or an array of them",
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(text, expected)| error(text) != *expected)
        .map(|(text, expected)| {
            format!(
                "{text}\n  got:      {}\n  expected: {expected}",
                error(text)
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn invalid_json_is_located() {
    assert_eq!(
        error("{\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}"),
        "policy.json:3:23: invalid JSON: Trailing commas are not allowed"
    );
    assert!(
        error("{\"Statement\": // no comments\n []}")
            .starts_with("policy.json:1:15: invalid JSON: Comments are not allowed")
    );
    assert!(error(&"[".repeat(100_000)).contains("invalid JSON"));
}

#[test]
fn positions_count_characters_not_bytes() {
    let message =
        error("{\"Statement\": [{\"Sid\": \"é\", \"Effect\": \"Permit\", \"Action\": \"ecr:*\"}]}");
    assert_eq!(
        message,
        r#"policy.json:1:39: Statement[0].Effect must be "Allow" or "Deny""#
    );
}

/// Variations of a real policy: deleted, repeated and replaced characters.
fn mutated_policy() -> impl Strategy<Value = String> {
    let base: Vec<char> = POLICY.chars().collect();
    let length = base.len();
    proptest::collection::vec((0..length, 0..length, any::<char>(), 0..3u8), 1..6).prop_map(
        move |edits| {
            let mut text = base.clone();
            for (at, other, character, kind) in edits {
                let at = at % text.len().max(1);
                match kind {
                    0 if !text.is_empty() => {
                        text.remove(at);
                    }
                    1 => text.insert(at, text[other % text.len()]),
                    _ => text.insert(at, character),
                }
            }
            text.into_iter().collect()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary input never panics; an error always has a place.
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        if let Err(error) = parse(&text) {
            prop_assert!(error.line >= 1 && error.column >= 1);
            prop_assert!(!error.message.is_empty());
        }
    }

    #[test]
    fn json_like_text_never_panics(text in "[\\[\\]{}\":, a-zA-Z0-9*${}./-]{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn mutated_policies_never_panic(text in mutated_policy()) {
        match parse(&text) {
            Ok(documents) => {
                for statement in documents.iter().flat_map(|d| &d.statements) {
                    prop_assert!(statement.line.is_some_and(|line| line >= 1));
                }
            }
            Err(error) => prop_assert!(error.line >= 1 && error.line <= text.lines().count().max(1) + 1),
        }
    }
}
