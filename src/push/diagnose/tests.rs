//! Unit tests of diagnosis on hand-made exchanges: no network, no stand-ins.

use super::*;
use crate::push::denial::RegistryError;
use crate::push::exchange::TransportError;

fn repo() -> Repository {
    Repository {
        name: "team/app".into(),
        registry_id: "123456789012".into(),
        region: "us-east-1".into(),
    }
}

fn ex(step: Step, method: &str, path: &str, status: u16) -> Exchange {
    let mut e = Exchange::new(step, method, path, "team/app", 1);
    e.status = Some(status);
    e
}

fn denied(step: Step, method: &str, action: &str, reason: &str) -> Exchange {
    let mut e = ex(step, method, "/v2/team/app/x", 403);
    e.error = Some(RegistryError {
        code: "DENIED".into(),
        message: format!(
            "User: arn:aws:sts::123456789012:assumed-role/ci/run is not authorized to perform: {action} on resource: arn:aws:ecr:us-east-1:123456789012:repository/team/app {reason}"
        ),
    });
    e
}

fn facts(exchanges: Vec<Exchange>) -> ProbeFacts {
    ProbeFacts {
        exchanges,
        tag: Some("t".into()),
        index_digest: None,
        token_obtained: true,
        unreachable: false,
        tag_existed: false,
        cleanup: None,
        left_behind: Vec::new(),
        cleanup_confirmed: false,
        cut_short: false,
        wall_ms: 1,
        lookup: Default::default(),
    }
}

fn run(exchanges: Vec<Exchange>) -> Vec<Finding> {
    let r = repo();
    diagnose(
        &facts(exchanges),
        &Context {
            repository: &r,
            mount_source: None,
            principal: Some("arn:aws:sts::123456789012:assumed-role/ci/run"),
            dry_run: false,
            read_tag: None,
        },
    )
}

/// A complete, successful push record.
fn all_ok() -> Vec<Exchange> {
    vec![
        ex(
            Step::AuthorizationToken,
            "API",
            "ecr:GetAuthorizationToken",
            200,
        ),
        ex(Step::BlobExists, "HEAD", "/v2/team/app/blobs/a", 404),
        ex(
            Step::BlobUploadStart,
            "POST",
            "/v2/team/app/blobs/uploads/",
            202,
        ),
        ex(
            Step::BlobUploadComplete,
            "PUT",
            "/v2/team/app/blobs/uploads/u",
            201,
        ),
        ex(
            Step::ManifestExists,
            "HEAD",
            "/v2/team/app/manifests/sha256:c",
            404,
        ),
        ex(
            Step::ManifestPut,
            "PUT",
            "/v2/team/app/manifests/sha256:c",
            201,
        ),
        ex(Step::IndexExists, "HEAD", "/v2/team/app/manifests/t", 404),
        ex(Step::IndexPut, "PUT", "/v2/team/app/manifests/t", 201),
        ex(Step::ManifestRead, "GET", "/v2/team/app/manifests/t", 200),
        ex(Step::LayerRead, "GET", "/v2/team/app/blobs/a", 307),
        ex(Step::LayerDownload, "GET", "//bucket/key?…", 200),
    ]
}

#[test]
fn a_complete_push_has_no_findings() {
    assert_eq!(run(all_ok()), Vec::new());
}

#[test]
fn denials_of_one_action_are_one_finding_with_a_count() {
    let mut x = all_ok();
    for _ in 0..3 {
        x.push(denied(
            Step::LayerRead,
            "GET",
            "ecr:GetDownloadUrlForLayer",
            "because no identity-based policy allows the ecr:GetDownloadUrlForLayer action",
        ));
    }
    let f = run(x);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule, "push/access-denied");
    assert_eq!(
        f[0].iam_action.as_deref(),
        Some("ecr:GetDownloadUrlForLayer")
    );
    assert!(f[0].message.contains("(×3)"), "{}", f[0].message);
    let fix = f[0].fix.as_ref().unwrap();
    assert!(
        fix.aws_cli.as_ref().unwrap().contains("--role-name ci"),
        "role name from the session ARN"
    );
}

#[test]
fn bodiless_head_takes_the_message_only_when_it_is_about_the_same_action() {
    let mut head = ex(Step::BlobExists, "HEAD", "/v2/team/app/blobs/a", 403);
    head.error = None;
    let mut get = denied(
        Step::LayerRead,
        "GET",
        "ecr:GetDownloadUrlForLayer",
        "with an explicit deny in an identity-based policy",
    );
    get.error_body_for = Some(0);
    let f = run(vec![head, get]);
    let head_finding = f
        .iter()
        .find(|f| f.iam_action.as_deref() == Some("ecr:BatchCheckLayerAvailability"))
        .expect("the HEAD's own action is named");
    assert!(
        head_finding.message.contains("instead"),
        "{}",
        head_finding.message
    );
    assert!(
        !head_finding.message.contains("explicit Deny"),
        "the GET's reason is not the HEAD's"
    );
}

#[test]
fn a_denied_upload_start_leaves_the_upload_actions_unverified() {
    let x = vec![
        ex(
            Step::AuthorizationToken,
            "API",
            "ecr:GetAuthorizationToken",
            200,
        ),
        ex(Step::BlobExists, "HEAD", "/v2/team/app/blobs/a", 404),
        denied(
            Step::BlobUploadStart,
            "POST",
            "ecr:InitiateLayerUpload",
            "because no identity-based policy allows the ecr:InitiateLayerUpload action",
        ),
        {
            let mut e = ex(
                Step::ManifestPut,
                "PUT",
                "/v2/team/app/manifests/sha256:c",
                400,
            );
            e.error = Some(RegistryError {
                code: "MANIFEST_BLOB_UNKNOWN".into(),
                message: "blob unknown".into(),
            });
            e
        },
    ];
    let f = run(x);
    let errors: Vec<_> = f.iter().filter(|f| f.severity == Severity::Error).collect();
    assert_eq!(
        errors.len(),
        1,
        "a missing blob after a failed upload is a consequence: {f:#?}"
    );
    let notice = f
        .iter()
        .find(|f| f.rule == "push/not-verified")
        .expect("notice");
    assert!(notice.message.contains("ecr:UploadLayerPart"));
    assert!(notice.message.contains("ecr:CompleteLayerUpload"));
    assert!(
        !notice.message.contains("ecr:PutImage"),
        "PutImage reached IAM: {}",
        notice.message
    );
}

#[test]
fn the_same_code_without_an_earlier_failure_is_unexpected() {
    let mut x = all_ok();
    let mut e = ex(
        Step::ManifestPut,
        "PUT",
        "/v2/team/app/manifests/sha256:c",
        400,
    );
    e.error = Some(RegistryError {
        code: "MANIFEST_BLOB_UNKNOWN".into(),
        message: "blob unknown".into(),
    });
    x.push(e);
    let f = run(x);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, "push/unexpected-response");
}

#[test]
fn quota_is_not_a_permission() {
    let mut x = all_ok();
    let mut e = ex(
        Step::ManifestPut,
        "PUT",
        "/v2/team/app/manifests/sha256:c",
        403,
    );
    e.error = Some(RegistryError {
        code: "DENIED".into(),
        message: "The operation did not succeed because it would have exceeded a service limit for your account.".into(),
    });
    x.push(e);
    let f = run(x);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule, "push/image-quota-exceeded");
}

#[test]
fn throttling_is_reported_only_when_retries_ran_out() {
    let mut x = all_ok();
    x.push(ex(Step::IndexPut, "PUT", "/v2/team/app/manifests/t", 429));
    let mut cleared = x.clone();
    cleared.push(ex(Step::IndexPut, "PUT", "/v2/team/app/manifests/t", 201));
    assert!(run(cleared).is_empty(), "one 429 then success is fine");
    for _ in 1..MAX_ATTEMPTS {
        x.push(ex(Step::IndexPut, "PUT", "/v2/team/app/manifests/t", 429));
    }
    let f = run(x);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, "push/throttled");
}

#[test]
fn unreachable_is_one_finding_whatever_the_number_of_requests() {
    let mut x = vec![ex(
        Step::AuthorizationToken,
        "API",
        "ecr:GetAuthorizationToken",
        200,
    )];
    for _ in 0..8 {
        let mut e = Exchange::new(
            Step::BlobExists,
            "HEAD",
            "/v2/team/app/blobs/a",
            "team/app",
            2,
        );
        e.transport_error = Some(TransportError {
            kind: TransportErrorKind::Tls,
            detail: "invalid peer certificate".into(),
        });
        x.push(e);
    }
    let mut f = facts(x);
    f.unreachable = true;
    let r = repo();
    let findings = diagnose(
        &f,
        &Context {
            repository: &r,
            mount_source: None,
            principal: None,
            dry_run: false,
            read_tag: None,
        },
    );
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].rule, "push/registry-unreachable");
    assert!(findings[0].title.contains("TLS"));
}

#[test]
fn cross_account_fix_targets_the_repository_policy_and_the_role() {
    let fix = fix_for(
        "ecr:PutImage",
        "arn:aws:ecr:us-east-1:999999999999:repository/shared",
        DenialReason::NoResourcePolicy,
        Some("arn:aws:sts::123456789012:assumed-role/ci/run-1"),
    );
    assert!(
        fix.description
            .contains("arn:aws:iam::123456789012:role/ci")
    );
    assert!(fix.terraform.unwrap().contains("aws_ecr_repository_policy"));
    assert_eq!(fix.policy_statement.unwrap()["Action"][0], "ecr:PutImage");
}

#[test]
fn digest_mismatch_is_reported() {
    let mut x = all_ok();
    x[5].anomaly = Some("registry answered Docker-Content-Digest sha256:b, pushed sha256:c".into());
    let f = run(x);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, "push/digest-mismatch");
}

// Fail closed: what could not be checked is never a pass.

fn verdict(findings: &[Finding]) -> crate::report::Verdict {
    crate::report::Report::new(None, None, findings.to_vec(), Vec::new()).verdict
}

fn rules_of(findings: &[Finding]) -> Vec<&str> {
    let mut v: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn dry_run(exchanges: Vec<Exchange>) -> Vec<Finding> {
    let r = repo();
    diagnose(
        &facts(exchanges),
        &Context {
            repository: &r,
            mount_source: None,
            principal: None,
            dry_run: true,
            read_tag: Some("v1"),
        },
    )
}

fn token_only() -> Exchange {
    ex(
        Step::AuthorizationToken,
        "API",
        "ecr:GetAuthorizationToken",
        200,
    )
}

#[test]
fn a_complete_push_passes() {
    assert_eq!(verdict(&run(all_ok())), crate::report::Verdict::Pass);
}

#[test]
fn an_unusable_token_answer_is_not_verified_not_a_pass() {
    let mut token = Exchange::new(
        Step::AuthorizationToken,
        "API",
        "ecr:GetAuthorizationToken",
        "team/app",
        1,
    );
    token.unusable = Some("HTTP 200 that could not be used: connection reset".into());
    let mut f = facts(vec![token]);
    f.token_obtained = false;
    let r = repo();
    let findings = diagnose(
        &f,
        &Context {
            repository: &r,
            mount_source: None,
            principal: None,
            dry_run: false,
            read_tag: None,
        },
    );
    assert_eq!(
        rules_of(&findings),
        ["push/not-verified", "push/token-unusable"],
        "{findings:#?}"
    );
    let token = findings
        .iter()
        .find(|f| f.rule == "push/token-unusable")
        .unwrap();
    assert!(
        token.message.contains("connection reset"),
        "{}",
        token.message
    );
    // The token itself was not verified either.
    let gap = findings
        .iter()
        .find(|f| f.rule == "push/not-verified")
        .unwrap();
    assert!(
        gap.message.contains("ecr:GetAuthorizationToken"),
        "{}",
        gap.message
    );
    assert_eq!(verdict(&findings), crate::report::Verdict::NotVerified);
}

#[test]
fn redirected_reads_are_reported_and_verify_nothing() {
    for (step, method, status) in [
        (Step::ManifestRead, "GET", 302),
        (Step::ManifestRead, "HEAD", 301),
        (Step::ManifestRead, "GET", 307),
        (Step::LayerRead, "GET", 301),
        (Step::LayerRead, "GET", 308),
        (Step::LayerRead, "GET", 303),
    ] {
        let mut x = all_ok();
        let mut e = ex(step, method, "/v2/team/app/x", status);
        e.location = Some("https://elsewhere.example:8443/v2/team/app/x".into());
        x.push(e);
        let f = run(x);
        let redirect = f
            .iter()
            .find(|f| f.rule == "push/unexpected-redirect")
            .unwrap_or_else(|| panic!("{step:?} {status}: {f:#?}"));
        assert!(redirect.title.contains(&status.to_string()));
        assert!(
            redirect.title.contains("https://elsewhere.example:8443"),
            "the Location's host is named: {}",
            redirect.title
        );
        assert_eq!(verdict(&f), crate::report::Verdict::NotVerified, "{f:#?}");
    }
}

#[test]
fn only_the_layer_stores_307_then_a_200_is_a_read() {
    let mut x = all_ok();
    // The download answered another redirect: a loop, not a layer.
    let n = x.len();
    x[n - 1].status = Some(307);
    x[n - 1].location = Some("http://127.0.0.1:1/v2/team/app/blobs/a".into());
    let f = run(x);
    assert_eq!(rules_of(&f), ["push/unexpected-redirect"], "{f:#?}");
    assert!(f[0].message.contains("loop"), "{}", f[0].message);
    // Nor is it a download failure (the layer store did not refuse anything).
    assert!(f.iter().all(|f| f.rule != "push/layer-download-failed"));
}

#[test]
fn layer_reads_without_a_layer_store_answer_are_not_verified() {
    // A manifest read that redirects leaves BatchGetImage unverified in a dry run.
    let mut get = ex(Step::ManifestRead, "GET", "/v2/team/app/manifests/v1", 302);
    get.location = Some("http://mirror.example/v2/team/app/manifests/v1".into());
    let f = dry_run(vec![token_only(), get]);
    assert_eq!(
        rules_of(&f),
        ["push/not-verified", "push/unexpected-redirect"],
        "{f:#?}"
    );
    let gap = f.iter().find(|f| f.rule == "push/not-verified").unwrap();
    assert!(gap.message.contains("ecr:BatchGetImage"), "{}", gap.message);
    assert!(gap.message.contains("ecr:GetDownloadUrlForLayer"));
}

#[test]
fn a_dry_run_whose_manifest_had_no_layer_to_read_is_not_verified() {
    let get = ex(Step::ManifestRead, "GET", "/v2/team/app/manifests/v1", 200);
    let f = dry_run(vec![token_only(), get.clone()]);
    assert_eq!(rules_of(&f), ["push/not-verified"], "{f:#?}");
    assert!(f[0].message.contains("ecr:GetDownloadUrlForLayer"));
    assert!(!f[0].message.contains("ecr:BatchGetImage"));
    // With the layer read and its download, the dry run passes.
    let read = ex(Step::LayerRead, "GET", "/v2/team/app/blobs/a", 307);
    let download = ex(Step::LayerDownload, "GET", "https://bucket/key?…", 200);
    let f = dry_run(vec![token_only(), get, read, download]);
    assert_eq!(f, Vec::new());
}

#[test]
fn a_refused_upload_location_is_reported_and_leaves_the_upload_unverified() {
    let mut x = all_ok();
    let mut put = Exchange::new(
        Step::BlobUploadComplete,
        "PUT",
        "http://evil.example:8080/v2/team/app/blobs/uploads/u?…",
        "team/app",
        4,
    );
    put.refused = Some(
        "it points at `http://evil.example:8080`, but the registry's credentials belong to `https://registry.example` only".into(),
    );
    x[3] = put;
    // The manifest PUT then fails for want of the blob: a consequence.
    x[5].status = Some(400);
    x[5].error = Some(RegistryError {
        code: "MANIFEST_BLOB_UNKNOWN".into(),
        message: "blob unknown to registry".into(),
    });
    let f = run(x);
    assert_eq!(
        rules_of(&f),
        ["push/location-refused", "push/not-verified"],
        "{f:#?}"
    );
    let refused = f
        .iter()
        .find(|f| f.rule == "push/location-refused")
        .unwrap();
    assert!(
        refused.message.contains("evil.example:8080"),
        "{}",
        refused.message
    );
    let gap = f.iter().find(|f| f.rule == "push/not-verified").unwrap();
    assert!(
        gap.message.contains("ecr:CompleteLayerUpload"),
        "{}",
        gap.message
    );
    assert_eq!(verdict(&f), crate::report::Verdict::NotVerified);
}

#[test]
fn an_invalid_digest_in_an_answer_is_reported_quoted() {
    let mut get = ex(Step::ManifestRead, "GET", "/v2/team/app/manifests/v1", 200);
    get.invalid_digest = Some(crate::push::exchange::quote_untrusted(
        "../../v2/other/blobs/sha256:0000",
    ));
    let f = dry_run(vec![token_only(), get]);
    assert_eq!(
        rules_of(&f),
        ["push/invalid-digest", "push/not-verified"],
        "{f:#?}"
    );
    let invalid = f.iter().find(|f| f.rule == "push/invalid-digest").unwrap();
    assert!(
        invalid
            .message
            .contains("`../../v2/other/blobs/sha256:0000`"),
        "{}",
        invalid.message
    );
    assert_eq!(verdict(&f), crate::report::Verdict::NotVerified);
}

#[test]
fn unavailable_after_every_retry_is_not_verified_but_a_retry_that_worked_is_fine() {
    let mut x = all_ok();
    for _ in 0..MAX_ATTEMPTS {
        x.push(ex(
            Step::ManifestRead,
            "HEAD",
            "/v2/team/app/manifests/t",
            503,
        ));
    }
    let f = run(x);
    assert_eq!(rules_of(&f), ["push/registry-unreachable"], "{f:#?}");
    assert!(f[0].message.contains("HTTP 503"), "{}", f[0].message);
    assert_eq!(verdict(&f), crate::report::Verdict::NotVerified);

    let mut x = all_ok();
    x.insert(
        2,
        ex(
            Step::BlobUploadStart,
            "POST",
            "/v2/team/app/blobs/uploads/",
            502,
        ),
    );
    assert_eq!(run(x), Vec::new());
}

#[test]
fn a_defect_still_fails_beside_what_was_not_verified() {
    let mut x = all_ok();
    x.push(denied(
        Step::ManifestPut,
        "PUT",
        "ecr:PutImage",
        "because no identity-based policy allows the ecr:PutImage action",
    ));
    let mut e = ex(Step::LayerRead, "GET", "/v2/team/app/blobs/b", 302);
    e.location = Some("http://elsewhere/".into());
    x.push(e);
    let f = run(x);
    assert!(rules_of(&f).contains(&"push/unexpected-redirect"));
    assert_eq!(verdict(&f), crate::report::Verdict::Fail);
}

/// The cleanup's read-back: a 404 is what it hopes for, never a finding; a
/// manifest that still answers is named in `push/cleanup-failed`, with the
/// command that deletes it, and never turns the verdict.
#[test]
fn the_cleanup_read_back_names_only_what_is_left() {
    let mut x = all_ok();
    x.push(ex(Step::Cleanup, "API", "ecr:BatchDeleteImage", 200));
    x.push(ex(
        Step::Cleanup,
        "HEAD",
        "/v2/team/app/manifests/sha256:gone",
        404,
    ));
    x.push(ex(
        Step::Cleanup,
        "HEAD",
        "/v2/team/app/manifests/sha256:left",
        200,
    ));
    let mut f = facts(x);
    f.tag = Some("ecr-fargate-preflight-1-abc".into());
    f.cleanup = Some(crate::push::facts::DeleteOutcome::default());
    f.left_behind = vec![("team/app".into(), "sha256:left".into())];
    let r = repo();
    let ctx = Context {
        repository: &r,
        mount_source: None,
        principal: None,
        dry_run: false,
        read_tag: None,
    };
    let findings = diagnose(&f, &ctx);
    assert_eq!(
        rules_of(&findings),
        ["push/cleanup-failed"],
        "{findings:#?}"
    );
    let left = &findings[0];
    assert!(left.message.contains("sha256:left"), "{}", left.message);
    assert!(left.message.contains("ecr-fargate-preflight-1-abc"));
    assert!(!left.message.contains("sha256:gone"));
    let command = left.fix.as_ref().unwrap().aws_cli.as_deref().unwrap();
    assert_eq!(
        command,
        "aws ecr batch-delete-image --repository-name team/app --image-ids imageDigest=sha256:left"
    );
    assert_eq!(verdict(&findings), crate::report::Verdict::Pass);
    // Everything confirmed gone: nothing to say.
    f.left_behind.clear();
    f.cleanup_confirmed = true;
    assert!(diagnose(&f, &ctx).is_empty());
}

#[test]
fn an_unreachable_cleanup_is_a_cleanup_warning_not_a_gap_in_the_verdict() {
    let mut x = all_ok();
    let mut cleanup = Exchange::new(Step::Cleanup, "API", "ecr:BatchDeleteImage", "team/app", 9);
    cleanup.transport_error = Some(TransportError {
        kind: TransportErrorKind::Timeout,
        detail: "operation timed out".into(),
    });
    x.push(cleanup);
    let mut f = facts(x);
    f.cleanup = Some(crate::push::facts::DeleteOutcome {
        deleted: Vec::new(),
        failures: Vec::new(),
        call_failed: true,
    });
    f.left_behind = vec![("team/app".into(), "sha256:c".into())];
    let r = repo();
    let findings = diagnose(
        &f,
        &Context {
            repository: &r,
            mount_source: None,
            principal: None,
            dry_run: false,
            read_tag: None,
        },
    );
    assert_eq!(
        rules_of(&findings),
        ["push/cleanup-failed"],
        "{findings:#?}"
    );
    assert_eq!(verdict(&findings), crate::report::Verdict::Pass);
}

#[test]
fn a_read_tag_that_does_not_exist_is_not_verified_not_an_unexpected_404() {
    let mut head = ex(Step::ManifestRead, "HEAD", "/v2/team/app/manifests/v1", 404);
    head.error = None;
    let mut get = ex(Step::ManifestRead, "GET", "/v2/team/app/manifests/v1", 404);
    get.error = Some(RegistryError {
        code: "MANIFEST_UNKNOWN".into(),
        message: "manifest unknown".into(),
    });
    let f = dry_run(vec![token_only(), head, get]);
    assert_eq!(rules_of(&f), ["push/read-tag-not-found"], "{f:#?}");
    assert_eq!(verdict(&f), crate::report::Verdict::NotVerified);
}

#[test]
fn a_probe_that_stopped_without_a_recorded_reason_is_not_a_pass() {
    let mut f = facts(vec![token_only()]);
    f.unreachable = true;
    let r = repo();
    let findings = diagnose(
        &f,
        &Context {
            repository: &r,
            mount_source: None,
            principal: None,
            dry_run: false,
            read_tag: None,
        },
    );
    assert_eq!(rules_of(&findings), ["push/registry-unreachable"]);
    assert_eq!(verdict(&findings), crate::report::Verdict::NotVerified);
}

/// A fault the retries cleared: a notice, and the verdict still passes.
/// One that persisted: its own rule, as before; no notice.
#[test]
fn a_transient_fault_that_cleared_is_a_notice() {
    let path = "/v2/team/app/manifests/sha256:c";
    let mut x = all_ok();
    let mut first = ex(Step::ManifestPut, "PUT", path, 500);
    first.retried_after_ms = Some(200);
    let mut reset = ex(Step::ManifestPut, "PUT", path, 0);
    reset.status = None;
    reset.transport_error = Some(TransportError {
        kind: TransportErrorKind::Other,
        detail: "connection reset by peer".into(),
    });
    reset.retried_after_ms = Some(400);
    x.push(first.clone());
    x.push(reset);
    x.push(ex(Step::ManifestPut, "PUT", path, 201));
    let f = run(x);
    assert_eq!(rules_of(&f), ["push/transient-fault-cleared"], "{f:#?}");
    assert!(f[0].message.contains("HTTP 500, other"), "{}", f[0].message);
    assert_eq!(f[0].severity, Severity::Notice);
    assert_eq!(verdict(&f), crate::report::Verdict::Pass);

    // Persisting: the last attempt is still a 503 (the retry budget ended
    // the retries before MAX_ATTEMPTS): unavailable, not a notice.
    let mut x = all_ok();
    let mut first = ex(Step::ManifestRead, "HEAD", "/v2/team/app/manifests/t", 503);
    first.retried_after_ms = Some(10_000);
    x.push(first);
    x.push(ex(
        Step::ManifestRead,
        "HEAD",
        "/v2/team/app/manifests/t",
        503,
    ));
    let f = run(x);
    assert_eq!(rules_of(&f), ["push/registry-unreachable"], "{f:#?}");
}

#[test]
fn an_answer_over_its_body_limit_is_not_verified_and_names_the_endpoint() {
    let mut x = all_ok();
    let mut get = ex(Step::ManifestRead, "GET", "/v2/team/app/manifests/t", 200);
    get.body_over_limit = Some(crate::limits::MANIFEST_BODY as u64);
    x.push(get.clone());
    x.push(get);
    let f = run(x);
    let too_large: Vec<_> = f
        .iter()
        .filter(|f| f.rule == "push/response-too-large")
        .collect();
    assert_eq!(too_large.len(), 1, "one per step and limit: {f:#?}");
    assert!(
        too_large[0]
            .message
            .contains("GET /v2/team/app/manifests/t")
            && too_large[0].message.contains("4 MiB"),
        "{}",
        too_large[0].message
    );
    assert_eq!(verdict(&f), crate::report::Verdict::NotVerified);
}

#[test]
fn an_error_body_over_its_limit_is_not_also_an_unexplained_failure() {
    let mut x = all_ok();
    let mut post = ex(
        Step::BlobUploadStart,
        "POST",
        "/v2/team/app/blobs/uploads/",
        403,
    );
    post.body_over_limit = Some(crate::limits::ERROR_BODY as u64);
    x.push(post);
    let f = run(x);
    assert!(
        f.iter().any(|f| f.rule == "push/response-too-large"),
        "{f:#?}"
    );
    assert!(
        !f.iter().any(|f| f.rule == "push/unexpected-response"),
        "{f:#?}"
    );
}

#[test]
fn a_dry_run_layer_read_cut_at_its_limit_still_proves_the_read() {
    let mut get = ex(Step::LayerRead, "GET", "/v2/team/app/blobs/sha256:00", 200);
    get.body_over_limit = Some(crate::limits::BLOB_BODY as u64);
    let f = dry_run(vec![token_only(), get]);
    assert!(
        !f.iter().any(|f| f.rule == "push/response-too-large"),
        "{f:#?}"
    );
}
