//! The record of every request the probe makes: the facts diagnosis reads.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

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
        }
    }

    /// Whether the response was a success (2xx or 3xx).
    pub fn succeeded(&self) -> bool {
        matches!(self.status, Some(s) if (200..400).contains(&s))
    }

    /// The trace line for this exchange.
    pub fn to_trace(&self) -> TraceEntry {
        let named = self
            .error
            .as_ref()
            .and_then(|e| super::denial::parse(&e.message).action);
        let actions = self.step.info().iam_actions;
        let iam_action = named.or_else(|| (!actions.is_empty()).then(|| actions.join("+")));
        let error = self
            .transport_error
            .as_ref()
            .map(|t| format!("{:?}: {}", t.kind, t.detail).to_lowercase())
            .or_else(|| {
                self.error
                    .as_ref()
                    .map(|e| format!("{}: {}", e.code, e.message))
            })
            .or_else(|| self.anomaly.clone())
            .or_else(|| match self.status {
                // A 404 is the expected answer to "does it exist yet?".
                Some(404)
                    if matches!(
                        self.step,
                        Step::BlobExists | Step::ManifestExists | Step::IndexExists
                    ) =>
                {
                    None
                }
                Some(s) if s >= 400 => Some(format!("HTTP {s}")),
                _ => None,
            });
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
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            inner: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl Recorder {
    /// Records an exchange that was sent at `sent`; returns its index.
    pub fn record(&self, sent: Instant, exchange: Exchange) -> usize {
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
}

impl Recorder {
    /// Marks exchange `get` as the GET sent only to read the error of the bodiless HEAD `head`.
    pub fn link_error_body(&self, get: usize, head: usize) {
        let mut v = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, e)) = v.get_mut(get) {
            e.error_body_for = Some(head);
        }
    }
}
