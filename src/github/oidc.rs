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

/// The most of the endpoint's answer that is read. The answer is
/// `{"value": "<jwt>"}` and a JWT is a few KiB; an endpoint that sends more
/// is not the token endpoint, and reading on would only cost memory.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How much of an error answer is read and quoted.
const ERROR_BODY_BYTES: usize = 1024;

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
    /// The endpoint answered with a redirect. Redirects are not followed, so
    /// the request token never leaves the origin of
    /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
    #[error(
        "the GitHub OIDC token endpoint answered HTTP {status}, a redirect to {location}; redirects are not followed, so the runner's request token goes only to ACTIONS_ID_TOKEN_REQUEST_URL's origin"
    )]
    Redirect {
        /// HTTP status.
        status: u16,
        /// The origin the `Location` header points to, or why it has none.
        location: String,
    },
    /// The answer is larger than [`MAX_ANSWER_BYTES`].
    #[error("the GitHub OIDC token endpoint's answer is larger than 64 KiB, far more than a token")]
    TooLarge,
    /// The answer had no token.
    #[error("the GitHub OIDC token endpoint answered without a token (`value`)")]
    NoToken,
}

/// GET `<url>&audience=<aud>` with the bearer token; the answer is `{"value": "<jwt>"}`.
/// The JWT is masked before it is returned.
///
/// The bearer goes to `ACTIONS_ID_TOKEN_REQUEST_URL` and nowhere else: a
/// redirect is an error ([`OidcError::Redirect`]), not followed, even to the
/// same origin. The runner's endpoint answers directly, and reqwest's
/// redirect handling re-sends the original headers on every hop and drops
/// `Authorization` only on a hop that changes origin, so a second hop
/// within a foreign origin would carry the bearer there. At most
/// [`MAX_ANSWER_BYTES`] of the answer are read.
pub async fn fetch(request: &TokenRequest, audience: &str) -> Result<SecretString, OidcError> {
    use secrecy::ExposeSecret;
    #[derive(Deserialize)]
    struct Answer {
        value: Option<String>,
    }
    let mut url =
        reqwest::Url::parse(&request.url).map_err(|e| OidcError::Transport(e.to_string()))?;
    url.query_pairs_mut().append_pair("audience", audience);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(crate::deadline::bounded(crate::deadline::CONNECT))
        .timeout(crate::deadline::bounded(crate::deadline::OIDC_REQUEST))
        .build()
        .map_err(|e| OidcError::Transport(e.to_string()))?;
    let response = client
        .get(url.clone())
        .bearer_auth(request.bearer.expose_secret())
        .header("Accept", "application/json; api-version=2.0")
        .send()
        .await
        .map_err(|e| OidcError::Transport(e.without_url().to_string()))?;
    let status = response.status();
    if status.is_redirection() {
        return Err(OidcError::Redirect {
            status: status.as_u16(),
            location: redirect_target(&url, response.headers()),
        });
    }
    if !status.is_success() {
        let (body, _) = read_at_most(response, ERROR_BODY_BYTES).await?;
        return Err(OidcError::Status {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body).chars().take(300).collect(),
        });
    }
    let (body, complete) = read_at_most(response, MAX_ANSWER_BYTES).await?;
    if !complete {
        return Err(OidcError::TooLarge);
    }
    let token = serde_json::from_slice::<Answer>(&body)
        .ok()
        .and_then(|a| a.value)
        .filter(|v| !v.is_empty())
        .ok_or(OidcError::NoToken)?;
    super::mask(&token);
    Ok(SecretString::from(token))
}

/// The origin a redirect's `Location` points to (resolved against `from`),
/// for the error message: the origin alone, as the rest is the server's.
fn redirect_target(from: &reqwest::Url, headers: &reqwest::header::HeaderMap) -> String {
    let Some(location) = headers.get(reqwest::header::LOCATION) else {
        return "nowhere (no Location header)".into();
    };
    match location.to_str().ok().and_then(|l| from.join(l).ok()) {
        Some(to) => to.origin().ascii_serialization(),
        None => "an unreadable Location".into(),
    }
}

/// The first `limit` bytes of `response`'s body, and whether that was all
/// of it; reading stops at the chunk that passes the limit.
async fn read_at_most(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), OidcError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| OidcError::Transport(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > limit {
            body.extend_from_slice(&chunk[..limit - body.len()]);
            return Ok((body, false));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use wiremock::matchers::{bearer_token, method, path, query_param};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    const BEARER: &str = "runner-request-token-123";
    /// The token endpoint's path, as the runner's URL has it (plan and job ids shortened).
    const TOKEN_PATH: &str = "/00000000/_apis/distributedtask/hubs/Actions/plans/1/jobs/2/idtoken";

    /// The runner's two variables for `server`.
    fn request(server: &MockServer) -> TokenRequest {
        TokenRequest {
            url: format!("{}{TOKEN_PATH}?api-version=2.0", server.uri()),
            bearer: SecretString::from(BEARER),
        }
    }

    /// The endpoint's answer: `{"value": "<jwt>"}` (a JWT of three base64url parts).
    fn token_answer(jwt: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": jwt }))
    }

    fn redirect(status: u16, to: String) -> ResponseTemplate {
        ResponseTemplate::new(status).insert_header("location", to.as_str())
    }

    /// Another origin (another port on 127.0.0.1): answers `/hop1` with a
    /// redirect to `/hop2` on itself, and `/hop2` with a token, so a client
    /// that follows gets an answer and the test sees what it sent.
    async fn elsewhere() -> MockServer {
        let other = MockServer::start().await;
        Mock::given(path("/hop1"))
            .respond_with(redirect(302, format!("{}/hop2", other.uri())))
            .mount(&other)
            .await;
        Mock::given(path("/hop2"))
            .respond_with(token_answer("stolen.jwt.value"))
            .mount(&other)
            .await;
        other
    }

    /// What `server` received with an `Authorization` header.
    async fn with_authorization(server: &MockServer) -> Vec<Request> {
        server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.headers.contains_key("authorization"))
            .collect()
    }

    #[tokio::test]
    async fn the_token_comes_from_the_endpoint_with_the_bearer_and_audience() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(TOKEN_PATH))
            .and(query_param("api-version", "2.0"))
            .and(query_param("audience", "sts.amazonaws.com"))
            .and(bearer_token(BEARER))
            .respond_with(token_answer("eyJh.eyJz.c2ln"))
            .expect(1)
            .mount(&server)
            .await;
        let token = fetch(&request(&server), "sts.amazonaws.com").await.unwrap();
        assert_eq!(token.expose_secret(), "eyJh.eyJz.c2ln");
        server.verify().await;
    }

    #[tokio::test]
    async fn a_redirect_to_another_origin_gets_no_bearer_and_no_token() {
        for (status, hop) in [
            (302, "/hop1"),
            (301, "/hop1"),
            (302, "/hop2"),
            (307, "/hop2"),
        ] {
            let server = MockServer::start().await;
            let other = elsewhere().await;
            Mock::given(path(TOKEN_PATH))
                .respond_with(redirect(status, format!("{}{hop}", other.uri())))
                .mount(&server)
                .await;
            let result = fetch(&request(&server), "sts.amazonaws.com").await;
            let leaked = with_authorization(&other).await;
            assert!(
                leaked.is_empty(),
                "{status} to {hop}: the bearer went to another origin: {:?}",
                leaked.iter().map(|r| r.url.to_string()).collect::<Vec<_>>()
            );
            assert!(
                other.received_requests().await.unwrap().is_empty(),
                "{status} to {hop}: the redirect was followed"
            );
            let err = result.expect_err("a token from a redirect");
            assert!(
                err.to_string().contains("redirect") && err.to_string().contains(&other.uri()),
                "{err}"
            );
            assert!(!err.to_string().contains(BEARER));
        }

        // Not even within the origin: the runner's endpoint answers directly.
        let server = MockServer::start().await;
        Mock::given(path(TOKEN_PATH))
            .respond_with(redirect(302, format!("{}/elsewhere", server.uri())))
            .mount(&server)
            .await;
        Mock::given(path("/elsewhere"))
            .respond_with(token_answer("eyJh.eyJz.c2ln"))
            .expect(0)
            .mount(&server)
            .await;
        let err = fetch(&request(&server), "sts.amazonaws.com")
            .await
            .expect_err("a token from a redirect");
        assert!(
            matches!(err, OidcError::Redirect { status: 302, .. }),
            "{err}"
        );
        server.verify().await;
    }

    #[tokio::test]
    async fn an_oversized_answer_is_an_error() {
        let server = MockServer::start().await;
        let huge = "a".repeat(MAX_ANSWER_BYTES + 1);
        Mock::given(path(TOKEN_PATH))
            .respond_with(token_answer(&huge))
            .mount(&server)
            .await;
        let err = fetch(&request(&server), "sts.amazonaws.com")
            .await
            .expect_err("an oversized token");
        assert!(matches!(err, OidcError::TooLarge), "{err}");
        assert!(err.to_string().contains("64 KiB"), "{err}");

        // An error answer is read no further than the limit either, and cut.
        server.reset().await;
        Mock::given(path(TOKEN_PATH))
            .respond_with(ResponseTemplate::new(500).set_body_string(huge))
            .mount(&server)
            .await;
        let err = fetch(&request(&server), "sts.amazonaws.com")
            .await
            .expect_err("a server error");
        assert!(err.to_string().len() < 1000, "{err}");
    }
}
