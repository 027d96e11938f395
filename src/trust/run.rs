//! The trust area's sequence: gather the claims and the trust policy, put
//! the facts together, judge. Called by `check` before the push and
//! network checks; its findings never hide theirs.

use std::collections::BTreeMap;

use super::claims::{Claims, predict};
use super::facts::{Provider, TrustFacts};
use super::{gather, rules};
use crate::error::UsageError;
use crate::policy::document::{PolicyDocument, Source, parse_documents};
use crate::policy::terraform::PlanOidcProvider;
use crate::report::{Finding, TrustSummary};

/// What the trust check is given.
#[derive(Debug, Clone, Default)]
pub struct TrustConfig {
    /// `--role-to-assume`.
    pub role_arn: String,
    /// `--trust-policy`, read: the role's trust policy, offline.
    pub trust_policy: Option<PolicyDocument>,
    /// `--audience`.
    pub audience: String,
    /// `--oidc-sub-claim-keys`: a customised subject template.
    pub claim_keys: Option<Vec<String>>,
    /// The claims of the job's own token, when the credentials step fetched one.
    pub token_claims: Option<Claims>,
    /// What `--terraform-plan` declares, when given.
    pub plan: Option<PlanTrust>,
    /// The trust policy and `MaxSessionDuration` read live with `iam:GetRole`
    /// after STS refused the token, or why they could not be read.
    pub live_role: Option<Result<(PolicyDocument, Option<u32>), String>>,
    /// The account's GitHub provider, read live alongside the role.
    pub live_provider: Option<Provider>,
    /// Whether a missing token is a defect: only when the run needs one (it
    /// is live and has no offline inputs to fall back on; a fork's pull
    /// request never gets a token and still gets its offline answer).
    pub needs_token: bool,
}

/// What a Terraform plan says about the role's trust.
#[derive(Debug, Clone, Default)]
pub struct PlanTrust {
    /// Trust policies by role name (or address), from `assume_role_policy`.
    pub trust_policies: BTreeMap<String, Vec<PolicyDocument>>,
    /// The OIDC providers the plan declares or reads.
    pub providers: Vec<PlanOidcProvider>,
    /// Roles' `max_session_duration`, by role name.
    pub max_session_durations: BTreeMap<String, u32>,
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

/// Gathers, judges and summarises: the claims come from the token when there
/// is one, else from the runner's context.
pub fn run(config: &TrustConfig) -> (Vec<Finding>, TrustSummary) {
    let role_name = config
        .role_arn
        .rsplit('/')
        .next()
        .unwrap_or(&config.role_arn);
    let live = config.live_role.as_ref().and_then(|r| r.as_ref().ok());
    let trust_policy = config
        .trust_policy
        .clone()
        .or_else(|| {
            config
                .plan
                .as_ref()
                .and_then(|plan| plan.trust_policies.get(role_name))
                .and_then(|documents| documents.first().cloned())
        })
        .or_else(|| live.map(|(document, _)| document.clone()));
    let trust_policy_unread = match (&trust_policy, &config.live_role) {
        (None, Some(Err(why))) => Some(format!(
            "STS refused this job's token and the role's trust policy could not be read: {why}. Pass it with --trust-policy (or --terraform-plan), or let the credentials the tool runs with call iam:GetRole on {}",
            config.role_arn
        )),
        _ => None,
    };
    let provider = match (&config.plan, &config.live_provider) {
        (Some(plan), _) => plan_provider(plan, &config.role_arn),
        (None, Some(live)) => live.clone(),
        (None, None) => Provider::Unknown,
    };
    let workflow = gather::job_workflow();
    let claims = config.token_claims.clone().or_else(|| {
        gather::context_from_env(
            &config.audience,
            config.claim_keys.clone(),
            workflow.as_ref(),
        )
        .map(|context| predict(&context))
    });
    let session = match &workflow {
        Some(gather::JobWorkflow {
            job,
            text: Ok(text),
        }) => gather::session_in(text, job),
        _ => gather::SessionRequest::default(),
    };
    let facts = TrustFacts {
        role_arn: config.role_arn.clone(),
        claims,
        token: gather::token_availability(),
        // A fork's pull request cannot get a token: not a defect to fix here.
        token_needed: config.needs_token && !gather::is_fork_pull_request(),
        trust_policy,
        trust_policy_unread,
        provider,
        requested_duration: session.duration,
        max_session_duration: config
            .plan
            .as_ref()
            .and_then(|plan| plan.max_session_durations.get(role_name).copied())
            .or_else(|| live.and_then(|(_, max)| *max)),
        role_chaining: session.chaining,
    };
    let findings = rules::judge(&facts);
    let summary = TrustSummary {
        role: facts.role_arn.clone(),
        trust_policy: facts.trust_policy.as_ref().map(|d| d.source.label.clone()),
        claims: facts.claims,
        token: facts.token,
    };
    (findings, summary)
}

/// The GitHub provider as the plan declares it: present (with its client
/// ids), undetermined (a provider whose URL is unknown until apply might be
/// it), or not declared.
fn plan_provider(plan: &PlanTrust, role_arn: &str) -> Provider {
    let github = plan.providers.iter().find(|p| {
        p.url.as_deref().is_some_and(|url| {
            url.trim_end_matches('/')
                .ends_with(super::claims::ISSUER_HOST)
        })
    });
    if let Some(found) = github {
        return Provider::Present {
            arn: found
                .arn
                .clone()
                .unwrap_or_else(|| super::facts::github_provider_arn(role_arn)),
            client_ids: found.client_ids.clone(),
            source: found.address.clone(),
        };
    }
    if plan.providers.iter().any(|p| p.url.is_none()) {
        return Provider::Unknown;
    }
    Provider::Missing {
        looked_in: "The Terraform plan".to_string(),
        certain: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/gha-push";

    fn provider(url: Option<&str>) -> PlanOidcProvider {
        PlanOidcProvider {
            address: "aws_iam_openid_connect_provider.github".to_string(),
            url: url.map(str::to_string),
            arn: None,
            client_ids: vec!["sts.amazonaws.com".to_string()],
        }
    }

    #[test]
    fn the_plans_provider_is_present_missing_or_unknown() {
        let plan = |providers| PlanTrust {
            trust_policies: BTreeMap::new(),
            providers,
            max_session_durations: BTreeMap::new(),
        };
        assert_eq!(
            plan_provider(
                &plan(vec![provider(Some(
                    "https://token.actions.githubusercontent.com"
                ))]),
                ROLE
            ),
            Provider::Present {
                arn: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
                    .to_string(),
                client_ids: vec!["sts.amazonaws.com".to_string()],
                source: "aws_iam_openid_connect_provider.github".to_string(),
            }
        );
        assert_eq!(
            plan_provider(&plan(vec![provider(None)]), ROLE),
            Provider::Unknown
        );
        assert!(matches!(
            plan_provider(&plan(vec![provider(Some("https://gitlab.com"))]), ROLE),
            Provider::Missing { certain: false, .. }
        ));
    }
}
