//! A thin registry client over reqwest, with the step-by-step control the
//! replay needs: every request is sent exactly as buildx sends it, recorded
//! with its step, and never retried silently.
//!
//! It is also the one place that attaches the registry's credentials, so it
//! keeps them with their host: a request that carries them goes only to the
//! registry's own scheme, host and port, and no request steps down from
//! https to http. Anything else is recorded as refused and never sent.

use std::error::Error as _;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};

use super::denial::{RegistryError, registry_error};
use super::exchange::{Exchange, Recorder, TransportError, TransportErrorKind, origin_of};
use super::facts::MAX_ATTEMPTS;
use super::steps::Step;
use crate::{deadline, limits};

/// The most the retries of one request may wait in all (back-off and
/// `Retry-After`): a registry asking for longer is not waited for.
pub const RETRY_BUDGET: Duration = Duration::from_secs(10);

/// What went wrong with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An HTTP answer with this status.
    Status(u16),
    /// No answer.
    Transport(TransportErrorKind),
}

/// Whether a request that met `fault` is sent again.
///
/// - 429: the registry did not take the request: always.
/// - 500, 502, 503, 504, or a connection that reset or closed (`Other`):
///   the server may have taken the body before failing, so only what may
///   be sent twice is: `HEAD` and `GET`; a manifest `PUT` (by digest, or
///   the same bytes to the probe's own tag: the same result); a `POST`
///   starting an upload or a mount (a second one only opens another upload
///   session, which the registry expires). Never the blob `PUT` to an
///   upload `Location`: that session may be consumed or gone, so a second
///   `PUT` proves nothing; the fault is left to the judge, as buildx fails
///   there too.
/// - A connection that could not be made (`Connect`): nothing was sent.
/// - DNS, TLS and timeouts do not clear within seconds (a timeout has
///   already spent its share of the deadline): not retried.
pub fn retryable(step: Step, method: &Method, fault: Fault) -> bool {
    let repeatable = *method == Method::HEAD
        || *method == Method::GET
        || matches!(
            step,
            Step::ManifestPut
                | Step::IndexPut
                | Step::TagMove
                | Step::BlobUploadStart
                | Step::BlobMount
        );
    match fault {
        Fault::Status(429) => true,
        Fault::Status(500 | 502 | 503 | 504) => repeatable,
        Fault::Status(_) => false,
        Fault::Transport(TransportErrorKind::Connect) => true,
        Fault::Transport(TransportErrorKind::Other) => repeatable,
        Fault::Transport(_) => false,
    }
}

/// Exponential back-off with jitter: between half of `backoff` and all of
/// it, so parallel requests that failed together do not retry together.
fn jittered(backoff: Duration) -> Duration {
    let random = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
    backoff / 2 + backoff / 2 * random / 1000
}

/// `Retry-After` in seconds. The HTTP-date form is ignored (the back-off
/// applies): registries answer in seconds.
fn retry_after(response: &Response) -> Option<Duration> {
    response
        .header("retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The most of an answer's body read for `step`: a manifest
/// ([`limits::MANIFEST_BODY`]) or a blob ([`limits::BLOB_BODY`]) when the
/// answer is a success, otherwise an error document, a redirect or an upload
/// answer ([`limits::ERROR_BODY`]).
pub fn body_limit(step: Step, status: StatusCode) -> usize {
    if !status.is_success() {
        return limits::ERROR_BODY;
    }
    match step {
        Step::LayerRead | Step::LayerDownload => limits::BLOB_BODY,
        Step::ManifestRead
        | Step::ManifestExists
        | Step::IndexExists
        | Step::ManifestPut
        | Step::IndexPut
        | Step::TagMove
        | Step::Cleanup => limits::MANIFEST_BODY,
        _ => limits::ERROR_BODY,
    }
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// The step it replays.
    pub step: Step,
    /// HTTP method.
    pub method: Method,
    /// Absolute URL.
    pub url: Url,
    /// `Accept` header, if any.
    pub accept: Option<String>,
    /// `Content-Type` and body, if any.
    pub body: Option<(String, Vec<u8>)>,
    /// Causal depth.
    pub depth: u32,
    /// Platform, for the trace.
    pub platform: Option<String>,
    /// Repository the request is about.
    pub repository: String,
    /// Send the registry's Authorization header (false for presigned S3 URLs).
    pub authorized: bool,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body (empty for HEAD), or its first [`body_limit`] bytes.
    pub body: Vec<u8>,
    /// The body went on past [`body_limit`]: `body` holds only its start.
    pub truncated: bool,
    /// Where the exchange was recorded.
    pub index: usize,
}

impl Response {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A request that got no response.
#[derive(Debug, Clone)]
pub struct Unreachable {
    /// Where the exchange was recorded.
    pub index: usize,
    /// It was never sent: it would have taken the registry's credentials to
    /// another origin, or stepped down from https (see [`Registry::refusal`]).
    pub refused: bool,
}

/// The registry, as the probe talks to it.
#[derive(Clone)]
pub struct Registry {
    http: reqwest::Client,
    base: Url,
    authorization: SecretString,
    recorder: Recorder,
    retry_base: Duration,
    /// Requests belong to the cleanup, which may run into the grace period
    /// after the deadline ([`deadline::bounded_for_cleanup`]).
    cleanup: bool,
}

impl Registry {
    /// A client for the registry at `base` that sends `Authorization: Basic`
    /// with `AWS:<password>` and records into `recorder`.
    pub fn new(
        base: Url,
        password: &SecretString,
        recorder: Recorder,
    ) -> Result<Registry, reqwest::Error> {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("AWS:{}", password.expose_secret()));
        let http = reqwest::Client::builder()
            // Redirects are followed by the probe itself: S3 must not see the registry's Authorization.
            .redirect(reqwest::redirect::Policy::none())
            // Each request's own timeout is set when it is sent: the time left
            // in the run shrinks as it goes.
            .connect_timeout(deadline::bounded(deadline::CONNECT))
            .user_agent(concat!(
                "ecr-fargate-preflight/",
                env!("CARGO_PKG_VERSION"),
                " (buildx push replay)"
            ))
            .build()?;
        Ok(Registry {
            http,
            base,
            authorization: SecretString::from(format!("Basic {basic}")),
            recorder,
            retry_base: Duration::from_millis(200),
            cleanup: false,
        })
    }

    /// The same client for the cleanup's requests, bounded by the cleanup
    /// window after the deadline instead of the deadline itself.
    pub fn for_cleanup(&self) -> Registry {
        Registry {
            cleanup: true,
            ..self.clone()
        }
    }

    /// How long one request may take, sent now.
    fn request_timeout(&self) -> Duration {
        if self.cleanup {
            deadline::bounded_for_cleanup(deadline::REGISTRY_REQUEST)
        } else {
            deadline::bounded(deadline::REGISTRY_REQUEST)
        }
    }

    /// Shortens the retry back-off (tests and benchmarks against local stand-ins).
    pub fn with_retry_base(mut self, base: Duration) -> Registry {
        self.retry_base = base;
        self
    }

    /// `<base>/v2/<name>/<rest>`.
    pub fn url(&self, name: &str, rest: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}/v2/{name}/{rest}"));
        url.set_query(None);
        url
    }

    /// The recorder, for exchanges made outside this client (API calls).
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Sends a request, retrying transient faults as real clients do: 429,
    /// 500, 502, 503 and 504 answers and connections that fail or reset,
    /// with jittered exponential back-off, `Retry-After` (seconds) honoured,
    /// at most [`MAX_ATTEMPTS`] attempts and [`RETRY_BUDGET`] of waiting in
    /// all, and never past the run's deadline. Only what may be sent twice
    /// is retried after its body may have reached the server (see
    /// [`retryable`]). Every attempt is recorded, one round trip deeper than
    /// the last; a retried one notes how long the probe waited before the
    /// next. After the last attempt its outcome is returned.
    pub async fn send(&self, request: Request) -> Result<Response, Unreachable> {
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            let outcome = self.send_recorded(&request, request.depth + attempt).await;
            attempt += 1;
            let index = match &outcome {
                Ok(r) => r.index,
                Err(u) => u.index,
            };
            let fault = match &outcome {
                Ok(r) => Fault::Status(r.status.as_u16()),
                Err(u) if u.refused => return outcome,
                Err(u) => match self.recorder.get(u.index).and_then(|e| e.transport_error) {
                    Some(t) => Fault::Transport(t.kind),
                    None => return outcome,
                },
            };
            if attempt as usize >= MAX_ATTEMPTS || !retryable(request.step, &request.method, fault)
            {
                return outcome;
            }
            let backoff = jittered(self.retry_base * 2u32.saturating_pow(attempt - 1));
            let asked = match &outcome {
                Ok(r) => retry_after(r),
                Err(_) => None,
            };
            let left = RETRY_BUDGET.saturating_sub(waited).min(self.time_left());
            let delay = asked.unwrap_or(backoff).min(left);
            if delay.is_zero() {
                return outcome;
            }
            self.recorder.retried(index, delay);
            tokio::time::sleep(delay).await;
            waited += delay;
        }
    }

    /// Time left for this client's requests: the run's, or the cleanup's window.
    fn time_left(&self) -> Duration {
        if self.cleanup {
            deadline::bounded_for_cleanup(RETRY_BUDGET)
        } else if deadline::expired() {
            Duration::ZERO
        } else {
            deadline::remaining()
        }
    }

    /// Why `request` must not be sent, if it must not: it carries the
    /// registry's credentials to another scheme, host or port than the
    /// registry's, it steps down from an https registry to http, or it is
    /// not http(s) at all.
    pub fn refusal(&self, request: &Request) -> Option<String> {
        let url = &request.url;
        if !matches!(url.scheme(), "http" | "https") {
            return Some(format!("`{}` is not an http(s) URL", origin_of(url)));
        }
        if self.base.scheme() == "https" && url.scheme() != "https" {
            return Some(format!(
                "it points from https to plain http (`{}`)",
                origin_of(url)
            ));
        }
        if request.authorized && url.origin() != self.base.origin() {
            return Some(format!(
                "it points at `{}`, but the registry's credentials belong to `{}` only",
                origin_of(url),
                origin_of(&self.base)
            ));
        }
        None
    }

    async fn send_recorded(&self, request: &Request, depth: u32) -> Result<Response, Unreachable> {
        let mut exchange = Exchange::new(
            request.step,
            request.method.as_str(),
            display_path(&request.url, &self.base),
            &request.repository,
            depth,
        );
        exchange.platform = request.platform.clone();
        if let Some(why) = self.refusal(request) {
            exchange.refused = Some(why);
            let index = self.recorder.record(Instant::now(), exchange);
            return Err(Unreachable {
                index,
                refused: true,
            });
        }
        let mut builder = self
            .http
            .request(request.method.clone(), request.url.clone())
            .timeout(self.request_timeout());
        if request.authorized {
            let mut value = HeaderValue::from_str(self.authorization.expose_secret())
                .expect("base64 is a valid header value");
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(accept) = &request.accept {
            builder = builder.header(ACCEPT, accept);
        }
        if let Some((content_type, body)) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, content_type)
                .body(body.clone());
        }
        let sent = Instant::now();
        let outcome = async {
            let response = builder.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let limit = body_limit(request.step, status);
            let body = limits::read_limited(response, limit).await?;
            Ok::<_, reqwest::Error>((status, headers, body, limit))
        }
        .await;
        exchange.ms = sent.elapsed().as_millis() as u64;
        match outcome {
            Ok((status, headers, limited, limit)) => {
                let body = limited.bytes;
                exchange.status = Some(status.as_u16());
                if limited.over {
                    exchange.body_over_limit = Some(limit as u64);
                }
                if status.is_redirection() {
                    exchange.location = Some(
                        headers
                            .get(LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|l| request.url.join(l).ok())
                            .map_or_else(
                                || "no usable Location".to_string(),
                                |u| {
                                    format!(
                                        "{}{}",
                                        origin_of(&u),
                                        u.path().chars().take(200).collect::<String>()
                                    )
                                },
                            ),
                    );
                }
                if status.as_u16() >= 400 {
                    exchange.error = registry_error(&body).or_else(|| xml_error(&body));
                    if exchange.error.is_none() && !body.is_empty() {
                        exchange.raw_error = Some(
                            String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
                        );
                    }
                }
                let index = self.recorder.record(sent, exchange);
                Ok(Response {
                    status,
                    headers,
                    body,
                    truncated: limited.over,
                    index,
                })
            }
            Err(e) => {
                exchange.transport_error = Some(classify(&e));
                let index = self.recorder.record(sent, exchange);
                Err(Unreachable {
                    index,
                    refused: false,
                })
            }
        }
    }
}

/// The path and query of a URL, without anything secret: presigned URLs
/// lose their query. A URL off the registry's origin is shown with its
/// origin, so the trace says where a request went (or would have gone).
fn display_path(url: &Url, base: &Url) -> String {
    let host_prefix = if url.path().starts_with("/v2/") && url.origin() == base.origin() {
        String::new()
    } else {
        // Another host (the presigned S3 URL): show where, never the signature.
        origin_of(url)
    };
    match url.query() {
        Some(q)
            if url.path().starts_with("/v2/")
                && !q.contains("Signature")
                && !q.contains("_state") =>
        {
            format!("{}{}?{}", host_prefix, url.path(), q)
        }
        Some(_) => format!("{}{}?…", host_prefix, url.path()),
        None => format!("{}{}", host_prefix, url.path()),
    }
}

/// S3's XML errors (`<Error><Code>…</Code><Message>…</Message>`).
fn xml_error(body: &[u8]) -> Option<RegistryError> {
    let text = std::str::from_utf8(body).ok()?;
    let tag = |name: &str| {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = text[start..].find(&format!("</{name}>"))?;
        Some(text[start..start + end].to_string())
    };
    Some(RegistryError {
        code: tag("Code")?,
        message: tag("Message").unwrap_or_default(),
    })
}

fn classify(error: &reqwest::Error) -> TransportError {
    let mut detail = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    let kind = TransportErrorKind::classify(error.is_timeout(), error.is_connect(), &detail);
    TransportError { kind, detail }
}

/// The `Location` of a response, resolved against its request URL.
pub fn location(response: &Response, from: &Url) -> Option<Url> {
    response
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| from.join(l).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(base: &str) -> Registry {
        Registry::new(
            Url::parse(base).unwrap(),
            &SecretString::from("pw".to_string()),
            Recorder::default(),
        )
        .unwrap()
    }

    fn request(url: &str, authorized: bool) -> Request {
        Request {
            step: Step::BlobUploadComplete,
            method: Method::PUT,
            url: Url::parse(url).unwrap(),
            accept: None,
            body: None,
            depth: 1,
            platform: None,
            repository: "team/app".into(),
            authorized,
        }
    }

    #[test]
    fn credentials_go_only_to_the_registrys_scheme_host_and_port() {
        let r = registry("https://123456789012.dkr.ecr.us-east-1.amazonaws.com");
        for same in [
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/team/app/blobs/uploads/u",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com:443/v2/x",
        ] {
            assert_eq!(r.refusal(&request(same, true)), None, "{same}");
        }
        for other in [
            "https://evil.example/v2/team/app/blobs/uploads/u",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com:8443/v2/x",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/v2/x",
        ] {
            let why = r.refusal(&request(other, true)).expect(other);
            assert!(why.contains("credentials belong to"), "{why}");
        }
    }

    #[test]
    fn nothing_steps_down_from_https_to_http_not_even_without_credentials() {
        let r = registry("https://123456789012.dkr.ecr.us-east-1.amazonaws.com");
        for url in [
            "http://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/team/app/blobs/uploads/u",
            "http://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/x",
        ] {
            for authorized in [true, false] {
                let why = r.refusal(&request(url, authorized)).expect(url);
                assert!(why.contains("https to plain http"), "{why}");
            }
        }
        // The presigned layer store URL, on another host, without credentials.
        let s3 = "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/x?X-Amz-Signature=0";
        assert_eq!(r.refusal(&request(s3, false)), None);
        assert!(
            r.refusal(&request("ftp://example/x", false))
                .unwrap()
                .contains("not an http(s) URL")
        );
    }

    #[test]
    fn a_plain_http_registry_may_redirect_to_https_but_keeps_its_credentials() {
        let r = registry("http://127.0.0.1:5000");
        assert_eq!(r.refusal(&request("https://bucket.example/x", false)), None);
        assert!(
            r.refusal(&request("https://127.0.0.1:5000/v2/x", true))
                .is_some()
        );
        assert!(
            r.refusal(&request("http://127.0.0.1:5001/v2/x", true))
                .is_some()
        );
    }

    #[test]
    fn only_what_may_be_sent_twice_is_retried_after_the_server_may_have_taken_it() {
        use TransportErrorKind::{Connect, Dns, Other, Timeout, Tls};
        let reset = Fault::Transport(Other);
        for (step, method) in [
            (Step::BlobExists, Method::HEAD),
            (Step::ManifestRead, Method::GET),
            (Step::ManifestPut, Method::PUT),
            (Step::IndexPut, Method::PUT),
            (Step::BlobUploadStart, Method::POST),
        ] {
            for fault in [500, 502, 503, 504, 429]
                .map(Fault::Status)
                .into_iter()
                .chain([reset])
            {
                assert!(retryable(step, &method, fault), "{step:?} {fault:?}");
            }
        }
        // The blob PUT to an upload Location: its session may be spent.
        let blob = (Step::BlobUploadComplete, Method::PUT);
        assert!(!retryable(blob.0, &blob.1, Fault::Status(503)));
        assert!(!retryable(blob.0, &blob.1, reset));
        assert!(retryable(blob.0, &blob.1, Fault::Status(429)));
        assert!(retryable(blob.0, &blob.1, Fault::Transport(Connect)));
        for fault in [
            Fault::Status(400),
            Fault::Status(403),
            Fault::Status(404),
            Fault::Status(501),
            Fault::Transport(Dns),
            Fault::Transport(Tls),
            Fault::Transport(Timeout),
        ] {
            assert!(
                !retryable(Step::BlobExists, &Method::HEAD, fault),
                "{fault:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_refused_request_is_recorded_and_never_sent() {
        let r = registry("https://registry.invalid");
        let err = r
            .send(request(
                "http://registry.invalid/v2/team/app/blobs/uploads/u",
                true,
            ))
            .await
            .unwrap_err();
        assert!(err.refused);
        let recorded = r.recorder().get(err.index).unwrap();
        assert_eq!(recorded.status, None);
        assert!(recorded.transport_error.is_none(), "never sent");
        assert!(recorded.refused.unwrap().contains("plain http"));
        assert!(
            recorded.path.starts_with("http://registry.invalid/v2/"),
            "{}",
            recorded.path
        );
    }
}
