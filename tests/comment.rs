//! The sticky pull-request comment against a local GitHub REST API
//! (wiremock) answering with bodies shaped like GitHub's documented ones.

mod harness;

use std::collections::HashMap;

use ecr_fargate_preflight::github::comment::{
    COMMENT_LIMIT, CommentContext, CommentMode, CommentOutcome, marker, render_comment, upsert,
};
use ecr_fargate_preflight::report::{Finding, Fix, Report};
use ecr_fargate_preflight::rules;
use harness::github::{bot, comment, person};
use serde_json::{Value, json};
use wiremock::matchers::{bearer_token, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "ghs_TestToken123";
const HEAD_SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const COMMENTS: &str = "/repos/acme/app/issues/42/comments";

/// A `pull_request` webhook payload, trimmed from a real one.
fn event_payload(head_repo: &str) -> String {
    json!({
        "action": "synchronize",
        "number": 42,
        "pull_request": {
            "url": "https://api.github.com/repos/acme/app/pulls/42",
            "id": 1, "node_id": "PR_kwDOA", "number": 42, "state": "open",
            "title": "Deploy", "user": {"login": "octocat", "id": 1, "type": "User"},
            "head": {"label": "octocat:feature", "ref": "feature", "sha": HEAD_SHA,
                     "repo": {"id": 2, "name": "app", "full_name": head_repo}},
            "base": {"label": "acme:main", "ref": "main",
                     "sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b",
                     "repo": {"id": 3, "name": "app", "full_name": "acme/app"}}
        },
        "repository": {"id": 3, "full_name": "acme/app"},
        "sender": {"login": "octocat", "id": 1, "type": "User"}
    })
    .to_string()
}

struct Fixture {
    _dir: tempfile::TempDir,
    ctx: CommentContext,
}

/// A context as the runner's environment would give it, with the event
/// file in a temporary directory.
fn context(api_url: &str, head_repo: &str, job: &str, key: Option<&str>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, event_payload(head_repo)).unwrap();
    let env: HashMap<&str, String> = HashMap::from([
        ("GITHUB_API_URL", api_url.to_string()),
        ("GITHUB_SERVER_URL", "https://github.com".into()),
        ("GITHUB_REPOSITORY", "acme/app".into()),
        ("GITHUB_RUN_ID", "1234567890".into()),
        ("GITHUB_RUN_ATTEMPT", "2".into()),
        ("GITHUB_WORKFLOW", "Deploy preflight".into()),
        ("GITHUB_JOB", job.into()),
        (
            "GITHUB_SHA",
            "ffffffffffffffffffffffffffffffffffffffff".into(),
        ),
        ("GITHUB_EVENT_NAME", "pull_request".into()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
    ]);
    let ctx = CommentContext::from_lookup(|k| env.get(k).cloned(), TOKEN, key).unwrap();
    Fixture { _dir: dir, ctx }
}

fn failing_report() -> Report {
    let denied = rules::PUSH_ACCESS_DENIED
        .finding(
            "ecr:InitiateLayerUpload denied",
            "HEAD then POST /v2/team/app/blobs/uploads/ answered 403: the role may not start layer uploads.",
        )
        .with_resources(["arn:aws:ecr:us-east-1:123456789012:repository/team/app"])
        .with_iam_action("ecr:InitiateLayerUpload")
        .with_fix(Fix {
            description: "Allow the upload actions on the repository.".into(),
            policy_statement: Some(json!({"Effect": "Allow", "Action": ["ecr:InitiateLayerUpload"], "Resource": "*"})),
            terraform: Some("resource \"aws_iam_role_policy\" \"push\" {}".into()),
            aws_cli: Some("aws iam put-role-policy --role-name deploy".into()),
        });
    let cleanup =
        rules::PUSH_CLEANUP_DENIED.finding("cleanup denied", "BatchDeleteImage answered 403");
    Report::new(None, None, vec![denied, cleanup], vec![])
}

fn passing_report() -> Report {
    Report::new(None, None, vec![], vec![])
}

fn created(id: u64, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(comment(id, body, bot()))
}

/// Answers a create or update with the comment it was given.
fn echo(id: u64) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    move |req: &Request| {
        let sent: Value = serde_json::from_slice(&req.body).unwrap();
        ResponseTemplate::new(200).set_body_json(comment(id, sent["body"].as_str().unwrap(), bot()))
    }
}

fn list(comments: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(Value::Array(comments))
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

fn sent_body(req: &Request) -> String {
    let v: Value = serde_json::from_slice(&req.body).unwrap();
    v["body"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn first_run_creates_and_the_second_updates_the_same_comment() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", Some("abc123"));
    let report = failing_report();

    // First run: only other people's comments.
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .and(query_param("per_page", "100"))
        .and(bearer_token(TOKEN))
        .respond_with(list(vec![comment(1, "LGTM", person())]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .and(bearer_token(TOKEN))
        .respond_with(echo(7001))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = upsert(&report, &f.ctx, CommentMode::OnFailure).await;
    assert!(
        matches!(outcome, CommentOutcome::Created { id: 7001, .. }),
        "{outcome:?}"
    );
    assert_eq!(outcome.workflow_command(), None);
    assert_eq!(
        outcome.url(),
        Some("https://github.com/acme/app/pull/42#issuecomment-7001")
    );
    let posted = sent_body(requests(&server).await.last().unwrap());
    assert!(posted.starts_with(&f.ctx.marker), "{posted}");
    assert!(posted.contains("❌ ECR Fargate preflight: fail"));
    server.verify().await;
    server.reset().await;

    // Second run: our comment is there (GitHub stores CRLF line endings).
    let stored = posted.replace('\n', "\r\n");
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(list(vec![
            comment(1, "LGTM", person()),
            comment(7001, &stored, bot()),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/app/issues/comments/7001"))
        .and(bearer_token(TOKEN))
        .respond_with(echo(7001))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(created(9999, "duplicate"))
        .expect(0)
        .mount(&server)
        .await;
    let outcome = upsert(&report, &f.ctx, CommentMode::OnFailure).await;
    assert!(
        matches!(outcome, CommentOutcome::Updated { id: 7001, .. }),
        "{outcome:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn follows_the_link_header_past_100_comments() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    let page1: Vec<Value> = (1..=100)
        .map(|i| comment(i, &format!("comment {i}"), person()))
        .collect();
    let page2 = vec![
        comment(101, "more", person()),
        comment(5150, &format!("{}\n## old report", f.ctx.marker), bot()),
    ];
    let next = format!("{}{COMMENTS}?per_page=100&page=2", server.uri());
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .and(query_param_is_missing("page"))
        .respond_with(list(page1).insert_header(
            "link",
            format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\"").as_str(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .and(query_param("page", "2"))
        .respond_with(
            list(page2).insert_header(
                "link",
                format!(
                    "<{}{COMMENTS}?per_page=100&page=1>; rel=\"prev\"",
                    server.uri()
                )
                .as_str(),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/app/issues/comments/5150"))
        .respond_with(echo(5150))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(created(1, ""))
        .expect(0)
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
    assert!(
        matches!(outcome, CommentOutcome::Updated { id: 5150, .. }),
        "{outcome:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn another_jobs_or_keys_comment_is_left_alone() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", Some("eu-west-1"));
    let ours = f.ctx.marker.clone();
    let others = vec![
        comment(
            11,
            &format!(
                "{}\nother job",
                marker("Deploy preflight", "audit", Some("eu-west-1"))
            ),
            bot(),
        ),
        comment(
            12,
            &format!(
                "{}\nother matrix leg",
                marker("Deploy preflight", "preflight", Some("us-east-1"))
            ),
            bot(),
        ),
        comment(
            13,
            &format!("{}\nno key", marker("Deploy preflight", "preflight", None)),
            bot(),
        ),
        // Our marker, but quoted further down by a person: not ours.
        comment(14, &format!("Why did this fail?\n> {ours}"), person()),
    ];
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(list(others))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(echo(0))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .respond_with(echo(15))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::OnFailure).await;
    assert!(
        matches!(outcome, CommentOutcome::Created { id: 15, .. }),
        "{outcome:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_bots_comment_is_preferred_over_a_persons_with_the_marker() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    let body = format!("{}\nold", f.ctx.marker);
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(list(vec![
            comment(20, &body, person()),
            comment(21, &body, bot()),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/app/issues/comments/21"))
        .respond_with(echo(21))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
    assert!(
        matches!(outcome, CommentOutcome::Updated { id: 21, .. }),
        "{outcome:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_read_only_token_falls_back_with_a_reason() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    let refused = ResponseTemplate::new(403).set_body_json(json!({
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
        "status": "403"
    }));
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(list(vec![]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .respond_with(refused.clone())
        .expect(1)
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::OnFailure).await;
    let CommentOutcome::Fallback { reason } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        reason.contains("403") && reason.contains("Resource not accessible by integration"),
        "{reason}"
    );
    assert!(reason.contains("pull-requests: write"), "{reason}");
    let command = outcome.workflow_command().unwrap();
    assert!(
        command.starts_with("::notice title=Pull-request comment::"),
        "{command}"
    );
    assert!(!command.contains('\n'));
    server.verify().await;

    // Refused already when listing (a private repository the token cannot see).
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"message": "Not Found", "status": "404"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(created(1, ""))
        .expect(0)
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
    assert!(
        matches!(&outcome, CommentOutcome::Fallback { reason } if reason.contains("404")),
        "{outcome:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn other_api_errors_are_reported_not_raised() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": "Bad credentials", "status": "401"})),
        )
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
    assert!(
        matches!(&outcome, CommentOutcome::Failed { reason } if reason.contains("Bad credentials")),
        "{outcome:?}"
    );
    assert!(
        outcome
            .workflow_command()
            .unwrap()
            .starts_with("::warning ")
    );
    assert!(!format!("{outcome:?}{outcome}").contains(TOKEN));

    // A body that is not a comment list.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>"))
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
    assert!(
        matches!(outcome, CommentOutcome::Failed { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_fork_pull_request_makes_no_request() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "octocat/app", "preflight", None);
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
    let CommentOutcome::Fallback { reason } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        reason.contains("fork") && reason.contains("octocat/app"),
        "{reason}"
    );
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn never_makes_no_request() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Never).await;
    assert!(
        matches!(outcome, CommentOutcome::Skipped { .. }),
        "{outcome:?}"
    );
    assert_eq!(outcome.workflow_command(), None);
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn on_failure_with_a_pass_and_no_earlier_comment_posts_nothing() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(list(vec![]))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(created(1, ""))
        .expect(0)
        .mount(&server)
        .await;
    let outcome = upsert(&passing_report(), &f.ctx, CommentMode::OnFailure).await;
    assert!(
        matches!(outcome, CommentOutcome::Skipped { .. }),
        "{outcome:?}"
    );
    // A report with warnings only passes too.
    let warnings = Report::new(
        None,
        None,
        vec![rules::PUSH_CLEANUP_DENIED.finding("cleanup denied", "403")],
        vec![],
    );
    let outcome = upsert(&warnings, &f.ctx, CommentMode::OnFailure).await;
    assert!(
        matches!(outcome, CommentOutcome::Skipped { .. }),
        "{outcome:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn on_failure_with_a_pass_updates_the_earlier_comment_to_say_so() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    let stale = render_comment(&failing_report(), &f.ctx);
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(list(vec![comment(31, &stale, bot())]))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/app/issues/comments/31"))
        .respond_with(echo(31))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(created(1, ""))
        .expect(0)
        .mount(&server)
        .await;
    let outcome = upsert(&passing_report(), &f.ctx, CommentMode::OnFailure).await;
    assert!(
        matches!(outcome, CommentOutcome::Updated { id: 31, .. }),
        "{outcome:?}"
    );
    let patched = sent_body(requests(&server).await.last().unwrap());
    assert!(patched.starts_with(&f.ctx.marker));
    assert!(
        patched.contains("✅ ECR Fargate preflight: pass"),
        "{patched}"
    );
    assert!(!patched.contains("push/access-denied"), "{patched}");
    server.verify().await;
}

#[tokio::test]
async fn honours_a_github_enterprise_api_path() {
    let server = MockServer::start().await;
    let api = format!("{}/api/v3", server.uri());
    let f = context(&api, "acme/app", "preflight", None);
    let next = format!("{api}/repos/acme/app/issues/42/comments?per_page=100&page=2");
    Mock::given(method("GET"))
        .and(path(format!("/api/v3{COMMENTS}")))
        .and(query_param_is_missing("page"))
        .respond_with(
            list(vec![comment(1, "hi", person())])
                .insert_header("link", format!("<{next}>; rel=\"next\"").as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v3{COMMENTS}")))
        .and(query_param("page", "2"))
        .respond_with(list(vec![]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v3{COMMENTS}")))
        .respond_with(echo(41))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
    assert!(
        matches!(outcome, CommentOutcome::Created { id: 41, .. }),
        "{outcome:?}"
    );
    for req in requests(&server).await {
        assert!(req.url.path().starts_with("/api/v3/repos/"), "{}", req.url);
    }
    server.verify().await;
}

/// Every `<details>` closed and every code fence closed, read line by line
/// as a markdown renderer would.
fn assert_balanced(body: &str) {
    let mut fence = 0;
    let mut details = 0i32;
    for line in body.lines() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        if fence > 0 {
            if ticks >= fence && line[ticks..].trim().is_empty() {
                fence = 0;
            }
            continue;
        }
        if ticks >= 3 {
            fence = ticks;
        }
        details += line.matches("<details>").count() as i32;
        details -= line.matches("</details>").count() as i32;
        assert!(details >= 0, "closed a details block never opened");
    }
    assert_eq!(fence, 0, "open code fence");
    assert_eq!(details, 0, "open details block");
}

fn huge_report(findings: usize) -> Report {
    let all = (0..findings)
        .map(|i| {
            rules::PUSH_ACCESS_DENIED
                .finding(format!("denied ✅ {i}"), "x".repeat(400) + " 🚀🚀🚀")
                .with_resources([format!(
                    "arn:aws:ecr:us-east-1:123456789012:repository/team/app-{i}"
                )])
                .with_fix(Fix {
                    description: "grant it".into(),
                    policy_statement: Some(
                        json!({"Effect": "Allow", "Action": ["ecr:PutImage"], "Resource": "*"}),
                    ),
                    terraform: Some("```\nresource \"x\" \"y\" {}\n".repeat(3)),
                    aws_cli: Some("aws ecr put-image".into()),
                })
        })
        .collect();
    Report::new(None, None, all, vec![])
}

#[tokio::test]
async fn an_oversized_report_is_one_truncated_comment_under_the_limit() {
    let report = huge_report(3000);
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    let body = render_comment(&report, &f.ctx);
    let chars = body.encode_utf16().count();
    assert!(chars <= COMMENT_LIMIT, "{chars}");
    assert!(chars > COMMENT_LIMIT - 5000, "wastes the budget: {chars}");
    assert!(body.starts_with(&f.ctx.marker));
    assert!(body.contains("**Truncated**"), "not visibly truncated");
    assert!(
        body.contains(
            "[job summary](https://github.com/acme/app/actions/runs/1234567890/attempts/2)"
        ),
        "no link to the summary"
    );
    // The footer survives the cut.
    assert!(
        body.trim_end().ends_with("</sub>"),
        "{}",
        &body[body.len() - 300..]
    );
    assert!(body.contains("commit 6dcb09b"));
    assert_balanced(&body);
    // The count of what is missing is right: 3000 less the blocks shown
    // whole (the last one opened may have been cut, and then counts as missing).
    let opened = body.matches("<details><summary>error: ").count();
    assert!(opened > 0 && opened < 100, "{opened}");
    let missing = |shown: usize| format!("{} finding(s) not shown", 3000 - shown);
    assert!(
        body.contains(&missing(opened)) || body.contains(&missing(opened - 1)),
        "{opened}"
    );

    // Through the API: one POST, under the limit.
    Mock::given(method("GET"))
        .respond_with(list(vec![]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(echo(51))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = upsert(&report, &f.ctx, CommentMode::Always).await;
    assert!(
        matches!(outcome, CommentOutcome::Created { id: 51, .. }),
        "{outcome:?}"
    );
    let posted = sent_body(requests(&server).await.last().unwrap());
    assert!(posted.encode_utf16().count() <= COMMENT_LIMIT);
    server.verify().await;
}

#[tokio::test]
async fn a_body_refused_as_too_long_is_sent_once_more_shorter() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    let too_long = ResponseTemplate::new(422).set_body_json(json!({
        "message": "Validation Failed",
        "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                    "message": "body is too long (maximum is 65536 characters)"}],
        "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
        "status": "422"
    }));
    Mock::given(method("GET"))
        .respond_with(list(vec![]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(too_long.clone())
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(echo(61))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = upsert(&huge_report(3000), &f.ctx, CommentMode::Always).await;
    assert!(
        matches!(outcome, CommentOutcome::Created { id: 61, .. }),
        "{outcome:?}"
    );
    let posts: Vec<Request> = requests(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    let retry = sent_body(&posts[1]);
    assert!(retry.len() <= COMMENT_LIMIT / 2, "{}", retry.len());
    assert!(retry.len() < sent_body(&posts[0]).len());
    assert!(retry.starts_with(&f.ctx.marker) && retry.contains("**Truncated**"));
    assert_balanced(&retry);
    server.verify().await;

    // Refused again: reported, no third try.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(list(vec![]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(too_long)
        .expect(2)
        .mount(&server)
        .await;
    let outcome = upsert(&huge_report(3000), &f.ctx, CommentMode::Always).await;
    assert!(
        matches!(&outcome, CommentOutcome::Failed { reason } if reason.contains("422")),
        "{outcome:?}"
    );
    server.verify().await;
}

fn injected() -> Report {
    let evil: Finding = rules::PUSH_REPOSITORY_NOT_FOUND
        .finding(
            "<!-- hidden --> **bold** [click](javascript:alert(1)) | col",
            "Repository <img src=x onerror=alert(1)> </details> ``` end\n# heading",
        )
        .with_resources([
            "team/<img src=x onerror=alert(1)>|evil`name`",
            "a<script>b</script>",
        ])
        .with_iam_action("ecr:*<b>");
    Report::new(None, None, vec![evil], vec![])
}

#[tokio::test]
async fn markdown_and_html_injection_is_escaped() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    let body = render_comment(&injected(), &f.ctx);
    assert!(!body.contains("<img"), "{body}");
    assert!(!body.contains("<script"), "{body}");
    assert!(!body.contains("<b>"), "{body}");
    assert_eq!(body.matches("<!--").count(), 1, "only our marker: {body}");
    assert!(!body.contains("[click]("), "{body}");
    assert!(body.contains("\\[click\\](javascript"), "{body}");
    assert!(!body.contains("\n# heading"), "{body}");
    // The finding's table row keeps its four columns.
    let row = body
        .lines()
        .find(|l| l.starts_with("| ❌ error |"))
        .unwrap();
    let unescaped = row
        .char_indices()
        .filter(|&(i, c)| c == '|' && !row[..i].ends_with('\\'))
        .count();
    assert_eq!(unescaped, 5, "{row}");
    assert_eq!(body.matches("</details>").count(), 1, "{body}");
    assert_balanced(&body);
}

#[tokio::test]
async fn a_comment_deleted_before_the_update_is_posted_anew() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    let ours = format!("{}\nold", f.ctx.marker);
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(list(vec![comment(71, &ours, bot())]))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/app/issues/comments/71"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"message": "Not Found", "status": "404"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .respond_with(echo(72))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::OnFailure).await;
    assert!(
        matches!(outcome, CommentOutcome::Created { id: 72, .. }),
        "{outcome:?}"
    );
    server.verify().await;
}

/// A server on another port of 127.0.0.1: another origin, as an attacker's
/// host would be. `/hop1` redirects (307, keeping the method) to `/hop2` on
/// itself, a second hop that sheds a one-hop credential filter; `/hop2`
/// answers like GitHub, so a client that follows gets somewhere. It records
/// everything it receives.
async fn another_origin() -> MockServer {
    let other = MockServer::start().await;
    Mock::given(path("/hop1"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}/hop2", other.uri())),
        )
        .mount(&other)
        .await;
    Mock::given(method("GET"))
        .and(path("/hop2"))
        .respond_with(list(vec![]))
        .mount(&other)
        .await;
    Mock::given(path("/hop2"))
        .respond_with(echo(666))
        .mount(&other)
        .await;
    other
}

/// Fails when `other` received the token, then when it received anything.
async fn assert_untouched(other: &MockServer, case: &str) {
    let got = requests(other).await;
    let leaked: Vec<String> = got
        .iter()
        .filter(|r| {
            r.headers
                .get_all("authorization")
                .iter()
                .any(|v| v.to_str().unwrap_or_default().contains(TOKEN))
        })
        .map(|r| format!("{} {}", r.method, r.url))
        .collect();
    assert!(
        leaked.is_empty(),
        "{case}: the token went to another origin: {leaked:?}"
    );
    let urls: Vec<String> = got
        .iter()
        .map(|r| format!("{} {}", r.method, r.url))
        .collect();
    assert!(
        urls.is_empty(),
        "{case}: another origin was asked: {urls:?}"
    );
}

#[tokio::test]
async fn a_redirect_to_another_origin_never_carries_the_token() {
    // (which request GitHub redirects, the status, where to)
    let cases = [
        ("GET", 302, "/hop2"),
        ("GET", 301, "/hop1"),
        ("GET", 307, "/hop1"),
        ("GET", 308, "/hop2"),
        ("POST", 307, "/hop1"),
        ("POST", 302, "/hop2"),
        ("PATCH", 308, "/hop1"),
    ];
    for (redirected, status, hop) in cases {
        let case = format!("{redirected} answered {status} to {hop}");
        let server = MockServer::start().await;
        let other = another_origin().await;
        let f = context(&server.uri(), "acme/app", "preflight", None);
        let away = ResponseTemplate::new(status)
            .insert_header("location", format!("{}{hop}", other.uri()).as_str());
        let ours = comment(81, &format!("{}\nold", f.ctx.marker), bot());
        Mock::given(method(redirected))
            .respond_with(away)
            .mount(&server)
            .await;
        let listed = if redirected == "PATCH" {
            vec![ours]
        } else {
            vec![]
        };
        Mock::given(method("GET"))
            .and(path(COMMENTS))
            .respond_with(list(listed))
            .mount(&server)
            .await;
        let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
        assert_untouched(&other, &case).await;
        let CommentOutcome::Fallback { reason } = &outcome else {
            panic!("{case}: {outcome:?}")
        };
        assert!(
            reason.contains(&status.to_string()) && reason.contains("redirect"),
            "{case}: {reason}"
        );
        assert!(!reason.contains(TOKEN));
        assert!(outcome.url().is_none());
        assert!(
            outcome.workflow_command().unwrap().starts_with("::notice "),
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_next_page_on_another_origin_is_not_fetched() {
    let server = MockServer::start().await;
    let other = another_origin().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    let page1: Vec<Value> = (1..=100)
        .map(|i| comment(i, &format!("comment {i}"), person()))
        .collect();
    let next = format!("{}{COMMENTS}?per_page=100&page=2", other.uri());
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(list(page1).insert_header("link", format!("<{next}>; rel=\"next\"").as_str()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(created(1, ""))
        .expect(0)
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
    assert_untouched(&other, "Link rel=next to another origin").await;
    let CommentOutcome::Fallback { reason } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(reason.contains(&other.uri()), "{reason}");
    server.verify().await;
}

/// The comment GitHub answers with, its `html_url` replaced.
fn answered_with_url(id: u64, html_url: &str) -> ResponseTemplate {
    let mut c = comment(id, "x", bot());
    c["html_url"] = json!(html_url);
    ResponseTemplate::new(201).set_body_json(c)
}

#[tokio::test]
async fn a_comment_url_off_the_github_server_is_not_given_out() {
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    Mock::given(method("GET"))
        .respond_with(list(vec![]))
        .mount(&server)
        .await;
    for bad in [
        "javascript:alert(1)",
        "http://evil.example/acme/app/pull/42#issuecomment-91",
        "https://evil.example/acme/app/pull/42#issuecomment-91",
        "http://github.com/acme/app/pull/42#issuecomment-91",
        "https://github.com.evil.example/acme/app/pull/42",
        "https://github.com@evil.example/acme/app/pull/42",
        "https://github.com:8443/acme/app/pull/42",
        "data:text/html,<script>alert(1)</script>",
    ] {
        let mounted = Mock::given(method("POST"))
            .respond_with(answered_with_url(91, bad))
            .mount_as_scoped(&server)
            .await;
        let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
        drop(mounted);
        // Posted all the same, but without a link.
        assert!(
            matches!(outcome, CommentOutcome::Created { id: 91, .. }),
            "{bad}: {outcome:?}"
        );
        assert_eq!(outcome.url(), None, "{bad}");
        let command = outcome
            .workflow_command()
            .expect("a word on the missing URL");
        assert!(command.starts_with("::warning "), "{bad}: {command}");
        assert!(command.contains("comment-url"), "{bad}: {command}");
        assert!(command.contains("https://github.com"), "{bad}: {command}");
        assert!(!command.contains('\n'));
    }
    let good = "https://github.com/acme/app/pull/42#issuecomment-92";
    Mock::given(method("POST"))
        .respond_with(answered_with_url(92, good))
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
    assert_eq!(outcome.url(), Some(good));
    assert_eq!(outcome.workflow_command(), None);
}

/// A listing page whose body is past `limits::GITHUB_BODY` (a valid JSON
/// array of comments, only too long): the comment fails naming the limit and
/// nothing is posted; an answer to the POST past it fails the same way.
#[tokio::test]
async fn an_answer_past_the_body_limit_fails_the_comment_naming_it() {
    use ecr_fargate_preflight::limits::{GITHUB_BODY, size};
    let server = MockServer::start().await;
    let f = context(&server.uri(), "acme/app", "preflight", None);
    let filler = "x".repeat(60_000);
    let many: Vec<Value> = (0..(GITHUB_BODY / 60_000 + 2) as u64)
        .map(|i| comment(i + 1, &filler, person()))
        .collect();
    let page = serde_json::to_string(&many).unwrap();
    assert!(page.len() > GITHUB_BODY);
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(ResponseTemplate::new(200).set_body_string(page))
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
    let limit = size(GITHUB_BODY);
    assert!(
        matches!(&outcome, CommentOutcome::Failed { reason }
            if reason.contains(&limit) && reason.contains("listing the pull request's comments")),
        "{outcome:?}"
    );
    assert!(
        outcome
            .workflow_command()
            .unwrap()
            .starts_with("::warning ")
    );
    let posts = requests(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() != "GET")
        .count();
    assert_eq!(posts, 0);

    // The same limit on the answer to creating the comment.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(list(vec![]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .respond_with(ResponseTemplate::new(201).set_body_string(" ".repeat(GITHUB_BODY + 1)))
        .mount(&server)
        .await;
    let outcome = upsert(&failing_report(), &f.ctx, CommentMode::Always).await;
    assert!(
        matches!(&outcome, CommentOutcome::Failed { reason }
            if reason.contains(&limit) && reason.contains("posting the pull-request comment")),
        "{outcome:?}"
    );
}

/// A trust refusal in the sticky comment: the finding with the subject this
/// job presents, the failing condition's fix, and the claims line; no bare
/// "no usable credentials" (issue 12).
#[tokio::test]
async fn a_trust_refusal_is_explained_in_the_comment() {
    use ecr_fargate_preflight::policy::document::{Source, parse_documents};
    use ecr_fargate_preflight::report::TrustSummary;
    use ecr_fargate_preflight::trust::claims::{DEFAULT_AUDIENCE, GithubContext, predict};
    use ecr_fargate_preflight::trust::facts::{Provider, TokenAvailability, TrustFacts};
    use ecr_fargate_preflight::trust::rules::judge;

    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(root.join("examples/policies/trust-main-only.json")).unwrap();
    let policy = parse_documents(
        &text,
        Source::file("examples/policies/trust-main-only.json"),
    )
    .unwrap()
    .remove(0);
    let claims = predict(&GithubContext {
        repository: "acme/shop".into(),
        event_name: Some("pull_request".into()),
        git_ref: Some("refs/pull/42/merge".into()),
        audience: DEFAULT_AUDIENCE.into(),
        ..GithubContext::default()
    });
    let role = "arn:aws:iam::123456789012:role/github-ecr-push";
    let facts = TrustFacts {
        role_arn: role.into(),
        claims: Some(claims.clone()),
        token: TokenAvailability::Available,
        token_needed: true,
        trust_policy: Some(policy),
        trust_policy_unread: None,
        provider: Provider::Unknown,
        requested_duration: None,
        max_session_duration: None,
        role_chaining: false,
    };
    let report = Report::new(None, None, judge(&facts), vec![]).with_trust(Some(TrustSummary {
        role: role.into(),
        claims: Some(claims),
        trust_policy: Some("examples/policies/trust-main-only.json".into()),
        token: TokenAvailability::Available,
    }));
    let fx = context("https://api.github.com", "acme/app", "preflight", None);
    let body = render_comment(&report, &fx.ctx);
    assert!(body.contains("trust/subject-not-admitted"), "{body}");
    assert!(body.contains("repo:acme/shop:pull_request"), "{body}");
    assert!(body.contains("sts:AssumeRoleWithWebIdentity"), "{body}");
    assert!(body.contains("OIDC trust:"), "the claims line: {body}");
    assert!(
        body.contains("token.actions.githubusercontent.com:sub"),
        "the fix: {body}"
    );
    assert!(!body.contains("credentials/unavailable"), "{body}");
}
