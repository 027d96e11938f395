//! The record of every request the probe makes: the facts diagnosis reads.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use url::{Position, Url};

use super::denial::RegistryError;
use super::steps::Step;
use crate::report::TraceEntry;

/// Why a request got no HTTP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportErrorKind {
    /// The host name did not resolve.
    Dns,
    /// The TCP connection was refused or could not be made.
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// No answer in time.
    Timeout,
    /// Anything else below HTTP.
    Other,
}

impl TransportErrorKind {
    /// The kind of a failure below HTTP, from what the client says of it
    /// (`timeout`, `connect`) and its whole error chain as text: the one
    /// classification the registry client and the ECR API calls share.
    pub fn classify(timeout: bool, connect: bool, detail: &str) -> TransportErrorKind {
        let lower = detail.to_lowercase();
        if timeout {
            TransportErrorKind::Timeout
        } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
            TransportErrorKind::Dns
        } else if [
            "certificate",
            "tls",
            "handshake",
            "invalidcontenttype",
            "corrupt message",
        ]
        .iter()
        .any(|marker| lower.contains(marker))
        {
            TransportErrorKind::Tls
        } else if connect {
            TransportErrorKind::Connect
        } else {
            TransportErrorKind::Other
        }
    }
}

/// A request that got no HTTP response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransportError {
    /// What kind of failure.
    pub kind: TransportErrorKind,
    /// The whole error chain, as text.
    pub detail: String,
}

/// One request and what came back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    /// The replayed step.
    pub step: Step,
    /// HTTP method, or `API`.
    pub method: String,
    /// Path (registry) or `ecr:Operation` (API).
    pub path: String,
    /// The repository the request is about (the mount source for mounts).
    pub repository: String,
    /// HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// Milliseconds.
    pub ms: u64,
    /// Causal depth, see [`TraceEntry::depth`].
    pub depth: u32,
    /// Platform the request belongs to.
    pub platform: Option<String>,
    /// No response: why.
    pub transport_error: Option<TransportError>,
    /// The error the response carried (registry `errors[0]`, or the API's `__type` and message).
    pub error: Option<RegistryError>,
    /// A non-JSON error body, truncated, when there was one.
    pub raw_error: Option<String>,
    /// Set on the GET sent only to read the error of a bodiless HEAD: the index of that HEAD.
    pub error_body_for: Option<usize>,
    /// Something the probe noticed about a successful answer (digest mismatch).
    pub anomaly: Option<String>,
    /// An answer arrived but could not be used (cut off mid-body, not
    /// parseable, or without what the step needs): why, with the HTTP status
    /// it came with. `status` stays empty: such an answer verified nothing.
    pub unusable: Option<String>,
    /// The request was not sent: why (a `Location` on another host, port or
    /// scheme for a request that carries the registry's credentials, or a
    /// step down from https to http).
    pub refused: Option<String>,
    /// Where a redirect (3xx) pointed: its `Location`, resolved, without the
    /// query (presigned URLs carry their signature there).
    pub location: Option<String>,
    /// A digest in a successful answer that is not a digest (`sha256:` and 64
    /// lowercase hex, or `sha512:` and 128): never put into a request.
    pub invalid_digest: Option<String>,
    /// The request met a transient fault and was sent again after this
    /// many milliseconds (the next attempt is recorded one round trip deeper).
    pub retried_after_ms: Option<u64>,
    /// When the request was sent, in microseconds since the [`Recorder`]
    /// was created (0 for an exchange that was never recorded).
    #[serde(skip)]
    pub sent_us: u64,
    /// When its answer (or its failure) had arrived, on the same clock.
    #[serde(skip)]
    pub ended_us: u64,
    /// The answer's body went on past this many bytes, the limit for its
    /// kind ([`crate::push::registry::body_limit`]); the rest was not read.
    pub body_over_limit: Option<u64>,
}

impl Exchange {
    /// A new record for `step`; fill in the outcome before recording it.
    pub fn new(
        step: Step,
        method: &str,
        path: impl Into<String>,
        repository: &str,
        depth: u32,
    ) -> Exchange {
        Exchange {
            step,
            method: method.to_string(),
            path: path.into(),
            repository: repository.to_string(),
            status: None,
            ms: 0,
            depth,
            platform: None,
            transport_error: None,
            error: None,
            raw_error: None,
            error_body_for: None,
            anomaly: None,
            unusable: None,
            refused: None,
            location: None,
            invalid_digest: None,
            retried_after_ms: None,
            sent_us: 0,
            ended_us: 0,
            body_over_limit: None,
        }
    }

    /// Whether this is the cleanup's read-back: a registry `HEAD` of a
    /// manifest the probe deleted, where 404 is the answer hoped for.
    pub fn is_cleanup_read_back(&self) -> bool {
        self.step == Step::Cleanup && self.method == "HEAD"
    }

    /// Whether the response was a success (2xx). A redirect is not an answer.
    pub fn succeeded(&self) -> bool {
        matches!(self.status, Some(s) if (200..300).contains(&s))
    }

    /// Whether the response is a redirect ECR sends: the 307 that answers a
    /// layer read with the layer store's (presigned S3) URL. Every other
    /// redirect verifies nothing.
    pub fn is_layer_store_redirect(&self) -> bool {
        self.step == Step::LayerRead && self.status == Some(307)
    }

    /// The trace line for this exchange.
    pub fn to_trace(&self) -> TraceEntry {
        let named = self
            .error
            .as_ref()
            .and_then(|e| super::denial::parse(&e.message).action);
        let actions = self.step.info().iam_actions;
        let iam_action = named.or_else(|| {
            if self.is_cleanup_read_back() {
                Some("ecr:BatchGetImage".to_string())
            } else {
                (!actions.is_empty()).then(|| actions.join("+"))
            }
        });
        let error = self
            .transport_error
            .as_ref()
            .map(|t| format!("{:?}: {}", t.kind, t.detail).to_lowercase())
            .or_else(|| {
                self.error
                    .as_ref()
                    .map(|e| format!("{}: {}", e.code, e.message))
            })
            .or_else(|| {
                self.body_over_limit.map(|limit| {
                    format!(
                        "answer body over the {} limit, not read further",
                        crate::limits::size(limit as usize)
                    )
                })
            })
            .or_else(|| self.unusable.clone())
            .or_else(|| self.refused.as_ref().map(|r| format!("not sent: {r}")))
            .or_else(|| self.anomaly.clone())
            .or_else(|| {
                self.invalid_digest
                    .as_ref()
                    .map(|d| format!("answered an invalid digest {d}"))
            })
            .or_else(|| match self.status {
                Some(s) if (300..400).contains(&s) && !self.is_layer_store_redirect() => {
                    Some(format!(
                        "unexpected redirect to {}",
                        self.location.as_deref().unwrap_or("nowhere (no Location)")
                    ))
                }
                // A 404 is the expected answer to "does it exist yet?".
                Some(404)
                    if matches!(
                        self.step,
                        Step::BlobExists | Step::ManifestExists | Step::IndexExists
                    ) || self.is_cleanup_read_back() =>
                {
                    None
                }
                Some(s) if s >= 400 => Some(format!("HTTP {s}")),
                _ => None,
            });
        let error = match (error, self.retried_after_ms) {
            (Some(e), Some(ms)) => Some(format!("{e}; retried after {ms} ms")),
            (None, Some(ms)) => Some(format!("retried after {ms} ms")),
            (e, None) => e,
        };
        TraceEntry {
            step: self.step.name().to_string(),
            method: self.method.clone(),
            path: self.path.clone(),
            status: self.status,
            iam_action,
            ms: self.ms,
            depth: self.depth,
            platform: self.platform.clone(),
            error,
        }
    }
}

/// Collects exchanges from concurrent tasks, in the order they were sent.
#[derive(Debug, Clone)]
pub struct Recorder {
    inner: Arc<Mutex<Vec<(Instant, Exchange)>>>,
    /// The clock's zero for [`Exchange::sent_us`] and [`Exchange::ended_us`].
    origin: Instant,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            inner: Arc::new(Mutex::new(Vec::new())),
            origin: Instant::now(),
        }
    }
}

impl Recorder {
    /// Records an exchange that was sent at `sent` and whose answer has just
    /// arrived (exchanges are recorded when they end); returns its index.
    pub fn record(&self, sent: Instant, mut exchange: Exchange) -> usize {
        let micros = |t: Instant| t.saturating_duration_since(self.origin).as_micros() as u64;
        exchange.sent_us = micros(sent);
        exchange.ended_us = micros(Instant::now()).max(exchange.sent_us);
        let mut v = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        v.push((sent, exchange));
        v.len() - 1
    }

    /// A copy of one recorded exchange.
    pub fn get(&self, index: usize) -> Option<Exchange> {
        let v = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        v.get(index).map(|(_, e)| e.clone())
    }

    /// Everything recorded, ordered by the time each request was sent.
    /// `error_body_for` indexes are renumbered to match the new order.
    pub fn into_sorted(self) -> Vec<Exchange> {
        let v = self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by_key(|&i| (v[i].0, i));
        let mut new_pos = vec![0; v.len()];
        for (pos, &i) in order.iter().enumerate() {
            new_pos[i] = pos;
        }
        order
            .iter()
            .map(|&i| {
                let mut e = v[i].1.clone();
                e.error_body_for = e.error_body_for.map(|j| new_pos[j]);
                e
            })
            .collect()
    }
}

impl Recorder {
    /// Notes something wrong with a recorded exchange's successful answer.
    pub fn annotate(&self, index: usize, anomaly: String) {
        let mut v = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, e)) = v.get_mut(index) {
            e.anomaly = Some(anomaly);
        }
    }

    /// Notes that a recorded exchange's answer named an invalid digest.
    pub fn invalid_digest(&self, index: usize, value: &str) {
        let mut v = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, e)) = v.get_mut(index) {
            e.invalid_digest = Some(quote_untrusted(value));
        }
    }
}

impl Recorder {
    /// Notes that a recorded exchange met a transient fault and was sent
    /// again after `delay`.
    pub fn retried(&self, index: usize, delay: std::time::Duration) {
        let mut v = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, e)) = v.get_mut(index) {
            e.retried_after_ms = Some(delay.as_millis() as u64);
        }
    }

    /// Marks exchange `get` as the GET sent only to read the error of the bodiless HEAD `head`.
    pub fn link_error_body(&self, get: usize, head: usize) {
        let mut v = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, e)) = v.get_mut(get) {
            e.error_body_for = Some(head);
        }
    }
}

/// `scheme://host[:port]` of a URL, the port only when it is not the scheme's default.
pub fn origin_of(url: &Url) -> String {
    format!(
        "{}://{}",
        url.scheme(),
        &url[Position::BeforeHost..Position::AfterPort]
    )
}

/// Sequential round trips, as measured: the longest chain of exchanges in
/// which each was sent only after the one before it had ended. Requests in
/// flight together count once however many there are; a request that waited
/// for an answer (its data, a concurrency limit, a retry's back-off) counts
/// one more. Requests that were never sent (refused) take no round trip.
pub fn sequential_round_trips(exchanges: &[Exchange]) -> u32 {
    let mut sent: Vec<&Exchange> = exchanges.iter().filter(|e| e.refused.is_none()).collect();
    sent.sort_by_key(|e| (e.sent_us, e.ended_us));
    // chain[i]: the longest chain that ends with sent[i].
    let mut chain: Vec<u32> = Vec::with_capacity(sent.len());
    for (i, e) in sent.iter().enumerate() {
        let before = sent[..i]
            .iter()
            .zip(&chain)
            .filter(|(d, _)| d.ended_us <= e.sent_us)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0);
        chain.push(before + 1);
    }
    chain.into_iter().max().unwrap_or(0)
}

/// A value from an untrusted answer, made safe to quote in a finding: at
/// most 80 characters, control characters escaped, in backticks.
pub fn quote_untrusted(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(80)
        .flat_map(char::escape_debug)
        .filter(|c| *c != '`')
        .collect();
    if value.chars().count() > 80 {
        out.push('…');
    }
    format!("`{out}`")
}

/// Whether `value` is a digest as OCI defines the registered algorithms:
/// `sha256:` and 64 lowercase hex digits, or `sha512:` and 128. Only such a
/// value may go into a request path: anything else (`../`, `%2F`, `?`) could
/// point the request somewhere else.
pub fn is_valid_digest(value: &str) -> bool {
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    match value.split_once(':') {
        Some(("sha256", h)) => hex(h, 64),
        Some(("sha512", h)) => hex(h, 128),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(sent_us: u64, ended_us: u64) -> Exchange {
        let mut e = Exchange::new(Step::BlobExists, "HEAD", "/v2/a/blobs/d", "a", 1);
        e.sent_us = sent_us;
        e.ended_us = ended_us;
        e
    }

    #[test]
    fn round_trips_count_the_longest_chain_of_requests_that_waited_for_another() {
        // Three in flight together, then one after them, then two together.
        let together = [timed(0, 10), timed(1, 30), timed(2, 12)];
        let mut x: Vec<Exchange> = together.to_vec();
        x.extend([timed(31, 40), timed(40, 50), timed(41, 45)]);
        assert_eq!(sequential_round_trips(&x), 3);
        // One that starts before another ends overlaps it: no extra round trip.
        assert_eq!(sequential_round_trips(&[timed(0, 10), timed(9, 20)]), 1);
        // Strictly one after another: each counts.
        let serial: Vec<Exchange> = (0..5).map(|i| timed(i * 10, i * 10 + 5)).collect();
        assert_eq!(sequential_round_trips(&serial), 5);
        // The order they were recorded in does not matter.
        let mut reversed = serial.clone();
        reversed.reverse();
        assert_eq!(sequential_round_trips(&reversed), 5);
        // A refused request was never sent.
        let mut refused = timed(6, 6);
        refused.refused = Some("elsewhere".into());
        assert_eq!(sequential_round_trips(&[timed(0, 5), refused]), 1);
        assert_eq!(sequential_round_trips(&[]), 0);
    }

    #[tokio::test]
    async fn the_recorder_stamps_when_each_request_was_sent_and_answered() {
        let recorder = Recorder::default();
        let sent = Instant::now();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        recorder.record(sent, timed(0, 0));
        let second = Instant::now();
        recorder.record(second, timed(0, 0));
        let x = recorder.into_sorted();
        assert!(x[0].ended_us >= x[0].sent_us + 5_000, "{:?}", x[0]);
        assert!(x[1].sent_us >= x[0].ended_us, "{x:?}");
        assert_eq!(sequential_round_trips(&x), 2);
    }

    #[test]
    fn only_registered_digests_are_valid() {
        let sha256 = format!("sha256:{}", "a".repeat(64));
        let sha512 = format!("sha512:{}", "0".repeat(128));
        assert!(is_valid_digest(&sha256));
        assert!(is_valid_digest(&sha512));
        for bad in [
            "../../v2/other/blobs/sha256:aaaa".to_string(),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha256:{}/..", "a".repeat(64)),
            format!("sha512:{}", "a".repeat(64)),
            format!("sha256:{}%2F", "a".repeat(62)),
            format!("md5:{}", "a".repeat(32)),
            String::new(),
            "sha256:".into(),
        ] {
            assert!(!is_valid_digest(&bad), "{bad}");
        }
    }

    #[test]
    fn untrusted_values_are_quoted_short_and_escaped() {
        assert_eq!(quote_untrusted("a`b\nc"), "`ab\\nc`");
        assert_eq!(quote_untrusted("x\u{7}y"), "`x\\u{7}y`");
        let long = quote_untrusted(&"z".repeat(200));
        assert_eq!(long.chars().count(), 83);
        assert!(long.ends_with("…`"));
    }

    #[test]
    fn a_redirect_is_not_a_success_except_ecrs_layer_store_307() {
        let mut e = Exchange::new(Step::ManifestRead, "GET", "/v2/a/manifests/t", "a", 1);
        e.status = Some(302);
        assert!(!e.succeeded());
        assert!(!e.is_layer_store_redirect());
        assert!(e.to_trace().error.unwrap().contains("unexpected redirect"));
        let mut layer = Exchange::new(Step::LayerRead, "GET", "/v2/a/blobs/d", "a", 1);
        layer.status = Some(307);
        assert!(layer.is_layer_store_redirect());
        assert_eq!(layer.to_trace().error, None);
        layer.status = Some(308);
        assert!(!layer.is_layer_store_redirect());
    }
}
