//! Tests of the comment: body, context, outcome and the API calls against a local fake.

use super::api::*;
use super::body::*;
use super::*;
use crate::report::{Report, rule_link};
use crate::rules;
use std::collections::HashMap;

fn context(vars: &[(&str, &str)]) -> Result<CommentContext, ContextError> {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    CommentContext::from_lookup(|k| env.get(k).cloned(), "ghs_x", Some("k1"))
}

#[test]
fn modes_parse_from_their_input_spellings() {
    assert_eq!("on-failure".parse(), Ok(CommentMode::OnFailure));
    assert_eq!(" always ".parse(), Ok(CommentMode::Always));
    assert_eq!("never".parse(), Ok(CommentMode::Never));
    assert_eq!("".parse(), Ok(CommentMode::OnFailure));
    assert_eq!(CommentMode::default(), CommentMode::OnFailure);
    let e = "sometimes".parse::<CommentMode>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid comment mode \"sometimes\": expected one of on-failure, always, never"
    );
    for choice in CommentMode::CHOICES {
        let mode: CommentMode = choice.parse().unwrap();
        assert_eq!(mode.to_string(), choice);
        // clap's spelling is the same.
        assert_eq!(
            clap::ValueEnum::to_possible_value(&mode)
                .unwrap()
                .get_name(),
            choice
        );
    }
}

#[test]
fn the_marker_holds_workflow_job_and_key_and_cannot_close_the_comment() {
    assert_eq!(
        marker("CI", "preflight", Some("ab12")),
        "<!-- ecr-fargate-preflight:CI:preflight:ab12 -->"
    );
    assert_eq!(
        marker("CI", "preflight", None),
        "<!-- ecr-fargate-preflight:CI:preflight -->"
    );
    assert_eq!(
        marker("CI", "preflight", Some("  ")),
        marker("CI", "preflight", None)
    );
    let evil = marker("a-->b", "x--y>z", Some("k:-->\n<!--"));
    assert_eq!(evil.matches("--").count(), 2, "{evil}");
    assert!(evil.starts_with("<!-- ") && evil.ends_with(" -->"));
    assert_eq!(evil.matches('>').count(), 1, "{evil}");
    assert_eq!(evil.matches(':').count(), 3, "{evil}");
    // Parts cannot run into one another.
    assert_ne!(marker("a:b", "c", None), marker("a", "b:c", None));
    assert_ne!(
        marker("CI", "job", Some("eu")),
        marker("CI", "job", Some("us"))
    );
    // Unicode names stay readable.
    assert!(marker("Déploiement", "j", None).contains("Déploiement"));
}

#[test]
fn the_discriminator_hashes_the_targets() {
    let a = discriminator(&[("repository", "team/app"), ("region", "eu-west-1")], None);
    let b = discriminator(&[("repository", "team/app"), ("region", "us-east-1")], None);
    assert_eq!(a.len(), 12);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
    assert_eq!(
        a,
        discriminator(&[("repository", "team/app"), ("region", "eu-west-1")], None)
    );
    assert_ne!(
        discriminator(&[("a", "bc")], None),
        discriminator(&[("ab", "c")], None)
    );
    let with = discriminator(&[("repository", "team/app")], Some("prod"));
    assert!(with.ends_with(".prod"), "{with}");
}

#[test]
fn the_context_comes_from_the_runner_variables() {
    let ctx = context(&[
        ("GITHUB_REPOSITORY", "acme/app"),
        ("GITHUB_SERVER_URL", "https://ghes.example.com/"),
        ("GITHUB_API_URL", "https://ghes.example.com/api/v3"),
        ("GITHUB_RUN_ID", "99"),
        ("GITHUB_RUN_ATTEMPT", "3"),
        ("GITHUB_WORKFLOW", "CI"),
        ("GITHUB_JOB", "check"),
        ("GITHUB_SHA", "0123456789abcdef"),
        ("GITHUB_EVENT_NAME", "push"),
    ])
    .unwrap();
    assert_eq!(ctx.api_url, "https://ghes.example.com/api/v3");
    assert_eq!(
        ctx.run_url().unwrap(),
        "https://ghes.example.com/acme/app/actions/runs/99/attempts/3"
    );
    assert_eq!(ctx.marker, "<!-- ecr-fargate-preflight:CI:check:k1 -->");
    assert_eq!(ctx.pull_request, None);
    assert_eq!(ctx.commit(), Some("0123456789abcdef"));
    assert!(!format!("{ctx:?}").contains("ghs_x"));

    let ctx = context(&[("GITHUB_REPOSITORY", "acme/app")]).unwrap();
    assert_eq!(ctx.api_url, DEFAULT_API_URL);
    assert_eq!(ctx.run_url(), None);
}

#[test]
fn bad_context_values_are_errors() {
    let e = context(&[("GITHUB_API_URL", "ftp://x")]).unwrap_err();
    assert!(matches!(e, ContextError::InvalidApiUrl(_)), "{e}");
    let e = context(&[("GITHUB_EVENT_NAME", "pull_request")]).unwrap_err();
    assert!(e.to_string().contains("GITHUB_EVENT_PATH"), "{e}");
    let e = context(&[
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", "/nonexistent/event.json"),
    ])
    .unwrap_err();
    assert!(matches!(e, ContextError::Event(_)), "{e}");
    let e = CommentContext::from_lookup(|_| None, "ghs_a\nb", None).unwrap_err();
    assert!(matches!(e, ContextError::InvalidToken));
    assert!(!e.to_string().contains("ghs_a"));
    assert_eq!(split_repository("acme/app"), Some(("acme", "app")));
    for bad in ["", "acme", "acme/", "/app", "a/b/c", "a b/c", "acme/app?x"] {
        assert_eq!(split_repository(bad), None, "{bad}");
    }
}

#[test]
fn the_body_has_verdict_table_details_and_footer() {
    let ctx = context(&[
        ("GITHUB_REPOSITORY", "acme/app"),
        ("GITHUB_RUN_ID", "7"),
        ("GITHUB_WORKFLOW", "CI"),
        ("GITHUB_JOB", "check"),
        ("GITHUB_SHA", "abcdef0123456789"),
    ])
    .unwrap();
    let finding = rules::PUSH_ACCESS_DENIED
        .finding("PutImage denied", "PUT manifest answered 403")
        .with_resources(["arn:aws:ecr:us-east-1:1:repository/a"])
        .with_fix(crate::report::Fix {
            description: "Grant it.".into(),
            policy_statement: Some(serde_json::json!({"Effect": "Allow"})),
            terraform: Some("resource {}\n```".into()),
            aws_cli: Some("aws iam put-role-policy".into()),
        });
    let report = Report::new(None, None, vec![finding], vec![]);
    let body = render_comment(&report, &ctx);
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], ctx.marker);
    assert_eq!(lines[1], "## ❌ ECR Fargate preflight: fail");
    assert!(
        lines[3].starts_with("**1** error(s), **0** warning(s)"),
        "{}",
        lines[3]
    );
    assert!(body.contains("| severity | rule | finding | resource |"));
    assert!(body.contains(
        "| ❌ error | [push/access-denied](https://github.com/ecr-fargate-preflight/ecr-fargate-preflight/blob/main/docs/rules/push/access-denied.md) | PutImage denied | arn:aws:ecr:us-east-1:1:repository/a |"
    ), "{body}");
    assert!(
        body.contains("<details><summary>error: push/access-denied — PutImage denied</summary>"),
        "{body}"
    );
    assert!(
        body.contains("```json\n{\n  \"Effect\": \"Allow\"\n}\n```"),
        "{body}"
    );
    assert!(body.contains("````hcl\nresource {}\n```\n````"), "{body}");
    assert!(body.contains("```sh\naws iam put-role-policy\n```"));
    assert!(body.contains("commit abcdef0"), "{body}");
    assert!(body.contains("[workflow run](https://github.com/acme/app/actions/runs/7)"));
    assert!(body.contains("full report in the job summary"));
    assert!(body.trim_end().ends_with("</sub>"));

    let warn = Report::new(
        None,
        None,
        vec![rules::PUSH_CLEANUP_DENIED.finding("t", "m")],
        vec![],
    );
    assert!(
        render_comment(&warn, &ctx).contains("## ⚠️ ECR Fargate preflight: pass, with warnings")
    );
    let pass = render_comment(&Report::new(None, None, vec![], vec![]), &ctx);
    assert!(pass.contains("## ✅ ECR Fargate preflight: pass"));
    assert!(!pass.contains("<details>"));
}

#[test]
fn more_than_the_listed_findings_are_counted() {
    let ctx = context(&[("GITHUB_REPOSITORY", "acme/app")]).unwrap();
    let findings = (0..MAX_COMMENT_FINDINGS + 5)
        .map(|i| rules::PUSH_ACCESS_DENIED.finding(format!("t{i}"), "m"))
        .collect();
    let body = render_comment(&Report::new(None, None, findings, vec![]), &ctx);
    assert!(
        body.contains(
            "5 more finding(s) are not listed here; the full report is in the job summary."
        ),
        "{body}"
    );
    assert_eq!(body.matches("<details>").count(), MAX_COMMENT_FINDINGS);
}

#[test]
fn a_comment_link_must_point_into_the_github_server() {
    let ok = |url: &str, server: &str| CommentLink::check(url, server).url().map(String::from);
    // github.com, GitHub Enterprise Server, and an http server (tests).
    let good = [
        (
            "https://github.com/acme/app/pull/42#issuecomment-1",
            "https://github.com",
        ),
        (
            "https://github.com/acme/app/pull/42#issuecomment-1",
            "https://github.com/",
        ),
        ("https://GitHub.com/acme/app/pull/42", "https://github.com"),
        (
            "https://github.com:443/acme/app/pull/42",
            "https://github.com",
        ),
        (
            "https://ghes.example.com/acme/app/pull/7#issuecomment-3",
            "https://ghes.example.com",
        ),
        (
            "https://octo.ghe.com/acme/app/pull/7",
            "https://octo.ghe.com",
        ),
        (
            "http://127.0.0.1:8080/acme/app/pull/7",
            "http://127.0.0.1:8080",
        ),
        ("https://127.0.0.1/acme/app/pull/7", "http://127.0.0.1:8080"),
    ];
    for (url, server) in good {
        assert!(ok(url, server).is_some(), "{url} on {server}");
    }
    assert_eq!(
        ok("https://GitHub.com/a/b/pull/1", "https://github.com").as_deref(),
        Some("https://github.com/a/b/pull/1")
    );
    let bad = [
        ("javascript:alert(1)", "https://github.com"),
        ("data:text/html,x", "https://github.com"),
        ("http://evil.example/acme/app/pull/42", "https://github.com"),
        (
            "https://evil.example/acme/app/pull/42",
            "https://github.com",
        ),
        // A downgrade, a look-alike host, a user name, another port.
        ("http://github.com/acme/app/pull/42", "https://github.com"),
        ("https://github.com.evil.example/a", "https://github.com"),
        ("https://evil.example.github.com/a", "https://github.com"),
        ("https://github.com@evil.example/a", "https://github.com"),
        ("https://user:pw@github.com/a", "https://github.com"),
        ("https://github.com:8443/a", "https://github.com"),
        ("http://127.0.0.1:9999/a", "http://127.0.0.1:8080"),
        // GHES links must be on the GHES host, not github.com, and back.
        (
            "https://github.com/acme/app/pull/7",
            "https://ghes.example.com",
        ),
        (
            "https://api.github.com/repos/acme/app",
            "https://github.com",
        ),
        // What the parser would silently drop or what cannot be an output line.
        ("https://github.com/a\nb", "https://github.com"),
        ("https://github.com/a b", "https://github.com"),
        ("/acme/app/pull/42", "https://github.com"),
        ("", "https://github.com"),
    ];
    for (url, server) in bad {
        let link = CommentLink::check(url, server);
        assert_eq!(link.url(), None, "{url} on {server}");
        let reason = link.refusal().unwrap();
        assert!(reason.contains("GITHUB_SERVER_URL"), "{reason}");
    }
    // A hostile URL is quoted, cut, in the reason.
    let long = format!("https://evil.example/{}", "a".repeat(5000));
    let reason = CommentLink::check(&long, "https://github.com")
        .refusal()
        .unwrap()
        .to_string();
    assert!(reason.len() < 400, "{reason}");
    // Without a usable server URL nothing passes.
    let link = CommentLink::check("https://github.com/a", "github.com");
    assert_eq!(link.url(), None);
    assert!(
        link.refusal()
            .unwrap()
            .contains("GITHUB_SERVER_URL \"github.com\"")
    );
}

#[test]
fn only_the_api_origin_is_an_api_origin() {
    let ctx = context(&[("GITHUB_API_URL", "https://ghes.example.com/api/v3")]).unwrap();
    for same in [
        "https://ghes.example.com/api/v3/repos/a/b/issues/1/comments?page=2",
        "https://GHES.example.com:443/api/v3/x",
        "/api/v3/repos/a/b/issues/1/comments?page=2",
        "https://ghes.example.com/elsewhere",
    ] {
        assert_eq!(on_api_origin(&ctx, same), Ok(()), "{same}");
    }
    for (other, origin) in [
        (
            "http://ghes.example.com/api/v3/x",
            "http://ghes.example.com",
        ),
        (
            "https://ghes.example.com:8443/api/v3/x",
            "https://ghes.example.com:8443",
        ),
        (
            "https://api.github.com/repositories/1/issues/1/comments",
            "https://api.github.com",
        ),
        ("//evil.example/api/v3/x", "https://evil.example"),
    ] {
        assert_eq!(on_api_origin(&ctx, other), Err(origin.into()), "{other}");
    }
}

#[test]
fn unsafe_links_are_not_linked() {
    assert_eq!(
        safe_url("https://x.example/a"),
        Some("https://x.example/a".into())
    );
    assert_eq!(safe_url("javascript:alert(1)"), None);
    assert_eq!(safe_url("https://x.example/a)(b"), None);
    assert_eq!(safe_url("not a url"), None);
    let mut f = rules::PUSH_ACCESS_DENIED.finding("t", "m");
    f.docs = "javascript:alert(1)".into();
    f.docs_links = vec![f.docs.clone()];
    assert_eq!(rule_link(&f), "push/access-denied");
}

#[test]
fn outcomes_give_the_url_and_the_notice() {
    let created = CommentOutcome::Created {
        id: 1,
        link: CommentLink::check(
            "https://github.com/a/b/pull/1#issuecomment-1",
            "https://github.com",
        ),
    };
    assert_eq!(
        created.url(),
        Some("https://github.com/a/b/pull/1#issuecomment-1")
    );
    assert_eq!(created.workflow_command(), None);
    assert_eq!(
        created.to_string(),
        "posted the pull-request comment https://github.com/a/b/pull/1#issuecomment-1"
    );
    let refused = CommentOutcome::Updated {
        id: 2,
        link: CommentLink::check("javascript:alert(1)", "https://github.com"),
    };
    assert_eq!(refused.url(), None);
    assert_eq!(
        refused.workflow_command().unwrap(),
        "::warning title=Pull-request comment::The comment (id 2) was posted, but there is no comment-url output: the API gave the comment's html_url as \"javascript:alert(1)\", which is not an https link on https://github.com (GITHUB_SERVER_URL)."
    );
    assert_eq!(
        refused.to_string(),
        "updated the pull-request comment (id 2; its URL was refused)"
    );
    let fallback = CommentOutcome::Fallback {
        reason: "100% read-only\nfork".into(),
    };
    assert_eq!(fallback.url(), None);
    assert_eq!(
        fallback.workflow_command().unwrap(),
        "::notice title=Pull-request comment::100%25 read-only%0Afork"
    );
}

#[test]
fn the_comment_draws_whole_path_diagrams_within_its_budget() {
    use crate::network::rules::{self as network_rules, fixture};
    use crate::network::snapshot::{Subnet, Workload};
    let ctx = context(&[("GITHUB_REPOSITORY", "acme/app")]).unwrap();
    // Many shapes, each with long names: more than the comment draws.
    let mut s = fixture::snapshot();
    s.workloads.clear();
    for i in 0..12 {
        let id = format!("subnet-{i}-{}", "x".repeat(70));
        s.subnets.insert(
            id.clone(),
            Subnet {
                id: id.clone(),
                vpc_id: "vpc-1".into(),
                availability_zone: "us-east-1a".into(),
                cidr_block: None,
                ..Default::default()
            },
        );
        s.workloads.push(Workload {
            subnets: vec![id, "subnet-a".into(), "subnet-b".into()],
            ..fixture::workload(&format!("w{i}"))
        });
    }
    let findings = network_rules::check_all(&s);
    let mut network = crate::network::run::summary(&s, "snapshot", 0, 0);
    crate::network::run::with_paths(&mut network, &s, &findings);
    assert_eq!(network.paths.len(), 12);
    // Enough findings with long details that the body must be cut.
    let mut all: Vec<_> = (0..MAX_COMMENT_FINDINGS)
        .map(|i| rules::PUSH_ACCESS_DENIED.finding(format!("t{i}"), "m".repeat(2_000)))
        .collect();
    all.extend(findings);
    let report = Report::new(None, None, all, vec![]).with_network(Some(network));
    let body = render_comment(&report, &ctx);
    assert!(body.encode_utf16().count() <= COMMENT_LIMIT);
    let drawn = body.matches("```mermaid\n").count();
    assert!((1..=MAX_COMMENT_DIAGRAMS).contains(&drawn), "{drawn}");
    // Every diagram drawn is whole: its fence closes after its last line.
    for block in body.split("```mermaid\n").skip(1) {
        let (diagram, _) = block.split_once("\n```\n").expect("a closed fence");
        assert!(diagram.starts_with("flowchart LR\n"), "{diagram}");
        assert!(!diagram.contains("```"), "{diagram}");
    }
    assert!(
        body.contains("more network shape(s) are not drawn here"),
        "{body}"
    );
    let section = &body[body.find("### Paths").unwrap()..body.find("<details>").unwrap()];
    assert!(section.encode_utf16().count() <= COMMENT_DIAGRAM_BUDGET + 200);
}
