use super::*;
use crate::build::facts::{CacheSpec, ImageUse, ImageVia, Located, wildcard_match};

const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

fn target() -> Repository {
    Repository {
        name: "team/app".into(),
        registry_id: "123456789012".into(),
        region: "us-east-1".into(),
    }
}

fn from(reference: &str, line: usize) -> ImageUse {
    ImageUse {
        line,
        reference: Value::Known(reference.into()),
        platform: None,
        via: ImageVia::From,
        stage: None,
    }
}

fn in_workflow(line: usize) -> Origin {
    Origin {
        file: Some(".github/workflows/ci.yml".into()),
        line: Some(line),
    }
}

fn layer_read_denial(on: &Repository) -> Finding {
    crate::rules::PUSH_ACCESS_DENIED
        .finding("denied", "`ecr:GetDownloadUrlForLayer` is denied.")
        .with_iam_action("ecr:GetDownloadUrlForLayer")
        .with_resources([on.arn()])
}

#[test]
fn cache_export_to_ecr_needs_the_image_manifest_form() {
    let facts = BuildFacts {
        cache_to: vec![
            Value::Known(CacheSpec::parse(
                &format!("type=registry,ref={REGISTRY}/team/cache:app,mode=max"),
                in_workflow(23),
            )),
            Value::Known(CacheSpec::parse(
                &format!(
                    "type=registry,ref={REGISTRY}/team/cache:ok,image-manifest=true,oci-mediatypes=true"
                ),
                in_workflow(24),
            )),
            Value::Known(CacheSpec::parse("type=gha,mode=max", in_workflow(25))),
            Value::Known(CacheSpec::parse(
                "type=registry,ref=ghcr.io/o/c:cache",
                in_workflow(26),
            )),
        ],
        ..BuildFacts::default()
    };
    let findings = static_findings(&facts);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f.rule, CACHE_EXPORT_FORMAT.id);
    assert_eq!(f.location.as_ref().unwrap().line, Some(23));
    assert_eq!(
        f.fix.as_ref().unwrap().description,
        format!(
            "cache-to: type=registry,ref={REGISTRY}/team/cache:app,mode=max,image-manifest=true,oci-mediatypes=true"
        )
    );
    assert_eq!(
        f.resources,
        ["arn:aws:ecr:us-east-1:123456789012:repository/team/cache".to_string()]
    );
}

#[test]
fn immutable_tags_follow_the_mode_and_the_exclusion_filters() {
    let facts = BuildFacts {
        tags: ["latest", "v1"]
            .iter()
            .map(|t| Located {
                value: Value::Known(format!("{REGISTRY}/team/app:{t}")),
                origin: in_workflow(18),
            })
            .collect(),
        ..BuildFacts::default()
    };
    let judge = |mode: &str, filters: &[&str]| -> Vec<String> {
        let m = TagMutability {
            mode: mode.into(),
            filters: filters.iter().map(|f| f.to_string()).collect(),
        };
        immutable_tags(&facts, &target(), &m)
            .into_iter()
            .map(|f| f.title)
            .collect()
    };
    assert_eq!(judge("MUTABLE", &[]).len(), 0);
    assert_eq!(judge("IMMUTABLE", &[]).len(), 2);
    assert_eq!(
        judge("IMMUTABLE_WITH_EXCLUSION", &["lat*"]),
        ["Tag v1 can be pushed only once"]
    );
    assert_eq!(
        judge("MUTABLE_WITH_EXCLUSION", &["v*"]),
        ["Tag v1 can be pushed only once"]
    );
}

#[test]
fn wildcards_match_like_ecr_filters() {
    assert!(wildcard_match("*", "anything"));
    assert!(wildcard_match("release-*", "release-1.2"));
    assert!(wildcard_match("*-rc*", "v1-rc2"));
    assert!(!wildcard_match("release-*", "latest"));
    assert!(wildcard_match("latest", "latest"));
    assert!(!wildcard_match("latest", "latest2"));
}

#[test]
fn a_layer_read_the_described_build_does_not_make_is_a_warning() {
    let facts = BuildFacts {
        sources: vec!["Dockerfile".into()],
        images: vec![from("public.ecr.aws/docker/library/alpine:3", 1)],
        dockerfile: Some("Dockerfile".into()),
        ..BuildFacts::default()
    };
    let mut findings = vec![layer_read_denial(&target())];
    attribute(&mut findings, &facts, &target());
    assert_eq!(findings[0].rule, READ_NOT_NEEDED.id);
    assert_eq!(findings[0].severity, Severity::Warning);
    assert!(
        findings[0].message.contains("Who would need it"),
        "{}",
        findings[0].message
    );

    // Not described: today's answer, an error.
    let mut findings = vec![layer_read_denial(&target())];
    attribute(&mut findings, &BuildFacts::default(), &target());
    assert_eq!(findings[0].rule, crate::rules::PUSH_ACCESS_DENIED.id);

    // A cache import from the target: the build needs the read.
    let facts = BuildFacts {
        cache_from: vec![Value::Known(CacheSpec::parse(
            &format!("type=registry,ref={REGISTRY}/team/app:cache"),
            in_workflow(9),
        ))],
        ..facts
    };
    let mut findings = vec![layer_read_denial(&target())];
    attribute(&mut findings, &facts, &target());
    assert_eq!(findings[0].severity, Severity::Error);
    assert!(
        findings[0].message.contains("cache import from"),
        "{}",
        findings[0].message
    );
}

#[test]
fn a_denial_on_a_base_repository_names_the_base_image_and_its_line() {
    let base = Repository {
        name: "base/python".into(),
        ..target()
    };
    let facts = BuildFacts {
        sources: vec!["Dockerfile".into()],
        dockerfile: Some("Dockerfile".into()),
        images: vec![from(&format!("{REGISTRY}/base/python:3.12"), 4)],
        ..BuildFacts::default()
    };
    let mut findings = vec![layer_read_denial(&base)];
    attribute(&mut findings, &facts, &target());
    assert_eq!(findings[0].severity, Severity::Error);
    assert!(
        findings[0].message.contains(&format!(
            "base image `{REGISTRY}/base/python:3.12` (Dockerfile:4)"
        )),
        "{}",
        findings[0].message
    );
    assert!(blob_mounting(&facts, &target(), Some(false)).is_some());
    assert!(blob_mounting(&facts, &target(), Some(true)).is_none());
    assert!(blob_mounting(&facts, &target(), None).is_none());
}

#[test]
fn lambda_deploys_warn_about_attestations_unless_turned_off() {
    let mut facts = BuildFacts {
        lambda_deploy: Some(in_workflow(30)),
        ..BuildFacts::default()
    };
    assert_eq!(static_findings(&facts)[0].rule, ATTESTATIONS_LAMBDA.id);
    facts.provenance = Some(Located {
        value: Value::Known("false".into()),
        origin: in_workflow(20),
    });
    assert!(static_findings(&facts).is_empty());
}

#[test]
fn ecr_references_are_recognised_with_oci_reference_parsing() {
    let (r, tag) = ecr_repository(&format!("{REGISTRY}/base/python:3.12")).unwrap();
    assert_eq!(
        (r.name.as_str(), tag.as_deref()),
        ("base/python", Some("3.12"))
    );
    assert!(ecr_repository("python:3.12").is_none());
    assert!(ecr_repository("public.ecr.aws/docker/library/alpine:3").is_none());
    let (other, _) = ecr_repository("210987654321.dkr.ecr.eu-west-1.amazonaws.com/x").unwrap();
    assert_eq!(
        (other.registry_id.as_str(), other.region.as_str()),
        ("210987654321", "eu-west-1")
    );
}

#[test]
fn other_registries_are_listed_with_what_the_build_needs_there() {
    let facts = BuildFacts {
        images: vec![
            from(
                "210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/base:1",
                1,
            ),
            from(&format!("{REGISTRY}/base/python:3"), 2),
            from("123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/x:1", 3),
        ],
        dockerfile: Some("Dockerfile".into()),
        ..BuildFacts::default()
    };
    let found = other_registries(&facts, &target());
    assert_eq!(found.len(), 2, "{found:#?}");
    let cross = found
        .iter()
        .find(|f| f.title.contains("210987654321"))
        .unwrap();
    assert!(
        cross.message.contains("repository policies"),
        "{}",
        cross.message
    );
    let same_account = found
        .iter()
        .find(|f| f.title.contains("eu-west-1") && f.title.contains("123456789012"))
        .unwrap();
    assert!(!same_account.message.contains("repository policies"));
}
