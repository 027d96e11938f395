//! The one table of what buildx sends during a multi-platform push and which
//! IAM action ECR checks for each request.
//!
//! The live probe labels every request with its [`Step`], diagnosis names the
//! action from it when a denial carries no message, the fixes and the README
//! table come from it. Source: `ecr-push-flow.md` §1–2 (containerd's pusher,
//! BuildKit's push, ECR's documentation and field reports).

use serde::Serialize;

/// A kind of request made while replaying a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// `GetAuthorizationToken` API call before any registry request.
    AuthorizationToken,
    /// `HEAD` of a blob: is it already there?
    BlobExists,
    /// `POST …/blobs/uploads/`: start an upload.
    BlobUploadStart,
    /// `PUT <Location>?digest=` with the whole blob (buildx never sends PATCH).
    BlobUploadComplete,
    /// `HEAD` of a child manifest by digest before its `PUT`.
    ManifestExists,
    /// `PUT` of a child manifest (platform image or attestation) by digest.
    ManifestPut,
    /// `HEAD` of the tag before the index `PUT`.
    IndexExists,
    /// `PUT` of the image index by tag.
    IndexPut,
    /// `HEAD`/`GET` of a manifest or index, as a pull, cache import or `imagetools` does.
    ManifestRead,
    /// `GET` of a blob: the registry answers with a redirect to S3 ("layer reads").
    LayerRead,
    /// Following the layer-read redirect to the presigned S3 URL (no registry auth).
    LayerDownload,
    /// `POST …/blobs/uploads/?mount=&from=`: cross-repository blob mount.
    BlobMount,
    /// `PUT` of a different index to the probe's own tag: does the repository let a tag move?
    TagMove,
    /// `PUT` of a registry cache's manifest (or index) by tag, in the cache repository.
    CacheExport,
    /// `GET` of a registry cache's manifest by tag, as `cache-from` reads it.
    CacheImport,
    /// `BatchDeleteImage` API call removing the probe's image.
    Cleanup,
}

/// One row of the request table.
#[derive(Debug, Clone, Copy)]
pub struct StepInfo {
    /// The step.
    pub step: Step,
    /// The request as it appears on the wire.
    pub request: &'static str,
    /// The IAM actions ECR checks, in the order it checks them.
    pub iam_actions: &'static [&'static str],
    /// When buildx sends it.
    pub when: &'static str,
}

/// Every step, in the order the probe sends them.
pub const TABLE: &[StepInfo] = &[
    StepInfo {
        step: Step::AuthorizationToken,
        request: "`GetAuthorizationToken` (AWS API)",
        iam_actions: &["ecr:GetAuthorizationToken"],
        when: "login before the push (`aws ecr get-login-password`, `amazon-ecr-login`); Resource must be `*`",
    },
    StepInfo {
        step: Step::BlobExists,
        request: "`HEAD /v2/<name>/blobs/<digest>`",
        iam_actions: &["ecr:BatchCheckLayerAvailability"],
        when: "every config, layer and attestation blob; a 403 here has no body",
    },
    StepInfo {
        step: Step::BlobUploadStart,
        request: "`POST /v2/<name>/blobs/uploads/`",
        iam_actions: &["ecr:InitiateLayerUpload"],
        when: "every blob the registry does not have",
    },
    StepInfo {
        step: Step::BlobUploadComplete,
        request: "`PUT <Location>?digest=<digest>` (whole blob)",
        iam_actions: &["ecr:UploadLayerPart", "ecr:CompleteLayerUpload"],
        when: "every uploaded blob; buildx uploads in one request, no PATCH",
    },
    StepInfo {
        step: Step::ManifestExists,
        request: "`HEAD /v2/<name>/manifests/<digest>`",
        iam_actions: &["ecr:BatchGetImage"],
        when: "every platform and attestation manifest, before its PUT (`docker push` does not do this)",
    },
    StepInfo {
        step: Step::ManifestPut,
        request: "`PUT /v2/<name>/manifests/<digest>`",
        iam_actions: &["ecr:PutImage"],
        when: "every platform and attestation manifest, by digest",
    },
    StepInfo {
        step: Step::IndexExists,
        request: "`HEAD /v2/<name>/manifests/<tag>`",
        iam_actions: &["ecr:BatchGetImage"],
        when: "before the index PUT",
    },
    StepInfo {
        step: Step::IndexPut,
        request: "`PUT /v2/<name>/manifests/<tag>`",
        iam_actions: &["ecr:PutImage"],
        when: "the image index, last, by tag",
    },
    StepInfo {
        step: Step::ManifestRead,
        request: "`HEAD`/`GET /v2/<name>/manifests/<ref>`",
        iam_actions: &["ecr:BatchGetImage"],
        when: "base images and cache from ECR, `imagetools`, every pull",
    },
    StepInfo {
        step: Step::LayerRead,
        request: "`GET /v2/<name>/blobs/<digest>` → 307 to S3",
        iam_actions: &["ecr:GetDownloadUrlForLayer"],
        when: "layer reads: base images or cache in ECR, lazy base layers, every pull",
    },
    StepInfo {
        step: Step::LayerDownload,
        request: "`GET https://prod-<region>-starport-layer-bucket.s3…` (presigned)",
        iam_actions: &[],
        when: "after every layer-read redirect; must not carry the registry's Authorization header",
    },
    StepInfo {
        step: Step::BlobMount,
        request: "`POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>`",
        iam_actions: &["ecr:InitiateLayerUpload", "ecr:GetDownloadUrlForLayer"],
        when: "a layer whose source is another repository of the registry (base image, cache repository); `GetDownloadUrlForLayer` is checked on the source",
    },
    StepInfo {
        step: Step::TagMove,
        request: "`PUT /v2/<name>/manifests/<tag>` (tag exists)",
        iam_actions: &["ecr:PutImage"],
        when: "re-pushing a moving tag such as `latest`",
    },
    StepInfo {
        step: Step::CacheExport,
        request: "`PUT /v2/<cache>/manifests/<tag>` (cache manifest or index)",
        iam_actions: &["ecr:PutImage"],
        when: "`cache-to: type=registry`: after the cache's blobs (as above, in the cache repository); ECR takes the form `image-manifest=true` gives, not BuildKit's default index",
    },
    StepInfo {
        step: Step::CacheImport,
        request: "`GET /v2/<cache>/manifests/<tag>`, then its layers",
        iam_actions: &["ecr:BatchGetImage"],
        when: "`cache-from: type=registry`: at the start of the build (a 404 means no cache yet); its layers are layer reads",
    },
    StepInfo {
        step: Step::Cleanup,
        request: "`BatchDeleteImage` (AWS API)",
        iam_actions: &["ecr:BatchDeleteImage"],
        when: "not by buildx: the probe deleting its own image",
    },
];

impl Step {
    /// This step's row of [`TABLE`].
    pub fn info(self) -> &'static StepInfo {
        TABLE
            .iter()
            .find(|i| i.step == self)
            .expect("every step has a row in TABLE")
    }

    /// The stable kebab-case name used in the trace.
    pub fn name(self) -> &'static str {
        match self {
            Step::AuthorizationToken => "authorization-token",
            Step::BlobExists => "blob-exists",
            Step::BlobUploadStart => "blob-upload-start",
            Step::BlobUploadComplete => "blob-upload-complete",
            Step::ManifestExists => "manifest-exists",
            Step::ManifestPut => "manifest-put",
            Step::IndexExists => "index-exists",
            Step::IndexPut => "index-put",
            Step::ManifestRead => "manifest-read",
            Step::LayerRead => "layer-read",
            Step::LayerDownload => "layer-download",
            Step::BlobMount => "blob-mount",
            Step::TagMove => "tag-move",
            Step::CacheExport => "cache-export",
            Step::CacheImport => "cache-import",
            Step::Cleanup => "cleanup",
        }
    }

    /// The step with this trace name.
    pub fn from_name(name: &str) -> Option<Step> {
        TABLE.iter().map(|i| i.step).find(|s| s.name() == name)
    }

    /// The action a denial of this step most likely names when the
    /// response carries no message: the first one ECR checks.
    pub fn primary_action(self) -> Option<&'static str> {
        self.info().iam_actions.first().copied()
    }
}

/// The actions AWS's documented push policy grants (`image-push-iam.html`).
pub const AWS_DOCUMENTED_PUSH_ACTIONS: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
];

/// The repository-scoped actions a buildx multi-platform push needs: AWS's
/// documented set plus `ecr:GetDownloadUrlForLayer` for layer reads.
pub fn buildx_push_actions() -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = TABLE
        .iter()
        .filter(|i| !matches!(i.step, Step::AuthorizationToken | Step::Cleanup))
        .flat_map(|i| i.iam_actions.iter().copied())
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

/// The README's request → IAM action table, as markdown.
pub fn markdown_table() -> String {
    let mut out = String::from("| step | request | IAM action | when |\n|---|---|---|---|\n");
    for i in TABLE {
        let actions = if i.iam_actions.is_empty() {
            "none (S3 presigned URL)".to_string()
        } else {
            i.iam_actions
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            i.step.name(),
            i.request,
            actions,
            i.when
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_one_row_and_a_round_trip_name() {
        for row in TABLE {
            assert_eq!(TABLE.iter().filter(|r| r.step == row.step).count(), 1);
            assert_eq!(Step::from_name(row.step.name()), Some(row.step));
        }
    }

    #[test]
    fn buildx_needs_layer_reads_beyond_the_documented_policy() {
        let buildx = buildx_push_actions();
        let missing: Vec<_> = buildx
            .iter()
            .filter(|a| !AWS_DOCUMENTED_PUSH_ACTIONS.contains(a))
            .collect();
        assert_eq!(missing, [&"ecr:GetDownloadUrlForLayer"]);
        for a in AWS_DOCUMENTED_PUSH_ACTIONS {
            assert!(buildx.contains(a), "{a}");
        }
    }

    #[test]
    fn readme_request_table_is_current() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(&markdown_table()),
            "README.md's request table is out of date; replace it with `ecr-fargate-preflight rules --requests`"
        );
    }
}
