//! The trust area's sequence: gather the claims and the trust policy, put
//! the facts together, judge. Called by `check` before the push and
//! network checks; its findings never hide theirs.

use std::path::PathBuf;

use serde::Serialize;

use super::claims::{Claims, predict};
use super::facts::{Provider, TokenAvailability, TrustFacts};
use super::{gather, rules};
use crate::error::UsageError;
use crate::policy::document::{PolicyDocument, Source, parse_documents};
use crate::report::Finding;

/// What the trust check is given.
#[derive(Debug, Clone, Default)]
pub struct TrustConfig {
    /// `--role-to-assume`.
    pub role_arn: String,
    /// `--trust-policy`: the role's trust policy, offline.
    pub trust_policy: Option<PathBuf>,
    /// `--audience`.
    pub audience: String,
    /// `--oidc-sub-claim-keys`: a customised subject template.
    pub claim_keys: Option<Vec<String>>,
    /// The claims of the job's own token, when the credentials step fetched one.
    pub token_claims: Option<Claims>,
}

/// What the report shows of the trust check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrustSummary {
    /// The role to assume.
    pub role: String,
    /// The job's claims, decoded from its token or predicted (`origin` says which).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Claims>,
    /// Where the trust policy was read, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<String>,
    /// Whether the job can get a token.
    pub token: TokenAvailability,
}

/// Reads `--trust-policy` (exit 2 naming the flag and the file when it cannot be read).
pub fn read_trust_policy(path: &std::path::Path) -> Result<PolicyDocument, UsageError> {
    let text = crate::files::read_text(path, crate::files::POLICY_LIMIT)
        .map_err(|e| UsageError(format!("--trust-policy {e}")))?;
    let mut documents = parse_documents(&text, Source::file(path.display().to_string()))
        .map_err(|e| UsageError(format!("--trust-policy: {e}")))?;
    if documents.len() != 1 {
        return Err(UsageError(format!(
            "--trust-policy {}: expected one policy document, found {}",
            path.display(),
            documents.len()
        )));
    }
    Ok(documents.remove(0))
}

/// Gathers, judges and summarises. The trust policy is read before anything
/// else runs (a bad file is a usage error); the claims come from the token
/// when there is one, else from the runner's context.
pub fn run(config: &TrustConfig) -> Result<(Vec<Finding>, TrustSummary), UsageError> {
    let trust_policy = config
        .trust_policy
        .as_deref()
        .map(read_trust_policy)
        .transpose()?;
    let claims = config.token_claims.clone().or_else(|| {
        gather::context_from_env(&config.audience, config.claim_keys.clone())
            .map(|context| predict(&context))
    });
    let facts = TrustFacts {
        role_arn: config.role_arn.clone(),
        claims,
        token: gather::token_availability(),
        trust_policy,
        trust_policy_unread: None,
        provider: Provider::Unknown,
        requested_duration: None,
        max_session_duration: None,
        role_chaining: false,
    };
    let findings = rules::judge(&facts);
    let summary = TrustSummary {
        role: facts.role_arn.clone(),
        trust_policy: facts.trust_policy.as_ref().map(|d| d.source.label.clone()),
        claims: facts.claims,
        token: facts.token,
    };
    Ok((findings, summary))
}
