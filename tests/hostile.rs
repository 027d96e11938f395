//! Fail closed against hostile servers: the real binary against an ECR API and
//! a registry of our own on 127.0.0.1 that answer the way a broken proxy or a
//! hostile registry would (a token answer cut off, redirected reads, upload
//! `Location`s on another host, digests that are paths). No stand-ins: these
//! servers say exactly what a test needs and record everything they receive.
//!
//! - The ECR API (and STS) is a plain TCP server, so it can cut an answer off
//!   mid-body or never finish it.
//! - The registry is a small in-memory OCI registry on wiremock, with the
//!   hostile behaviour switched on per test, and a second wiremock server
//!   standing for "another host" (the layer store, or where a hostile
//!   `Location` points), which records what it received.
//! - For https, a python3 registry over TLS with a test CA made by openssl
//!   (as scripts/image-test does), trusted through `SSL_CERT_FILE`.

mod harness;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PASSWORD: &str = "hostile-test-password";
const REPOSITORY: &str = "team/app";

// ---------------------------------------------------------------------------
// The ECR API and STS, over plain TCP.

/// How the fake ECR API answers `GetAuthorizationToken`.
#[derive(Clone, Copy, Debug)]
enum TokenAnswer {
    /// A usable token for `AWS:<PASSWORD>`.
    Good,
    /// Headers and part of the body, then the connection closes.
    CutOff,
    /// 200 with a body that is not JSON.
    Garbage,
    /// 200 with no authorization data.
    Empty,
    /// 200 with a token that is not base64(`AWS:<password>`).
    NotAToken,
    /// Reads the request and never answers.
    Stall,
}

/// A fake AWS endpoint (`AWS_ENDPOINT_URL`): STS `GetCallerIdentity`, ECR
/// `GetAuthorizationToken` as told, `BatchDeleteImage` deleting nothing.
struct FakeAws {
    url: String,
    /// The ECR operations and STS actions received, in order.
    calls: Arc<Mutex<Vec<String>>>,
}

/// How the fake API pages its listings (ECS `ListServices`, ECR
/// `DescribeRepositories`): one item a page.
#[derive(Clone, Copy, Debug)]
enum Listing {
    /// One page, no next token.
    Finite,
    /// Every page's next token is the same: the pages loop.
    Loop,
    /// Every page has a new next token: the listing never ends.
    Endless,
}

fn fake_aws(answer: TokenAnswer) -> FakeAws {
    fake_aws_listing(answer, Listing::Finite)
}

fn fake_aws_listing(answer: TokenAnswer, listing: Listing) -> FakeAws {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let recorded = recorded.clone();
            std::thread::spawn(move || serve_aws(stream, answer, listing, &recorded));
        }
    });
    FakeAws { url, calls }
}

/// One page of a listing: its items under `key`, and the next token as
/// `listing` says, counting the pages served so far from `calls`.
fn page(listing: Listing, key: &str, item: Value, served: usize) -> String {
    let mut page = json!({ key: [item] });
    match listing {
        Listing::Finite => {}
        Listing::Loop => page["nextToken"] = json!("the-same-token"),
        Listing::Endless => page["nextToken"] = json!(format!("token-{served}")),
    }
    page.to_string()
}

fn serve_aws(stream: TcpStream, answer: TokenAnswer, listing: Listing, calls: &Mutex<Vec<String>>) {
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let target = headers.get("x-amz-target").cloned().unwrap_or_default();
        let operation = target
            .rsplit('.')
            .next()
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .or_else(|| {
                body.split('&')
                    .find_map(|p| p.strip_prefix("Action="))
                    .map(str::to_string)
            })
            .unwrap_or_default();
        calls.lock().unwrap().push(operation.clone());
        let json = "application/x-amz-json-1.1";
        let (content_type, text) = match operation.as_str() {
            "GetCallerIdentity" => (
                "text/xml",
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/pusher/hostile</Arn><UserId>AROAEXAMPLE:hostile</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></GetCallerIdentityResponse>".to_string(),
            ),
            "GetAuthorizationToken" => {
                let token = |raw: &str| {
                    json!({"authorizationData": [{
                        "authorizationToken": base64::engine::general_purpose::STANDARD.encode(raw),
                        "expiresAt": 1.9e9,
                        "proxyEndpoint": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com"
                    }]})
                    .to_string()
                };
                match answer {
                    TokenAnswer::Good => (json, token(&format!("AWS:{PASSWORD}"))),
                    TokenAnswer::Garbage => (json, "<html>this is not the ECR API{".to_string()),
                    TokenAnswer::Empty => (json, r#"{"authorizationData":[]}"#.to_string()),
                    TokenAnswer::NotAToken => (json, token("no colon here")),
                    TokenAnswer::CutOff => {
                        let full = token(&format!("AWS:{PASSWORD}"));
                        let _ = write!(
                            writer,
                            "HTTP/1.1 200 OK\r\nContent-Type: {json}\r\nContent-Length: {}\r\n\r\n{}",
                            full.len(),
                            &full[..20]
                        );
                        let _ = writer.flush();
                        let _ = writer.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                    TokenAnswer::Stall => {
                        std::thread::sleep(Duration::from_secs(120));
                        return;
                    }
                }
            }
            "BatchDeleteImage" => (json, r#"{"imageIds":[],"failures":[]}"#.to_string()),
            "ListServices" | "DescribeRepositories" => {
                let served = calls.lock().unwrap().iter().filter(|c| **c == operation).count();
                let text = if operation == "ListServices" {
                    page(listing, "serviceArns", json!(format!("arn:aws:ecs:us-east-1:123456789012:service/c/s{served}")), served)
                } else {
                    page(listing, "repositories", json!({"repositoryName": format!("other/r{served}")}), served)
                };
                (json, text)
            }
            "DescribeServices" => (json, r#"{"services":[],"failures":[]}"#.to_string()),
            _ => (json, r#"{"__type":"UnknownOperationException"}"#.to_string()),
        };
        let status = if operation.is_empty() {
            "400 Bad Request"
        } else {
            "200 OK"
        };
        let _ = write!(
            writer,
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        let _ = writer.flush();
    }
}

// ---------------------------------------------------------------------------
// The registry: an in-memory OCI registry, hostile as told.

/// What the registry does wrong.
#[derive(Clone, Debug)]
enum Hostility {
    /// Nothing: an honest registry whose layer reads are a 307 to the layer store.
    None,
    /// Reads of stored manifests (HEAD and GET) and blobs (GET) answer this
    /// status with a `Location` on the other host.
    RedirectReads(u16),
    /// Reads of stored manifests answer 307 to the other host; blobs are honest.
    RedirectManifestReads307,
    /// Manifest reads redirect to themselves; the layer store redirects a
    /// layer download back to the registry.
    Loop,
    /// The upload `Location` of `POST …/blobs/uploads/` is on the other host.
    ForeignUpload,
    /// `GET`/`HEAD` of the tag answer this manifest; everything else 404.
    Serve(Value),
    /// Honest, but every answer comes this late.
    Slow(Duration),
    /// Honest, but the index `PUT` by tag is stored and its answer never
    /// comes (in time): the answer to a write is lost.
    StallIndexPut,
    /// Manifest `PUT`s answer this status (with `Retry-After: 1`) the
    /// first `n` times each, storing nothing, then honestly.
    FlakyManifestPuts(u16, usize),
    /// Honest, but a `GET` of a stored manifest answers it padded past 5 MiB.
    HugeManifestReads,
    /// Honest, but starting an upload answers 403 with an error body of 1 MiB.
    HugeErrorBodies,
}

#[derive(Default)]
struct Store {
    /// `blobs/<digest>` or `manifests/<reference>` → (content type, bytes).
    content: HashMap<String, (String, Vec<u8>)>,
}

struct FakeRegistry {
    store: Arc<Mutex<Store>>,
    /// How often each `PUT` path was answered with a fault.
    faults: Arc<Mutex<HashMap<String, usize>>>,
    hostility: Hostility,
    /// This server's and the other host's base URLs.
    origin: String,
    other: String,
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// A registry error answer, as the distribution spec shapes it.
fn registry_error(status: u16, code: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"errors": [{"code": code, "message": code}]}))
}

impl Respond for FakeRegistry {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if let Hostility::FlakyManifestPuts(status, n) = self.hostility
            && request.method.as_str() == "PUT"
            && request.url.path().contains("/manifests/")
        {
            let mut faults = self.faults.lock().unwrap();
            let seen = faults.entry(request.url.path().to_string()).or_default();
            if *seen < n {
                *seen += 1;
                return ResponseTemplate::new(status).insert_header("Retry-After", "1");
            }
        }
        let answer = self.answer(request);
        let rest = request
            .url
            .path()
            .trim_start_matches(&format!("/v2/{REPOSITORY}/"));
        match self.hostility {
            Hostility::Slow(delay) => answer.set_delay(delay),
            Hostility::StallIndexPut
                if request.method.as_str() == "PUT"
                    && rest.starts_with("manifests/")
                    && !rest.contains("sha256:") =>
            {
                answer.set_delay(Duration::from_secs(600))
            }
            _ => answer,
        }
    }
}

impl FakeRegistry {
    fn answer(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().to_string();
        let method = request.method.as_str();
        let Some(rest) = path.strip_prefix(&format!("/v2/{REPOSITORY}/")) else {
            return ResponseTemplate::new(404);
        };
        let redirect =
            |status: u16, to: &str| ResponseTemplate::new(status).insert_header("Location", to);
        if let Hostility::Serve(manifest) = &self.hostility {
            return match (method, rest) {
                ("GET" | "HEAD", r) if r.starts_with("manifests/") && !r.contains("sha256:") => {
                    ResponseTemplate::new(200)
                        .insert_header("Content-Type", "application/vnd.oci.image.index.v1+json")
                        .set_body_bytes(manifest.to_string().into_bytes())
                }
                _ => ResponseTemplate::new(404),
            };
        }
        if matches!(self.hostility, Hostility::HugeErrorBodies)
            && method == "POST"
            && rest == "blobs/uploads/"
        {
            return ResponseTemplate::new(403).set_body_bytes(vec![b'x'; 1024 * 1024]);
        }
        if method == "POST" && rest == "blobs/uploads/" {
            let id = uuid::Uuid::new_v4();
            let base = match self.hostility {
                Hostility::ForeignUpload => &self.other,
                _ => &self.origin,
            };
            return ResponseTemplate::new(202).insert_header(
                "Location",
                format!("{base}/v2/{REPOSITORY}/blobs/uploads/{id}?_state=x").as_str(),
            );
        }
        if method == "PUT" && rest.starts_with("blobs/uploads/") {
            let digest = request
                .url
                .query_pairs()
                .find(|(k, _)| k == "digest")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            if digest_of(&request.body) != digest {
                return ResponseTemplate::new(400);
            }
            self.store.lock().unwrap().content.insert(
                format!("blobs/{digest}"),
                ("application/octet-stream".into(), request.body.clone()),
            );
            return ResponseTemplate::new(201)
                .insert_header("Docker-Content-Digest", digest.as_str());
        }
        if method == "PUT" && rest.starts_with("manifests/") {
            // Like a real registry: everything a manifest references must be there.
            let manifest: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let referenced = manifest["config"]["digest"]
                .as_str()
                .into_iter()
                .chain(["layers", "manifests"].iter().flat_map(|k| {
                    manifest[k]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|d| d["digest"].as_str())
                }))
                .map(str::to_string)
                .collect::<Vec<_>>();
            {
                let store = self.store.lock().unwrap();
                if referenced.iter().any(|d| {
                    !store.content.contains_key(&format!("blobs/{d}"))
                        && !store.content.contains_key(&format!("manifests/{d}"))
                }) {
                    return registry_error(400, "MANIFEST_BLOB_UNKNOWN");
                }
            }
            let content_type = request
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let digest = digest_of(&request.body);
            let mut store = self.store.lock().unwrap();
            store.content.insert(
                rest.to_string(),
                (content_type.clone(), request.body.clone()),
            );
            store.content.insert(
                format!("manifests/{digest}"),
                (content_type, request.body.clone()),
            );
            return ResponseTemplate::new(201)
                .insert_header("Docker-Content-Digest", digest.as_str());
        }
        let stored = self.store.lock().unwrap().content.get(rest).cloned();
        let Some((content_type, bytes)) = stored else {
            return match (method, rest.starts_with("manifests/")) {
                ("HEAD", _) => ResponseTemplate::new(404),
                (_, true) => registry_error(404, "MANIFEST_UNKNOWN"),
                (_, false) => registry_error(404, "BLOB_UNKNOWN"),
            };
        };
        let is_manifest = rest.starts_with("manifests/");
        match (&self.hostility, method, is_manifest) {
            (Hostility::RedirectReads(status), _, _) => {
                redirect(*status, &format!("{}/elsewhere/{rest}", self.other))
            }
            (Hostility::RedirectManifestReads307, _, true) => {
                redirect(307, &format!("{}/elsewhere/{rest}", self.other))
            }
            (Hostility::Loop, _, true) => redirect(302, &path),
            (Hostility::HugeManifestReads, "GET", true) => {
                let mut padded = bytes.clone();
                padded.resize(5 * 1024 * 1024 + 1, b' ');
                ResponseTemplate::new(200)
                    .insert_header("Content-Type", content_type.as_str())
                    .set_body_bytes(padded)
            }
            (_, "GET", false) => redirect(
                307,
                &format!(
                    "{}/starport/{}?X-Amz-Signature=0",
                    self.other,
                    rest.trim_start_matches("blobs/")
                ),
            ),
            _ => ResponseTemplate::new(200)
                .insert_header("Content-Type", content_type.as_str())
                .insert_header("Docker-Content-Digest", digest_of(&bytes).as_str())
                .set_body_bytes(bytes),
        }
    }
}

/// The other host: the layer store for honest layer reads (serving the
/// registry's blobs, or bouncing back to the registry in a loop).
struct OtherHost {
    store: Arc<Mutex<Store>>,
    registry: String,
    bounce: bool,
}

impl Respond for OtherHost {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Some(digest) = request.url.path().strip_prefix("/starport/") else {
            return ResponseTemplate::new(404);
        };
        if self.bounce {
            return ResponseTemplate::new(307).insert_header(
                "Location",
                format!("{}/v2/{REPOSITORY}/blobs/{digest}", self.registry).as_str(),
            );
        }
        match self
            .store
            .lock()
            .unwrap()
            .content
            .get(&format!("blobs/{digest}"))
        {
            Some((_, bytes)) => ResponseTemplate::new(200).set_body_bytes(bytes.clone()),
            None => ResponseTemplate::new(404),
        }
    }
}

struct Servers {
    registry: MockServer,
    other: MockServer,
}

async fn servers(hostility: Hostility) -> Servers {
    let registry = MockServer::start().await;
    let other = MockServer::start().await;
    let store = Arc::new(Mutex::new(Store::default()));
    Mock::given(any())
        .respond_with(FakeRegistry {
            store: store.clone(),
            faults: Arc::default(),
            hostility: hostility.clone(),
            origin: registry.uri(),
            other: other.uri(),
        })
        .mount(&registry)
        .await;
    Mock::given(any())
        .respond_with(OtherHost {
            store,
            registry: registry.uri(),
            bounce: matches!(hostility, Hostility::Loop),
        })
        .mount(&other)
        .await;
    Servers { registry, other }
}

/// Method, path and whether it carried an `Authorization` header, for each
/// request a server received.
async fn received(server: &MockServer) -> Vec<(String, String, bool)> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.url.path().to_string(),
                r.headers.contains_key("authorization"),
            )
        })
        .collect()
}

fn check(aws: &FakeAws, registry: &str, args: &[&str]) -> harness::Run {
    let mut all = vec![
        "--repository",
        REPOSITORY,
        "--registry-endpoint",
        registry,
        "--no-cleanup",
        "--platforms",
        "linux/amd64",
    ];
    all.extend_from_slice(args);
    let run = harness::run_subcommand(
        None,
        "check",
        &all,
        &[("AWS_ENDPOINT_URL", Some(aws.url.as_str()))],
    );
    run.assert_no_panic();
    run
}

fn assert_not_verified(run: &harness::Run) {
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.report["verdict"], "not-verified", "{}", run.stdout);
}

fn rule_ids(run: &harness::Run) -> Vec<String> {
    let mut ids: Vec<String> = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

// ---------------------------------------------------------------------------

/// The servers themselves work: an honest run passes, every registry request
/// carries the registry's credentials and the layer store's none. Without
/// this, the hostile tests below could pass for the wrong reason.
#[tokio::test]
async fn an_honest_registry_passes_and_only_the_registry_gets_credentials() {
    let aws = fake_aws(TokenAnswer::Good);
    let s = servers(Hostility::None).await;
    let run = check(&aws, &s.registry.uri(), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.report["verdict"], "pass");
    let registry = received(&s.registry).await;
    assert!(registry.len() > 5, "{registry:?}");
    assert!(registry.iter().all(|(_, _, auth)| *auth), "{registry:?}");
    let other = received(&s.other).await;
    assert!(
        other
            .iter()
            .any(|(m, p, _)| m == "GET" && p.starts_with("/starport/")),
        "the layer read followed the 307: {other:?}"
    );
    assert!(
        other.iter().all(|(_, _, auth)| !auth),
        "the layer store got the registry's Authorization: {other:?}"
    );
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("AWS:{PASSWORD}"))
    );
    let first = s.registry.received_requests().await.unwrap();
    assert_eq!(first[0].headers["authorization"], expected.as_str());
}

/// A token answer that cannot be used is a failure of the token step, not a
/// 200: nothing reaches the registry, and the verdict says so with exit 3.
#[tokio::test]
async fn an_unusable_token_answer_is_not_verified_and_sends_nothing() {
    for answer in [
        TokenAnswer::CutOff,
        TokenAnswer::Garbage,
        TokenAnswer::Empty,
        TokenAnswer::NotAToken,
    ] {
        let aws = fake_aws(answer);
        let s = servers(Hostility::None).await;
        let run = check(&aws, &s.registry.uri(), &[]);
        assert_not_verified(&run);
        assert!(
            rule_ids(&run).contains(&"push/token-unusable".to_string()),
            "{answer:?}: {}",
            run.stdout
        );
        let token = &run.trace()[0];
        assert_eq!(token["step"], "authorization-token");
        assert_eq!(
            token["status"],
            Value::Null,
            "{answer:?}: not a 200: {token}"
        );
        assert!(token["error"].as_str().is_some(), "{answer:?}: {token}");
        assert!(
            received(&s.registry).await.is_empty(),
            "{answer:?}: the registry was asked without a token"
        );
        assert!(
            aws.calls
                .lock()
                .unwrap()
                .iter()
                .any(|c| c == "GetAuthorizationToken"),
            "{answer:?}"
        );
    }
}

/// A token request that never finishes ends with the ECR API's timeout:
/// unreachable, not verified, exit 3, within the operation timeout.
#[tokio::test]
async fn a_stalled_token_answer_times_out_as_not_verified() {
    let aws = fake_aws(TokenAnswer::Stall);
    let s = servers(Hostility::None).await;
    let started = std::time::Instant::now();
    let run = check(&aws, &s.registry.uri(), &[]);
    assert_not_verified(&run);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let f = run.finding("push/registry-unreachable");
    assert!(f["title"].as_str().unwrap().contains("in time"), "{f}");
    assert!(received(&s.registry).await.is_empty());
}

/// 301, 302, 303 and 308 answers to reads are not reads: each is named with
/// its step, status and Location host, nothing follows them, and the verdict
/// is not a pass.
#[tokio::test]
async fn redirected_reads_are_not_verified() {
    for status in [301, 302, 303, 308] {
        let aws = fake_aws(TokenAnswer::Good);
        let s = servers(Hostility::RedirectReads(status)).await;
        let run = check(&aws, &s.registry.uri(), &[]);
        assert_not_verified(&run);
        let redirects = run.all("push/unexpected-redirect");
        let titles: Vec<&str> = redirects
            .iter()
            .map(|f| f["title"].as_str().unwrap())
            .collect();
        for step in ["manifest-read", "layer-read"] {
            assert!(
                titles.iter().any(|t| t.contains(step)
                    && t.contains(&status.to_string())
                    && t.contains(&s.other.uri())),
                "{status} {step}: {titles:?}"
            );
        }
        assert_eq!(
            run.findings("error").len(),
            redirects.len(),
            "{}",
            run.stdout
        );
        assert!(
            received(&s.other).await.is_empty(),
            "{status}: the redirect was followed"
        );
    }
}

/// A 307 is ECR's answer to a layer read only: for a manifest it is reported too.
#[tokio::test]
async fn a_307_for_a_manifest_is_not_a_read() {
    let aws = fake_aws(TokenAnswer::Good);
    let s = servers(Hostility::RedirectManifestReads307).await;
    let run = check(&aws, &s.registry.uri(), &[]);
    assert_not_verified(&run);
    let f = run.finding("push/unexpected-redirect");
    assert!(
        f["title"].as_str().unwrap().contains("manifest-read"),
        "{f}"
    );
    assert!(f["title"].as_str().unwrap().contains("307"), "{f}");
    // Layer reads were honest: the layer store served them.
    assert!(
        received(&s.other)
            .await
            .iter()
            .all(|(_, p, _)| p.starts_with("/starport/"))
    );
}

/// Redirect loops end after one hop: a manifest redirected to itself and a
/// layer download bounced back to the registry are both reported.
#[tokio::test]
async fn redirect_loops_are_not_followed_and_not_verified() {
    let aws = fake_aws(TokenAnswer::Good);
    let s = servers(Hostility::Loop).await;
    let run = check(&aws, &s.registry.uri(), &[]);
    assert_not_verified(&run);
    let titles: Vec<String> = run
        .all("push/unexpected-redirect")
        .iter()
        .map(|f| f["title"].as_str().unwrap().to_string())
        .collect();
    assert!(
        titles.iter().any(|t| t.contains("manifest-read")),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t.contains("layer-download")),
        "{titles:?}"
    );
    // The layer store was asked once per layer read, never in a loop.
    let bounced = received(&s.other).await;
    assert_eq!(bounced.len(), 1, "{bounced:?}");
}

/// An upload `Location` on another host is never sent the registry's
/// credentials: the probe does not send the blob there at all.
#[tokio::test]
async fn an_upload_location_on_another_host_gets_nothing() {
    let aws = fake_aws(TokenAnswer::Good);
    let s = servers(Hostility::ForeignUpload).await;
    let run = check(&aws, &s.registry.uri(), &[]);
    let foreign = received(&s.other).await;
    assert!(
        foreign.is_empty(),
        "the other host received {foreign:?} (method, path, with Authorization)"
    );
    assert_not_verified(&run);
    let f = run.finding("push/location-refused");
    assert!(
        f["message"].as_str().unwrap().contains(&s.other.uri()),
        "the other host is named: {f}"
    );
    let gap = run.finding("push/not-verified");
    assert!(
        gap["message"]
            .as_str()
            .unwrap()
            .contains("ecr:CompleteLayerUpload"),
        "{gap}"
    );
    // The uploads were started (on the registry) but none was completed.
    let registry = received(&s.registry).await;
    assert!(registry.iter().any(|(m, _, _)| m == "POST"));
    assert!(
        !registry
            .iter()
            .any(|(m, p, _)| m == "PUT" && p.contains("/blobs/uploads/")),
        "{registry:?}"
    );
    assert!(
        run.trace()
            .iter()
            .any(|t| t["step"] == "blob-upload-complete"
                && t["status"].is_null()
                && t["path"].as_str().unwrap().starts_with(&s.other.uri())),
        "the trace shows where it would have gone: {}",
        run.stdout
    );
}

/// Digests from the registry's manifests are checked before they become a
/// path: a `../` "digest" reads no other repository.
#[tokio::test]
async fn a_digest_that_is_a_path_never_becomes_a_request() {
    let traversal = "../../v2/other/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": traversal,
            "size": 100,
            "platform": {"os": "linux", "architecture": "amd64"}
        }]
    });
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{}", "1".repeat(64)), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": traversal, "size": 2}]
    });
    for (what, served) in [("index", index), ("manifest", manifest)] {
        let aws = fake_aws(TokenAnswer::Good);
        let s = servers(Hostility::Serve(served)).await;
        let run = check(&aws, &s.registry.uri(), &["--dry-run", "--read-tag", "v1"]);
        let requests = received(&s.registry).await;
        assert!(
            requests
                .iter()
                .all(|(_, p, _)| p.starts_with(&format!("/v2/{REPOSITORY}/manifests/v1"))),
            "{what}: only the tag was read: {requests:?}"
        );
        assert!(received(&s.other).await.is_empty(), "{what}");
        assert_not_verified(&run);
        let f = run.finding("push/invalid-digest");
        assert!(
            f["message"].as_str().unwrap().contains("../../v2/other"),
            "{what}: the value is quoted: {f}"
        );
    }
}

/// An unreachable registry is "we could not look" (3), never "the policy is
/// wrong" (1).
#[tokio::test]
async fn an_unreachable_registry_is_exit_3() {
    let aws = fake_aws(TokenAnswer::Good);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = check(&aws, &format!("http://127.0.0.1:{port}"), &[]);
    assert_not_verified(&run);
    assert_eq!(rule_ids(&run), ["push/registry-unreachable"]);
}

// ---------------------------------------------------------------------------
// https: nothing steps down to plain http, not even the layer store's 307.

/// A dry-run registry over TLS (python3's http.server and ssl, the same tools
/// scripts/image-test uses): the tag is a manifest with one layer, and the
/// layer read answers ECR's 307, but to a plain-http layer store.
const HTTPS_REGISTRY: &str = r#"
import http.server, json, os, ssl, sys
cert, key, port_file, layer_store, layer = sys.argv[1:6]
manifest = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "1" * 64, "size": 2},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": 2}],
}).encode()

class Registry(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, status, headers, body=b""):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def do_GET(self):
        if self.path.startswith("/v2/team/app/manifests/"):
            self.reply(200, [("Content-Type", "application/vnd.oci.image.manifest.v1+json")], manifest)
        elif self.path.startswith("/v2/team/app/blobs/"):
            self.reply(307, [("Location", layer_store + "/starport/" + layer + "?X-Amz-Signature=0")])
        else:
            self.reply(404, [])
    do_HEAD = do_GET
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
"#;

/// A test CA and a certificate for 127.0.0.1 signed by it, as scripts/image-test makes them.
fn test_certificates(dir: &std::path::Path) {
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=efp hostile-test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext",
        "-out",
        "server.crt",
    ]);
}

/// The python3 child, stopped by its own id when the test ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_https_registrys_307_to_plain_http_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    let layer_store = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"{}".to_vec()))
        .mount(&layer_store)
        .await;
    let layer = format!("sha256:{}", "2".repeat(64));
    let port_file = dir.path().join("port");
    let python = std::env::var("EFP_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let _registry = Child(
        std::process::Command::new(python)
            .args(["-c", HTTPS_REGISTRY])
            .arg(dir.path().join("server.crt"))
            .arg(dir.path().join("server.key"))
            .arg(&port_file)
            .arg(layer_store.uri())
            .arg(&layer)
            .spawn()
            .expect("python3 runs"),
    );
    let started = std::time::Instant::now();
    while !port_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the https registry did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let registry = format!(
        "https://127.0.0.1:{}",
        std::fs::read_to_string(&port_file).unwrap()
    );
    let aws = fake_aws(TokenAnswer::Good);
    let ca = dir.path().join("ca.crt");
    let run = harness::run_subcommand(
        None,
        "check",
        &[
            "--repository",
            REPOSITORY,
            "--registry-endpoint",
            &registry,
            "--dry-run",
            "--read-tag",
            "v1",
        ],
        &[
            ("AWS_ENDPOINT_URL", Some(aws.url.as_str())),
            ("SSL_CERT_FILE", ca.to_str()),
            ("SSL_CERT_DIR", None),
        ],
    );
    run.assert_no_panic();
    let downgraded = received(&layer_store).await;
    assert!(downgraded.is_empty(), "plain http received {downgraded:?}");
    assert_not_verified(&run);
    // The registry was reached over TLS (the manifest was read); the redirect was refused.
    assert!(
        run.trace()
            .iter()
            .any(|t| t["step"] == "layer-read" && t["status"] == 307),
        "{}",
        run.stdout
    );
    let f = run.finding("push/location-refused");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("from https to plain http"),
        "{f}"
    );
    assert_eq!(rule_ids(&run), ["push/location-refused"], "{}", run.stdout);
}

// ---------------------------------------------------------------------------
// Deadlines, interruptions and cleanup.

/// A registry that answers every request 2 s late, under `--timeout 3s`:
/// the push probe runs out of time part way. The report is still written,
/// names the phase and the registry, keeps the requests recorded so far,
/// and exits 3, well before the deadline's last resort (3 s + 30 s).
#[tokio::test]
async fn a_slow_registry_runs_out_of_time_and_still_reports() {
    let aws = fake_aws(TokenAnswer::Good);
    let s = servers(Hostility::Slow(Duration::from_secs(2))).await;
    let started = std::time::Instant::now();
    let run = check(&aws, &s.registry.uri(), &["--timeout", "3s"]);
    let elapsed = started.elapsed();
    assert_not_verified(&run);
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    let f = run.finding("run/deadline-exceeded");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("push probe"), "{f}");
    assert!(message.contains(&s.registry.uri()), "{f}");
    // What was recorded before the deadline is in the trace.
    let trace = run.trace();
    assert!(
        trace.iter().any(|t| t["step"] == "authorization-token"),
        "{trace:?}"
    );
    assert!(
        trace.iter().any(|t| t["step"] == "blob-exists"),
        "{trace:?}"
    );
}

/// SIGTERM (a cancelled job) while the index `PUT` waits for its answer:
/// the run stops, cleans up what it may have written (the index whose
/// answer never came included), reads it back, and reports within the
/// grace period with exit 3. The fake ECR API deletes nothing, so the
/// report must name what is left, with the command that deletes it.
#[tokio::test]
async fn sigterm_mid_push_cleans_up_and_reports() {
    let aws = fake_aws(TokenAnswer::Good);
    let s = servers(Hostility::StallIndexPut).await;
    let registry = s.registry.uri();
    let child = harness::Binary::new()
        .test_credentials()
        .aws_endpoint(&aws.url)
        .args([
            "check",
            "--format",
            "json",
            "--repository",
            REPOSITORY,
            "--registry-endpoint",
            &registry,
            "--platforms",
            "linux/amd64",
        ])
        .spawn();
    let pid = child.id();
    // Wait until the index PUT (by tag) has reached the registry.
    let index_put = async {
        loop {
            let requests = s.registry.received_requests().await.unwrap_or_default();
            if let Some(put) = requests.iter().find(|r| {
                r.method.as_str() == "PUT"
                    && r.url.path().contains("/manifests/ecr-fargate-preflight-")
            }) {
                return digest_of(&put.body);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let index = tokio::time::timeout(Duration::from_secs(30), index_put)
        .await
        .expect("the index PUT was sent");
    let signalled = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let elapsed = signalled.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    let report: Value = harness::schema::parse(&stdout);
    let findings = report["findings"].as_array().unwrap();
    let interrupted = findings
        .iter()
        .find(|f| f["rule"] == "run/interrupted")
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        interrupted["message"].as_str().unwrap().contains("SIGTERM"),
        "{interrupted}"
    );
    assert_eq!(report["push"]["cleaned_up"], false, "{report}");
    // The cleanup asked to delete the index although its answer never came.
    assert!(
        aws.calls
            .lock()
            .unwrap()
            .contains(&"BatchDeleteImage".to_string())
    );
    let left = findings
        .iter()
        .find(|f| f["rule"] == "push/cleanup-failed")
        .unwrap_or_else(|| panic!("{report}"));
    let tag = report["push"]["tag"].as_str().unwrap();
    assert!(left["message"].as_str().unwrap().contains(tag), "{left}");
    let command = left["fix"]["aws_cli"].as_str().unwrap();
    assert!(
        command.starts_with("aws ecr batch-delete-image"),
        "{command}"
    );
    assert!(
        command.contains(&format!("imageDigest={index}")),
        "{command}"
    );
}

// ---------------------------------------------------------------------------
// Retries.

/// Every manifest PUT answers 503 (`Retry-After: 1`) once, then works:
/// the probe waits as asked, retries, passes, and says so in a notice;
/// the trace shows each retry.
#[tokio::test]
async fn a_fault_that_clears_passes_with_a_notice() {
    let aws = fake_aws(TokenAnswer::Good);
    let s = servers(Hostility::FlakyManifestPuts(503, 1)).await;
    let started = std::time::Instant::now();
    let run = check(&aws, &s.registry.uri(), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.report["verdict"], "pass", "{}", run.stdout);
    assert_eq!(rule_ids(&run), ["push/transient-fault-cleared"]);
    let retried: Vec<_> = run
        .trace()
        .into_iter()
        .filter(|t| {
            t["error"]
                .as_str()
                .is_some_and(|e| e.contains("retried after 1000 ms"))
        })
        .collect();
    // Two child manifests (image, attestation) or one, the index, the tag move.
    assert!(retried.len() >= 3, "{:?}", run.trace());
    assert!(retried.iter().all(|t| t["status"] == 503));
    // Retry-After was honoured: at least one second of waiting per round.
    assert!(started.elapsed() >= Duration::from_secs(2));
}

/// A 500 that never clears: retried up to the limit, then the finding the
/// 500 gave before, and no notice.
#[tokio::test]
async fn a_fault_that_persists_keeps_its_finding() {
    let aws = fake_aws(TokenAnswer::Good);
    let s = servers(Hostility::FlakyManifestPuts(500, usize::MAX)).await;
    let run = check(&aws, &s.registry.uri(), &[]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let ids = rule_ids(&run);
    assert!(
        !ids.contains(&"push/transient-fault-cleared".to_string()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"push/unexpected-response".to_string()),
        "{ids:?}"
    );
    let puts = received(&s.registry)
        .await
        .into_iter()
        .filter(|(m, p, _)| m == "PUT" && p.contains("/manifests/sha256:"))
        .count();
    // Each child manifest: MAX_ATTEMPTS (4) attempts.
    assert_eq!(puts % 4, 0, "{puts}");
    assert!(puts >= 4);
}

// ---------------------------------------------------------------------------
// Bounded reads: bodies past their limit, endless and looping listings,
// connections reset mid-body.

/// A manifest read back answers 5 MiB: the probe stops reading at 4 MiB and
/// the read is not verified, naming the endpoint; nothing is reported as a
/// digest mismatch (a cut body cannot be hashed).
#[tokio::test]
async fn a_manifest_past_its_limit_is_not_verified() {
    let aws = fake_aws(TokenAnswer::Good);
    let s = servers(Hostility::HugeManifestReads).await;
    let run = check(&aws, &s.registry.uri(), &[]);
    assert_not_verified(&run);
    let ids = rule_ids(&run);
    assert!(
        ids.contains(&"push/response-too-large".to_string()),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"push/digest-mismatch".to_string()),
        "{ids:?}"
    );
    let f = run.finding("push/response-too-large");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("GET /v2/team/app/manifests/"), "{message}");
    assert!(message.contains("4 MiB"), "{message}");
}

/// An error answer of 1 MiB to starting an upload: read to 64 KiB only, and
/// reported as too large rather than as a denial it cannot be parsed as.
#[tokio::test]
async fn an_error_body_past_its_limit_is_not_verified() {
    let aws = fake_aws(TokenAnswer::Good);
    let s = servers(Hostility::HugeErrorBodies).await;
    let run = check(&aws, &s.registry.uri(), &[]);
    assert_not_verified(&run);
    let f = run.finding("push/response-too-large");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("POST /v2/team/app/blobs/uploads/"),
        "{message}"
    );
    assert!(message.contains("64 KiB"), "{message}");
}

/// Discovery against an ECS API whose `ListServices` pages loop (the same
/// next token every time) or never end: the listing stops, at the repeat or
/// at the page limit, and the cluster is reported as not checked (exit 3),
/// never as a pass.
#[tokio::test]
async fn looping_and_endless_listings_stop_and_are_not_verified() {
    for (listing, says, most) in [
        (Listing::Loop, "repeated", 2),
        (Listing::Endless, "1000 pages", 1000),
    ] {
        let aws = fake_aws_listing(TokenAnswer::Good, listing);
        let run = harness::run_subcommand(
            None,
            "check",
            &["--cluster", "c", "--timeout", "60s"],
            &[("AWS_ENDPOINT_URL", Some(aws.url.as_str()))],
        );
        run.assert_no_panic();
        assert_not_verified(&run);
        let f = run.finding("network/not-checked");
        let message = f["message"].as_str().unwrap();
        assert!(message.contains("services of cluster c"), "{message}");
        assert!(message.contains(says), "{listing:?}: {message}");
        let pages = aws
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == "ListServices")
            .count();
        // The SDK's paginator may have asked for one page ahead.
        assert!(pages == most || pages == most + 1, "{listing:?}: {pages}");
    }
}

/// `audit --repository-prefix` against a `DescribeRepositories` whose pages
/// loop: the listing stops at the repeat and says the audit is partial.
#[tokio::test]
async fn a_looping_repository_listing_is_a_partial_audit() {
    let aws = fake_aws_listing(TokenAnswer::Good, Listing::Loop);
    let run = harness::run_subcommand(
        None,
        "audit",
        &["--repository-prefix", "team/"],
        &[("AWS_ENDPOINT_URL", Some(aws.url.as_str()))],
    );
    run.assert_no_panic();
    assert_not_verified(&run);
    let f = run.finding("audit/target-failed");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("repeated"), "{message}");
    let pages = aws
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| *c == "DescribeRepositories")
        .count();
    assert!(pages == 2 || pages == 3, "{pages}");
}

/// A registry that answers `HEAD` with 404 and every other request with
/// headers and part of a body, then resets the connection (RST). Every
/// request fails mid-body, is retried as the retry policy allows, and the
/// run reports, within its budget.
fn resetting_registry() -> String {
    let handle = tokio::runtime::Handle::current();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handle = handle.clone();
            std::thread::spawn(move || serve_resetting(stream, &handle));
        }
    });
    url
}

fn serve_resetting(stream: TcpStream, handle: &tokio::runtime::Handle) {
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if line.starts_with("HEAD ") {
            let _ = write!(
                writer,
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
            );
            let _ = writer.flush();
            continue;
        }
        let _ = write!(
            writer,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{}",
            "{".repeat(1000)
        );
        let _ = writer.flush();
        // Let the headers and the start of the body arrive, then reset.
        std::thread::sleep(Duration::from_millis(100));
        let _entered = handle.enter();
        let stream = reader.into_inner();
        drop(writer);
        if stream.set_nonblocking(true).is_ok()
            && let Ok(stream) = tokio::net::TcpStream::from_std(stream)
        {
            let _ = stream.set_zero_linger();
        }
        return;
    }
}

#[tokio::test]
async fn a_registry_that_resets_mid_body_is_not_verified_within_the_budget() {
    let aws = fake_aws(TokenAnswer::Good);
    let registry = resetting_registry();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("report.json");
    let started = std::time::Instant::now();
    let run = check(
        &aws,
        &registry,
        &["--timeout", "20s", "--output", output.to_str().unwrap()],
    );
    let elapsed = started.elapsed();
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    // The budget: the deadline plus its 30 s grace, never more.
    assert!(elapsed < Duration::from_secs(50), "took {elapsed:?}");
    let report: Value =
        harness::schema::parse(&std::fs::read_to_string(&output).expect("report written"));
    assert_eq!(report["verdict"], "not-verified");
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(ids.contains(&"push/registry-unreachable"), "{ids:?}");
    // The resets are in the trace, retried.
    let trace = report["trace"].as_array().unwrap();
    assert!(
        trace.iter().any(|t| t["error"].as_str().is_some_and(|e| {
            e.contains("reading a body") && e.contains("reset") && e.contains("retried after")
        })),
        "{trace:?}"
    );
}

// ---------------------------------------------------------------------------
// The GitHub API, over plain TCP.

/// A GitHub API answering every request with `200` and a chunked body (no
/// `Content-Length`) that goes on for 512 MiB, then closes; it counts the
/// bytes the client took. A client that buffers answers whole would hold it
/// all and then fail to parse it.
fn endless_github() -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(Mutex::new(0usize));
    let counter = Arc::clone(&sent);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1\r\n[\r\n";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                for _ in 0..(512 * 1024 / 64) {
                    if stream.write_all(chunk.as_bytes()).is_err() {
                        return;
                    }
                    *counter.lock().unwrap() += 64 * 1024;
                }
                let _ = stream.write_all(b"0\r\n\r\n");
            });
        }
    });
    (url, sent)
}

/// The action against a GitHub API whose comment listing never ends: the
/// answer is read up to `limits::GITHUB_BODY` and no further, the comment
/// fails with a warning naming that limit, and the run still ends with the
/// findings' exit code, its report, outputs and job summary.
#[test]
fn an_endless_github_answer_fails_the_comment_naming_the_limit() {
    use ecr_fargate_preflight::limits::{GITHUB_BODY, size};
    let (api, sent) = endless_github();
    let started = std::time::Instant::now();
    let step = harness::runner::run_step(
        &[
            (
                "repository",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
            ),
            (
                "policy-files",
                "examples/policies/aws-documented-push-policy.json",
            ),
            ("offline", "true"),
            ("comment", "always"),
        ],
        &[("GITHUB_API_URL", api.as_str())],
        "pull_request.opened.json",
        |ws| {
            std::fs::create_dir_all(ws.join("examples/policies")).unwrap();
            std::fs::copy(
                harness::runner::root().join("examples/policies/aws-documented-push-policy.json"),
                ws.join("examples/policies/aws-documented-push-policy.json"),
            )
            .unwrap();
        },
    );
    step.assert_no_panic();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    // The comment never changes the exit code: the findings' 1.
    assert_eq!(step.code, 1, "{}\n{}", step.stdout, step.stderr);
    let warning = step
        .lines("::warning title=Pull-request comment::")
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no comment warning: {}", step.stdout))
        .to_string();
    assert!(warning.contains(&size(GITHUB_BODY)), "{warning}");
    assert!(
        warning.contains("listing the pull request's comments"),
        "{warning}"
    );
    assert!(!step.outputs.contains_key("comment-url"));
    assert!(
        step.summary.contains("ecr:GetDownloadUrlForLayer"),
        "{}",
        step.summary
    );
    assert_eq!(step.report()["verdict"], "fail");
    // Reading stopped near the limit: far less than what was on offer.
    let taken = *sent.lock().unwrap();
    assert!(taken < 8 * GITHUB_BODY, "{taken} bytes sent");
}
