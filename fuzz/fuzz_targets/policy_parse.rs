//! `parse_documents` on arbitrary UTF-8: it must never panic, and an error
//! must always have a place. Whatever parses is also evaluated, as identity
//! and as repository policy, so the evaluator meets the same inputs.
//!
//! Run: `cargo +nightly fuzz run policy_parse` (from the repository root).

#![no_main]

use ecr_fargate_preflight::policy::document::{Source, parse_documents};
use ecr_fargate_preflight::policy::evaluate::{PolicySet, Request, evaluate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match parse_documents(text, Source::file("fuzz.json")) {
        Err(error) => {
            assert!(error.line >= 1 && error.column >= 1, "{error}");
            assert!(!error.message.is_empty());
        }
        Ok(documents) => {
            let set = PolicySet {
                identity: documents.clone(),
                resource: documents.clone(),
                boundary: documents.first().cloned(),
                scps: Vec::new(),
                session: documents.last().cloned(),
            };
            let role = "arn:aws:iam::111111111111:role/push";
            for (action, resource) in [
                (
                    "ecr:PutImage",
                    "arn:aws:ecr:us-east-1:111111111111:repository/app",
                ),
                ("ecr:GetAuthorizationToken", "*"),
                (
                    "ecr:BatchGetImage",
                    "arn:aws:ecr:us-east-1:222222222222:repository/base",
                ),
            ] {
                let request =
                    Request::new(action, resource, role).with_context("aws:SourceVpce", ["vpce-1"]);
                let evaluation = evaluate(&set, &request);
                assert!(!evaluation.reasons.is_empty());
            }
        }
    }
});
