//! Fetching the job's OIDC token, as `@actions/core`'s `getIDToken` does.

use secrecy::SecretString;
use serde::Deserialize;

/// The two variables the runner sets when the job has `id-token: write`.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
    pub url: String,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub bearer: SecretString,
}

impl TokenRequest {
    /// Both variables, when both are set and non-empty.
    pub fn from_env() -> Option<TokenRequest> {
        let url = std::env::var("ACTIONS_ID_TOKEN_REQUEST_URL")
            .ok()
            .filter(|v| !v.is_empty())?;
        let bearer = std::env::var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
            .ok()
            .filter(|v| !v.is_empty())?;
        super::mask(&bearer);
        Some(TokenRequest {
            url,
            bearer: SecretString::from(bearer),
        })
    }
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The request failed below HTTP.
    #[error("could not reach the GitHub OIDC token endpoint: {0}")]
    Transport(String),
    /// The endpoint said no.
    #[error("the GitHub OIDC token endpoint answered HTTP {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Response body, truncated.
        body: String,
    },
    /// The answer had no token.
    #[error("the GitHub OIDC token endpoint answered without a token (`value`)")]
    NoToken,
}

/// GET `<url>&audience=<aud>` with the bearer token; the answer is `{"value": "<jwt>"}`.
/// The JWT is masked before it is returned.
pub async fn fetch(request: &TokenRequest, audience: &str) -> Result<SecretString, OidcError> {
    use secrecy::ExposeSecret;
    #[derive(Deserialize)]
    struct Answer {
        value: Option<String>,
    }
    let mut url =
        reqwest::Url::parse(&request.url).map_err(|e| OidcError::Transport(e.to_string()))?;
    url.query_pairs_mut().append_pair("audience", audience);
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(request.bearer.expose_secret())
        .header("Accept", "application/json; api-version=2.0")
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| OidcError::Transport(e.without_url().to_string()))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| OidcError::Transport(e.to_string()))?;
    if !status.is_success() {
        return Err(OidcError::Status {
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
        });
    }
    let token = serde_json::from_str::<Answer>(&body)
        .ok()
        .and_then(|a| a.value)
        .filter(|v| !v.is_empty())
        .ok_or(OidcError::NoToken)?;
    super::mask(&token);
    Ok(SecretString::from(token))
}
