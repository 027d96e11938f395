//! The rules of the push probe and the general ones, and the `Rule` type
//! every area declares its rules with. The catalogue of all rules is
//! [`crate::catalog`].
//!
//! Rule ids are public API: never rename one; add a new rule instead.

use crate::report::{Finding, Fix, Severity};

pub use crate::report::Meaning;

/// One rule's identity and documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, `area/kebab-name`.
    pub id: &'static str,
    /// The severity its findings carry.
    pub severity: Severity,
    /// Whether its findings are defects or gaps in what was checked.
    pub meaning: Meaning,
    /// What it checks, in one sentence.
    pub what: &'static str,
    /// Why a failure matters.
    pub why: &'static str,
    /// How to fix it, in one sentence.
    pub fix: &'static str,
    /// Where to read more.
    pub docs: &'static str,
}

/// Where the rule pages (`docs/rules/<area>/<name>.md`) are published.
pub const PAGES_BASE: &str =
    "https://github.com/ecr-fargate-preflight/ecr-fargate-preflight/blob/main/docs/rules/";

/// The address of a rule's page, generated from the catalogue
/// (`crate::catalog::pages`).
pub fn page_url(id: &str) -> String {
    format!("{PAGES_BASE}{id}.md")
}

impl Rule {
    /// The address of its page.
    pub fn page_url(&self) -> String {
        page_url(self.id)
    }

    /// A finding of this rule; add the optional parts with the builder methods.
    pub fn finding(&self, title: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            rule: self.id.to_string(),
            severity: self.severity,
            title: title.into(),
            message: message.into(),
            resources: Vec::new(),
            omitted_resources: 0,
            iam_action: None,
            endpoint_service: None,
            fix: None,
            location: None,
            docs: self.docs.to_string(),
            docs_links: vec![self.page_url(), self.docs.to_string()],
            targets: Vec::new(),
            meaning: self.meaning,
            suppressed: None,
        }
    }
}

/// Builder helpers, so rule code reads as one expression.
impl Finding {
    /// Adds the resources the finding names.
    pub fn with_resources<I, S>(mut self, resources: I) -> Finding
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resources.extend(resources.into_iter().map(Into::into));
        self
    }

    /// Sets the IAM action the finding is about.
    pub fn with_iam_action(mut self, action: impl Into<String>) -> Finding {
        self.iam_action = Some(action.into());
        self
    }

    /// Sets the fix.
    pub fn with_fix(mut self, fix: Fix) -> Finding {
        self.fix = Some(fix);
        self
    }

    /// Sets where in the user's files the change goes.
    pub fn with_location(mut self, location: Option<crate::report::Location>) -> Finding {
        self.location = location;
        self
    }

    /// Overrides the rule's default severity (used where the same condition
    /// is an error in one step and only a warning in another).
    pub fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }
}

const ECR_PUSH_IAM: &str =
    "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html";

/// A registry request was denied by IAM: names the exact action and the statement that grants it.
pub const PUSH_ACCESS_DENIED: Rule = Rule {
    id: "push/access-denied",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A request that buildx makes during a multi-platform push was denied; the finding names the exact IAM action, the resource and the reason.",
    why: "buildx aborts the push on the first 403, usually after the whole build, with only `403 Forbidden` on HEAD requests.",
    fix: "Add the policy statement in the finding to the pushing role (or, for cross-account pushes, to the repository policy too).",
    docs: ECR_PUSH_IAM,
};

/// The probe could not delete its own image.
pub const PUSH_CLEANUP_DENIED: Rule = Rule {
    id: "push/cleanup-denied",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "Deleting the probe's throwaway image (`ecr:BatchDeleteImage`) was denied.",
    why: "The push itself is unaffected, but each probe run leaves one small untagged image that counts against the images-per-repository quota.",
    fix: "Grant `ecr:BatchDeleteImage` on the repository, run with `--no-cleanup` knowingly, or let a lifecycle rule expire untagged images.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchDeleteImage.html",
};

/// Cleanup failed for another reason than a denial.
pub const PUSH_CLEANUP_FAILED: Rule = Rule {
    id: "push/cleanup-failed",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "Deleting the probe's throwaway image failed for a reason other than a denial.",
    why: "The probe's image stays in the repository and counts against the images-per-repository quota.",
    fix: "Delete the image named in the finding by hand, or let a lifecycle rule expire untagged images.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchDeleteImage.html",
};

/// The repository does not exist.
pub const PUSH_REPOSITORY_NOT_FOUND: Rule = Rule {
    id: "push/repository-not-found",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The target repository does not exist in the registry.",
    why: "A push never creates an ECR repository; buildx fails with `name unknown`.",
    fix: "Create the repository (`aws ecr create-repository` or `aws_ecr_repository`), or fix the name or account.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-create.html",
};

/// A missing repository that a creation template would create on push.
pub const PUSH_CREATE_ON_PUSH: Rule = Rule {
    id: "push/create-on-push",
    severity: Severity::Warning,
    meaning: Meaning::NotVerified,
    what: "The target repository does not exist, and a repository creation template with `CREATE_ON_PUSH` covers its name.",
    why: "The first push creates it with the template's settings and needs `ecr:CreateRepository`; what the push needs on it cannot be verified before it exists, and the probe never creates one.",
    fix: "Create the repository first (then the push is verified), or allow the pusher `ecr:CreateRepository` and check that the template's repository policy allows the push.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html",
};

/// The repository's tags are immutable.
pub const PUSH_TAG_IMMUTABLE: Rule = Rule {
    id: "push/tag-immutable",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "The repository refuses to move an existing tag (tag immutability).",
    why: "Pushing a tag that already exists, such as `latest` or a re-run of the same commit tag, fails with `tag invalid … cannot be overwritten because the repository is immutable`.",
    fix: "Push unique tags only, or use `IMMUTABLE_WITH_EXCLUSION` with an exclusion filter for moving tags.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html",
};

/// The registry rejects OCI artifact manifests.
pub const PUSH_OCI_ARTIFACT_REJECTED: Rule = Rule {
    id: "push/oci-artifact-rejected",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The registry answered 405 to a manifest PUT, as ECR does for OCI artifact manifests (`artifactType` + `subject`).",
    why: "BuildKit 0.32 and later push attestations as OCI artifacts when OCI media types are on; the push then fails with 405 Method Not Allowed.",
    fix: "Set `BUILDX_NO_DEFAULT_OCI_ARTIFACT=true` or pass `oci-artifact=false` to the image exporter.",
    docs: "https://github.com/aws/containers-roadmap/issues/2783",
};

/// Requests were throttled even after retries.
pub const PUSH_THROTTLED: Rule = Rule {
    id: "push/throttled",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The registry kept answering 429 `toomanyrequests` after retries.",
    why: "Pushes from many parallel jobs exceed ECR's request rate; buildx fails the push.",
    fix: "Reduce parallel pushes, add retries around the push, or request a quota increase.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html",
};

/// A transient fault cleared on a retry.
pub const PUSH_TRANSIENT_FAULT_CLEARED: Rule = Rule {
    id: "push/transient-fault-cleared",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "A registry request met a transient fault (429, 500, 502, 503, 504, or a connection that failed or reset) and got through on a retry.",
    why: "buildx retries such faults too, so the push works; a path to the registry that faults often makes pushes slow and, past the clients' retries, fail.",
    fix: "Nothing to do if it is rare; if it recurs, check the proxy or network path to the registry and ECR's service health.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html",
};

/// The images-per-repository quota is exhausted.
pub const PUSH_IMAGE_QUOTA: Rule = Rule {
    id: "push/image-quota-exceeded",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The registry refused a manifest because a service limit, such as images per repository, is reached.",
    why: "Every push fails until images are deleted or the quota is raised.",
    fix: "Add a lifecycle policy that expires old and untagged images, or request a quota increase.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html",
};

/// The registry or the ECR API could not be reached at all.
pub const PUSH_REGISTRY_UNREACHABLE: Rule = Rule {
    id: "push/registry-unreachable",
    severity: Severity::Error,
    meaning: Meaning::NotVerified,
    what: "The registry or the ECR API endpoint could not be reached (DNS, connection, TLS or timeout failure) or kept answering 502, 503 or 504 after retries.",
    why: "Nothing behind it was verified; buildx fails the same way, typically as `i/o timeout` or `x509` errors, after the build.",
    fix: "Check the registry URL, proxies (`HTTPS_PROXY`, `NO_PROXY`), the CA bundle and network egress to ECR.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html",
};

/// The registry rejected the authorization token.
pub const PUSH_REGISTRY_AUTH_REJECTED: Rule = Rule {
    id: "push/registry-auth-rejected",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The registry answered 401 to a request carrying the token from `GetAuthorizationToken`.",
    why: "The token belongs to another registry (account or region) or has expired; buildx reports `no basic auth credentials` or 401.",
    fix: "Log in to the registry that holds the repository: same account id and region as the repository URI.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html",
};

/// The layer download (presigned S3 URL) failed.
pub const PUSH_LAYER_DOWNLOAD_FAILED: Rule = Rule {
    id: "push/layer-download-failed",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "Following the registry's redirect for a layer read to the S3 layer bucket failed.",
    why: "Layer reads (base images, cache import, mounts) fail even though `ecr:GetDownloadUrlForLayer` is allowed.",
    fix: "Allow HTTPS to `prod-<region>-starport-layer-bucket` (S3 endpoint policy, proxy, firewall) and make sure nothing forwards the registry's Authorization header to S3.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
};

/// The registry returned content that does not match its digest.
pub const PUSH_DIGEST_MISMATCH: Rule = Rule {
    id: "push/digest-mismatch",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A digest the registry returned, or the bytes read back, differ from what was pushed.",
    why: "Clients verify digests and fail the pull; something between the client and the registry rewrites content.",
    fix: "Look for a proxy or registry mirror that modifies manifests or blobs.",
    docs: "https://github.com/opencontainers/distribution-spec/blob/main/spec.md",
};

/// An answer the probe did not expect.
pub const PUSH_UNEXPECTED_RESPONSE: Rule = Rule {
    id: "push/unexpected-response",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The registry answered a step with a status buildx treats as fatal and that no other rule explains.",
    why: "buildx fails the push on it.",
    fix: "Read the status and body in the finding; they come from the registry.",
    docs: "https://github.com/opencontainers/distribution-spec/blob/main/spec.md",
};

/// Some actions were never exercised because an earlier step failed.
pub const PUSH_NOT_VERIFIED: Rule = Rule {
    id: "push/not-verified",
    severity: Severity::Notice,
    meaning: Meaning::NotVerified,
    what: "Some IAM actions of the push (or of the dry run's reads) were never exercised: no request for them reached IAM, because an earlier step failed or its answer could not be used.",
    why: "They may be missing too: the verdict cannot be `pass` until they are verified.",
    fix: "Fix the other findings, then run the check again.",
    docs: ECR_PUSH_IAM,
};

/// `GetAuthorizationToken` answered, but not usably.
pub const PUSH_TOKEN_UNUSABLE: Rule = Rule {
    id: "push/token-unusable",
    severity: Severity::Error,
    meaning: Meaning::NotVerified,
    what: "`ecr:GetAuthorizationToken` was answered, but the answer could not be used: cut off mid-body, not parseable, or without a token of the form base64(`AWS:<password>`).",
    why: "Without a registry password no registry request is sent, so no push or read action was verified.",
    fix: "Run again; if it persists, look for a proxy or TLS-inspecting middlebox between the runner and the ECR API endpoint (`api.ecr.<region>.amazonaws.com`).",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetAuthorizationToken.html",
};

/// A registry request was answered with a redirect ECR does not send.
pub const PUSH_UNEXPECTED_REDIRECT: Rule = Rule {
    id: "push/unexpected-redirect",
    severity: Severity::Error,
    meaning: Meaning::NotVerified,
    what: "A registry request was answered with a redirect ECR does not send there: anything but the layer read's 307 to the layer store (a 301, 302, 303 or 308; a 307 for a manifest; a redirect from the layer store itself, as in a loop).",
    why: "A redirect is not an answer: the request's IAM action was not verified, and the probe does not follow it with the registry's credentials.",
    fix: "Point the repository URI or `--registry-endpoint` at the registry itself, not at a proxy or a moved address, and run again.",
    docs: "https://github.com/opencontainers/distribution-spec/blob/main/spec.md",
};

/// The probe refused to follow a `Location` off the registry, or down to http.
pub const PUSH_LOCATION_REFUSED: Rule = Rule {
    id: "push/location-refused",
    severity: Severity::Error,
    meaning: Meaning::NotVerified,
    what: "The registry pointed a request that carries its credentials (an upload `Location`) at another scheme, host or port, or pointed any request from https to plain http; the probe did not send it.",
    why: "ECR keeps uploads on the registry host and redirects layer reads to its https layer store: anything else would hand the registry password or the content to another host or to the network in the clear. The step it leads to is not verified.",
    fix: "Find what rewrites the registry's answers (a proxy, a mirror, or a `--registry-endpoint` that is not ECR) and run again against the registry itself.",
    docs: "https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs",
};

/// A digest in the registry's answer is not a digest.
pub const PUSH_INVALID_DIGEST: Rule = Rule {
    id: "push/invalid-digest",
    severity: Severity::Error,
    meaning: Meaning::NotVerified,
    what: "A digest in the registry's answer (an index's `manifests[].digest`, a manifest's `layers[].digest`) is not `sha256:` with 64 or `sha512:` with 128 lowercase hex digits; the probe did not put it into a request.",
    why: "Clients refuse such content, and as a request path it could point elsewhere (`../`); the read it would have led to is not verified.",
    fix: "Look for a proxy or registry mirror that rewrites manifests, and check the image the tag points to.",
    docs: "https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests",
};

/// A registry answer's body went on past its limit.
pub const PUSH_RESPONSE_TOO_LARGE: Rule = Rule {
    id: "push/response-too-large",
    severity: Severity::Error,
    meaning: Meaning::NotVerified,
    what: "A registry answer's body went on past the limit for its kind (a manifest 4 MiB, a blob read back 8 MiB, an error or any other answer 64 KiB); the probe stopped reading there.",
    why: "ECR never sends such an answer, and reading on would let a broken or hostile endpoint exhaust the runner's memory; what the cut answer would have shown (a digest, an error's cause) was not verified.",
    fix: "Look for a proxy or registry mirror between the runner and ECR that rewrites or pads answers, point the repository URI or `--registry-endpoint` at the registry itself, and run again.",
    docs: "https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-manifests",
};

/// Dry run: the tag to read does not exist.
pub const PUSH_READ_TAG_NOT_FOUND: Rule = Rule {
    id: "push/read-tag-not-found",
    severity: Severity::Warning,
    meaning: Meaning::NotVerified,
    what: "The tag given with `--read-tag` does not exist, so the read probes could not read an image.",
    why: "Without an image to read, `ecr:BatchGetImage` and `ecr:GetDownloadUrlForLayer` are only partly verified.",
    fix: "Pass an existing tag with `--read-tag`.",
    docs: ECR_PUSH_IAM,
};

/// Dry run without a tag to read.
pub const PUSH_READS_SKIPPED: Rule = Rule {
    id: "push/reads-skipped",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "`--dry-run` was given without `--read-tag`, so only the authorization token was checked.",
    why: "Nothing was pushed or read: the push and read actions are not verified.",
    fix: "Pass `--read-tag` with an existing tag, or run without `--dry-run`.",
    docs: ECR_PUSH_IAM,
};

/// No usable AWS credentials.
pub const CREDENTIALS_UNAVAILABLE: Rule = Rule {
    id: "credentials/unavailable",
    severity: Severity::Error,
    meaning: Meaning::NotVerified,
    what: "No AWS credentials could be obtained, or assuming the role failed.",
    why: "Nothing that needs AWS can be checked.",
    fix: "Grant `id-token: write` and trust the GitHub OIDC provider in the role, or run after `aws-actions/configure-aws-credentials`.",
    docs: "https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services",
};

/// The run's deadline (`--timeout`) passed before a phase finished.
pub const RUN_DEADLINE_EXCEEDED: Rule = Rule {
    id: "run/deadline-exceeded",
    severity: Severity::Error,
    meaning: Meaning::NotVerified,
    what: "The run's deadline (`--timeout`) passed before a phase (credentials, push probe, denial explanation, network discovery) finished; what it gathered was judged, the rest was not checked.",
    why: "An endpoint that answers slowly or never would otherwise hang the job; the report says which phase and endpoint ran out of time instead.",
    fix: "Check the named endpoint's reachability and latency (proxies, egress, VPC endpoints), or give the run more time with `--timeout`.",
    docs: "https://docs.aws.amazon.com/sdkref/latest/guide/feature-timeouts.html",
};

/// The run was interrupted (SIGINT, SIGTERM) before it finished.
pub const RUN_INTERRUPTED: Rule = Rule {
    id: "run/interrupted",
    severity: Severity::Error,
    meaning: Meaning::NotVerified,
    what: "The run was interrupted (SIGINT or SIGTERM, as when a job is cancelled) before it finished; what it gathered was cleaned up, judged and reported.",
    why: "A cancelled job must not leave the probe's image behind or lose what was already learned.",
    fix: "Run the check again to completion; delete anything the cleanup finding names.",
    docs: "https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-workflow-runs/canceling-a-workflow",
};

/// A target could not be checked at all.
pub const AUDIT_TARGET_FAILED: Rule = Rule {
    id: "audit/target-failed",
    severity: Severity::Error,
    meaning: Meaning::NotVerified,
    what: "A repository or cluster of the audit could not be checked: listing or reading it failed.",
    why: "The audit cannot vouch for what it could not read; the other targets were still checked.",
    fix: "Grant the auditing role the read permission the finding names (`ecr:DescribeRepositories`, …), or fix the name.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/security-iam-awsmanpol.html",
};

/// `--repository-prefix` matched nothing.
pub const AUDIT_PREFIX_EMPTY: Rule = Rule {
    id: "audit/prefix-matched-nothing",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "No repository of the registry starts with `--repository-prefix`.",
    why: "A typo or the wrong account or region audits nothing and passes.",
    fix: "Check the prefix, the account the role belongs to, and `--region`.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeRepositories.html",
};

/// The read-only push evaluation could not use everything it needs.
pub const AUDIT_PUSH_NOT_EVALUATED: Rule = Rule {
    id: "audit/push-not-evaluated",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "A read-only audit could not evaluate (all of) a repository's push permissions: the role's policies, the repository policy or IAM's simulation were not readable.",
    why: "Without `--push-probe` the audit only reads; what it cannot read it cannot judge.",
    fix: "Allow the auditing role `iam:GetRolePolicy`, `iam:ListRolePolicies`, `iam:ListAttachedRolePolicies`, `iam:GetPolicy`, `iam:GetPolicyVersion`, `iam:SimulatePrincipalPolicy` and `ecr:GetRepositoryPolicy`, or run with `--push-probe`.",
    docs: "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html",
};

/// The audit's rules (`audit`), listed after the others.
pub const AUDIT: &[Rule] = &[
    AUDIT_TARGET_FAILED,
    AUDIT_PREFIX_EMPTY,
    AUDIT_PUSH_NOT_EVALUATED,
];

/// The push rules, in the order the README lists them.
pub const PUSH: &[Rule] = &[
    PUSH_ACCESS_DENIED,
    PUSH_REPOSITORY_NOT_FOUND,
    PUSH_CREATE_ON_PUSH,
    PUSH_REGISTRY_AUTH_REJECTED,
    PUSH_REGISTRY_UNREACHABLE,
    PUSH_TOKEN_UNUSABLE,
    PUSH_UNEXPECTED_REDIRECT,
    PUSH_LOCATION_REFUSED,
    PUSH_INVALID_DIGEST,
    PUSH_RESPONSE_TOO_LARGE,
    PUSH_LAYER_DOWNLOAD_FAILED,
    PUSH_OCI_ARTIFACT_REJECTED,
    PUSH_IMAGE_QUOTA,
    PUSH_THROTTLED,
    PUSH_TRANSIENT_FAULT_CLEARED,
    PUSH_DIGEST_MISMATCH,
    PUSH_UNEXPECTED_RESPONSE,
    PUSH_TAG_IMMUTABLE,
    PUSH_CLEANUP_DENIED,
    PUSH_CLEANUP_FAILED,
    PUSH_READ_TAG_NOT_FOUND,
    PUSH_READS_SKIPPED,
    PUSH_NOT_VERIFIED,
];

/// Live checks were skipped for want of credentials while offline inputs ran.
pub const LIVE_SKIPPED: Rule = Rule {
    id: "credentials/live-checks-skipped",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "No AWS credentials: the live checks were skipped and only the offline inputs (policies, plan, snapshot) were checked.",
    why: "A fork pull request gets no credentials; the offline answer still applies, the live probe did not run.",
    fix: "Run with credentials (`id-token: write` and `--role-to-assume`) to add the live push probe and discovery.",
    docs: "https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services",
};

/// Rules about the check itself, listed last.
pub const GENERAL: &[Rule] = &[
    CREDENTIALS_UNAVAILABLE,
    LIVE_SKIPPED,
    RUN_DEADLINE_EXCEEDED,
    RUN_INTERRUPTED,
];
