//! What the push probe observed, as plain data: the judge
//! ([`super::diagnose`]) reads it, the gatherers ([`super::probe`],
//! [`super::ecr`], [`super::registry`]) fill it.

use super::exchange::Exchange;

/// Attempts for a request that meets a transient fault, including the first:
/// the registry client retries up to it (`registry::retryable`), and the judge
/// reads a step that used them all as throttled or failing to the end.
pub const MAX_ATTEMPTS: usize = 4;

/// Everything the probe observed.
#[derive(Debug, Clone)]
pub struct ProbeFacts {
    /// Every request, in the order sent.
    pub exchanges: Vec<Exchange>,
    /// The tag pushed or read.
    pub tag: Option<String>,
    /// The pushed index's digest, once the index PUT succeeded.
    pub index_digest: Option<String>,
    /// Whether the token was obtained (registry steps ran).
    pub token_obtained: bool,
    /// The registry could not be reached: later steps were skipped.
    pub unreachable: bool,
    /// The throwaway tag already existed, so nothing was pushed to it.
    pub tag_existed: bool,
    /// What the cleanup did, if it ran.
    pub cleanup: Option<DeleteOutcome>,
    /// Manifests the probe may have written that are not confirmed gone:
    /// the registry still answers for them, or could not be asked. Includes
    /// PUTs whose answer was lost (no answer, a transport error after
    /// sending, a run cut short while they were in flight): (repository,
    /// digest), the repository being the target or a cache repository.
    pub left_behind: Vec<(String, String)>,
    /// A read-back after the cleanup (a registry `HEAD` of each digest)
    /// answered 404 for every manifest the probe may have written.
    pub cleanup_confirmed: bool,
    /// The replay was stopped before it finished: the run's deadline
    /// passed, or the run was interrupted. What was recorded is kept.
    pub cut_short: bool,
    /// Wall time in milliseconds.
    pub wall_ms: u64,
    /// What `ecr:DescribeRepositories` said of the target, asked beside
    /// the token and before any write.
    pub lookup: RepositoryLookup,
}

/// The target repository as `ecr:DescribeRepositories` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RepositoryLookup {
    /// It exists, with this tag mutability.
    Exists(crate::build::facts::TagMutability),
    /// It does not exist: the probe writes nothing (a creation template
    /// with `CREATE_ON_PUSH` would otherwise create it).
    Missing,
    /// Not known (the call was denied or failed, or not made): why.
    Unknown(String),
    /// Not asked (a dry run reads only).
    #[default]
    NotAsked,
}

/// A repository creation template (`ecr:DescribeRepositoryCreationTemplates`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreationTemplate {
    /// The namespace prefix it applies to (`ROOT`: every repository no
    /// other template matches).
    pub prefix: String,
    /// `CREATE_ON_PUSH`, `PULL_THROUGH_CACHE`, `REPLICATION`.
    pub applied_for: Vec<String>,
    /// The tag mutability it gives new repositories.
    pub image_tag_mutability: Option<String>,
    /// Whether it sets a repository policy.
    pub has_repository_policy: bool,
    /// Its encryption type (`AES256`, `KMS`, `KMS_DSSE`).
    pub encryption: Option<String>,
}

/// What `BatchDeleteImage` did.
#[derive(Debug, Clone, Default)]
pub struct DeleteOutcome {
    /// Digests deleted.
    pub deleted: Vec<String>,
    /// Digests not deleted, with ECR's failure code and reason.
    pub failures: Vec<(String, String, String)>,
    /// The call itself failed (denied, throttled, unreachable).
    pub call_failed: bool,
}
