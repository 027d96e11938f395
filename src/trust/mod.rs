//! The OIDC trust area: will `AssumeRoleWithWebIdentity` admit this job,
//! and does the role's trust policy admit more than it should?
//!
//! - [`gather`]: the only I/O (the runner's variables, the workflow file).
//! - [`claims`]: the job's claims, decoded from its token or predicted from
//!   the GitHub context (pure).
//! - [`facts`]: [`facts::TrustFacts`], what the judge looks at.
//! - [`rules`]: the rules and the judge, [`rules::judge`].
//! - [`run`]: the sequence `check` calls.

pub mod claims;
pub mod facts;
pub mod gather;
pub mod rules;
pub mod run;
