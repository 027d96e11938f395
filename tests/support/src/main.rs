//! `ecr-gate`: a test-only reverse proxy that adds to real stand-ins what none of them does.
//!
//! It sits in front of Debian's `docker-registry` (the registry data plane) and moto server
//! (STS and the ECR API) and adds, with real ECR's response shapes:
//! - ECR's per-action IAM authorization on the registry API (`/v2/...`), with configurable
//!   denials, throttling, quota, `subject` rejection and tag immutability ([`registry`]);
//! - the 307 redirect of layer reads to a presigned "starport" S3 URL, served by a second
//!   listener that behaves like S3 ([`registry::bucket`]);
//! - IAM denials and `BatchDeleteImage` on the ECR API, and a fake GitHub OIDC token
//!   endpoint ([`aws`]).
//!
//! Its request→action mapping is its own (from the reference notes), so it can serve as the
//! test oracle for the product's mapping.

mod aws;
mod registry;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

/// Command line of `ecr-gate`.
#[derive(Parser, Debug)]
#[command(about = "Test-only ECR authorization gate in front of docker-registry and moto")]
struct Args {
    /// Base URL of the docker-registry stand-in.
    #[arg(long)]
    registry_upstream: String,
    /// Base URL of the moto server.
    #[arg(long)]
    aws_upstream: String,
    /// `USER:PASSWORD` the gate itself uses for its own registry calls.
    #[arg(long)]
    registry_credentials: String,
    /// Address of the main listener (registry, AWS API, OIDC).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Address of the fake S3 bucket listener.
    #[arg(long, default_value = "127.0.0.1:0")]
    bucket_listen: SocketAddr,
    #[arg(long, default_value = "123456789012")]
    account: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The principal that denial messages name.
    #[arg(
        long,
        default_value = "arn:aws:sts::123456789012:assumed-role/pusher/gha"
    )]
    principal: String,
    /// An action to deny (repeatable): `ACTION` everywhere, or
    /// `ACTION@REPOSITORY` on that repository only (as an identity policy
    /// whose statement names one repository ARN).
    #[arg(long)]
    deny: Vec<String>,
    /// Deny every action except these (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',')]
    allow_only: Option<Vec<String>>,
    /// Which policy the denial messages blame.
    #[arg(long, value_enum, default_value_t = DenyReason::Identity)]
    deny_reason: DenyReason,
    /// An action that is always throttled (repeatable).
    #[arg(long)]
    throttle: Vec<String>,
    /// PUT manifest by digest fails with the images-per-repository quota error.
    #[arg(long)]
    image_quota_exceeded: bool,
    /// PUT manifest with a top-level `subject` fails with 405 UNSUPPORTED.
    #[arg(long)]
    reject_subject: bool,
    /// Enables `GET /_github/oidc/token`, which requires `Authorization: Bearer <TOKEN>`.
    #[arg(long)]
    oidc_request_token: Option<String>,
    /// The `sub` claim of the tokens `GET /_github/oidc/token` issues.
    #[arg(long, default_value = "repo:octo-org/octo-repo:ref:refs/heads/main")]
    oidc_sub: String,
    /// STS refuses `AssumeRoleWithWebIdentity` (403 `AccessDenied`, "Not
    /// authorized to perform sts:AssumeRoleWithWebIdentity") unless the
    /// token's `sub` matches one of these patterns (`*` and `?` as in a
    /// trust policy's `StringLike`). moto does not evaluate trust policies.
    #[arg(long = "trust-sub")]
    trust_sub: Vec<String>,
    /// Appends one JSON line per handled request to this file.
    #[arg(long)]
    log: Option<std::path::PathBuf>,
    /// `iam:SimulatePrincipalPolicy` (which moto does not implement) answers
    /// `implicitDeny` for these actions and `allowed` for every other one.
    #[arg(long = "simulate-deny", value_delimiter = ',')]
    simulate_deny: Vec<String>,
    /// `ecr:DescribePullThroughCacheRules` (which moto does not implement)
    /// answers with these repository prefixes (`PREFIX=UPSTREAM_URL`).
    #[arg(long = "pull-through-cache")]
    pull_through_cache: Vec<String>,
    /// A repository creation template with `appliedFor: CREATE_ON_PUSH`
    /// and this prefix (`ROOT`: every name), answered by
    /// `ecr:DescribeRepositoryCreationTemplates` (moto has none). A write
    /// (blob upload, manifest PUT) to a missing repository it covers creates
    /// the repository in moto first, unless `ecr:CreateRepository` is
    /// denied, as ECR's create on push does (AWS's announcement of
    /// 2025-12-19; aws/containers-roadmap#853).
    #[arg(long = "creation-template")]
    creation_template: Vec<String>,
    /// `REPOSITORY=MODE:FILTER,FILTER…`: the repository's tag mutability
    /// with exclusion filters (`IMMUTABLE_WITH_EXCLUSION`,
    /// `MUTABLE_WITH_EXCLUSION`; moto has no filters), in
    /// `DescribeRepositories` and in the registry's tag checks.
    #[arg(long = "tag-exclusion")]
    tag_exclusion: Vec<String>,
    /// The registry's `BLOB_MOUNTING` setting (`ecr:GetAccountSetting`):
    /// `disabled` makes a mount an upload (202), as ECR does by default.
    #[arg(long = "blob-mounting", default_value = "enabled")]
    blob_mounting: String,
    /// `iam:SimulatePrincipalPolicy` itself is denied to the caller.
    #[arg(long)]
    simulate_forbidden: bool,
}

/// The policy a denial message blames, as the suffix of AWS's message.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum DenyReason {
    Identity,
    Resource,
    Explicit,
    Scp,
    Boundary,
    Legacy,
}

/// Shared state of both listeners.
pub struct Gate {
    args: Args,
    /// Normalized (`ecr:` prefixed) action sets.
    deny: HashSet<String>,
    allow_only: Option<HashSet<String>>,
    throttle: HashSet<String>,
    client: reqwest::Client,
    /// `Basic ...` header for the gate's own registry calls.
    registry_auth: String,
    /// `http://host:port` of the main listener and the bucket listener.
    registry_origin: String,
    bucket_origin: String,
    /// Repositories found in moto: name → imageTagMutability. Misses are not cached.
    repos: Mutex<HashMap<String, String>>,
    /// Presigned-URL keys handed out: key → (repository, digest).
    blobs: Mutex<HashMap<String, (String, String)>>,
    log: Option<Mutex<File>>,
}

/// What a handler did, for the response and the request log.
pub struct Outcome {
    response: Response,
    actions: Vec<String>,
    decision: &'static str,
    audience: Option<String>,
}

impl Outcome {
    fn new(response: Response, actions: Vec<String>, decision: &'static str) -> Self {
        Outcome {
            response,
            actions,
            decision,
            audience: None,
        }
    }
}

/// Adds the `ecr:` prefix when an action was given without a service.
fn normalize(action: &str) -> String {
    let action = action.trim();
    if action.contains(':') {
        action.to_string()
    } else {
        format!("ecr:{action}")
    }
}

impl Gate {
    /// Whether `action` is denied on `repository` (`None`: resource `*`).
    fn is_denied_on(&self, action: &str, repository: Option<&str>) -> bool {
        self.is_denied(action)
            || repository.is_some_and(|r| self.deny.contains(&format!("{action}@{r}")))
    }

    fn is_denied(&self, action: &str) -> bool {
        self.deny.contains(action)
            || self
                .allow_only
                .as_ref()
                .is_some_and(|a| !a.contains(action))
    }

    fn is_throttled(&self, action: &str) -> bool {
        self.throttle.contains(action)
    }

    fn repo_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:ecr:{}:{}:repository/{name}",
            self.args.region, self.args.account
        )
    }

    /// AWS's denial message for `action` on `resource`, with the configured reason suffix.
    fn deny_message(&self, action: &str, resource: &str) -> String {
        let base = format!(
            "User: {} is not authorized to perform: {action} on resource: {resource}",
            self.args.principal
        );
        match self.args.deny_reason {
            DenyReason::Identity => {
                format!("{base} because no identity-based policy allows the {action} action")
            }
            DenyReason::Resource => {
                format!("{base} because no resource-based policy allows the {action} action")
            }
            DenyReason::Explicit => {
                format!("{base} with an explicit deny in an identity-based policy")
            }
            DenyReason::Scp => format!(
                "{base} with an explicit deny in a service control policy: arn:aws:organizations::{}:policy/o-exampleorgid/service_control_policy/p-examplescp",
                self.args.account
            ),
            DenyReason::Boundary => {
                format!("{base} because no permissions boundary allows the {action} action")
            }
            DenyReason::Legacy => base,
        }
    }

    /// A request to the registry with the gate's own credentials.
    fn upstream(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!(
            "{}{path}",
            self.args.registry_upstream.trim_end_matches('/')
        );
        self.client
            .request(method, url)
            .header(header::AUTHORIZATION, &self.registry_auth)
    }

    /// The gate's own call of an ECR operation on moto.
    async fn moto_ecr(&self, operation: &str, body: Value) -> Result<reqwest::Response, String> {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/{}/ecr/aws4_request, SignedHeaders=host, Signature=0",
            self.args.region
        );
        self.client
            .post(format!("{}/", self.args.aws_upstream.trim_end_matches('/')))
            .header(
                "X-Amz-Target",
                format!("AmazonEC2ContainerRegistry_V20150921.{operation}"),
            )
            .header(header::CONTENT_TYPE, "application/x-amz-json-1.1")
            .header(header::AUTHORIZATION, auth)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("moto unreachable: {e}"))
    }

    /// Looks a repository up in moto: `Ok(Some(mutability))`, `Ok(None)` when missing.
    async fn repository(&self, name: &str) -> Result<Option<String>, String> {
        if let Some(m) = self.repos.lock().unwrap().get(name) {
            return Ok(Some(m.clone()));
        }
        let resp = self
            .moto_ecr("DescribeRepositories", json!({ "repositoryNames": [name] }))
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            let m = body["repositories"][0]["imageTagMutability"]
                .as_str()
                .unwrap_or("MUTABLE");
            self.repos
                .lock()
                .unwrap()
                .insert(name.to_string(), m.to_string());
            Ok(Some(m.to_string()))
        } else if body["__type"]
            .as_str()
            .is_some_and(|t| t.ends_with("RepositoryNotFoundException"))
        {
            Ok(None)
        } else {
            Err(format!(
                "moto DescribeRepositories answered {status}: {body}"
            ))
        }
    }

    /// The `--tag-exclusion` of `name`: (mode, filters).
    fn tag_exclusion(&self, name: &str) -> Option<(String, Vec<String>)> {
        self.args.tag_exclusion.iter().find_map(|t| {
            let (repo, rest) = t.split_once('=')?;
            let (mode, filters) = rest.split_once(':').unwrap_or((rest, ""));
            (repo == name).then(|| {
                (
                    mode.to_string(),
                    filters
                        .split(',')
                        .filter(|f| !f.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            })
        })
    }

    /// The `--creation-template` prefix that covers `name`, if any.
    fn creation_template_for(&self, name: &str) -> Option<&str> {
        let covers = |p: &&String| {
            p.as_str() == "ROOT" || name == p.as_str() || name.starts_with(&format!("{p}/"))
        };
        self.args
            .creation_template
            .iter()
            .find(covers)
            .map(String::as_str)
    }

    /// Creates `name` in moto (create on push).
    async fn create_in_moto(&self, name: &str) -> Result<(), String> {
        let resp = self
            .moto_ecr("CreateRepository", json!({ "repositoryName": name }))
            .await?;
        self.forget_repos(Some(name));
        resp.status()
            .is_success()
            .then_some(())
            .ok_or_else(|| format!("moto CreateRepository answered {}", resp.status()))
    }

    /// Forgets cached repositories (after a change in moto that may affect them).
    fn forget_repos(&self, name: Option<&str>) {
        let mut repos = self.repos.lock().unwrap();
        match name {
            Some(n) => drop(repos.remove(n)),
            None => repos.clear(),
        }
    }

    /// One line per request. `start_us` and `end_us` (microseconds since the
    /// Unix epoch) are when the request arrived and when its answer was
    /// ready: a client's sequential round trips are the longest chain of
    /// requests each arriving after the one before it was answered.
    fn write_log(
        &self,
        listener: &str,
        method: &Method,
        path: &str,
        outcome: &Outcome,
        start_us: u128,
    ) {
        let Some(log) = &self.log else { return };
        let mut line = json!({
            "listener": listener,
            "method": method.as_str(),
            "path": path,
            "actions": outcome.actions,
            "decision": outcome.decision,
            "status": outcome.response.status().as_u16(),
            "start_us": start_us,
            "end_us": now_us(),
        });
        if let Some(aud) = &outcome.audience {
            line["audience"] = json!(aud);
        }
        let mut file = log.lock().unwrap();
        let _ = writeln!(file, "{line}").and_then(|()| file.flush());
    }
}

/// Microseconds since the Unix epoch, for the request log.
fn now_us() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

/// Builds a response; `headers` are added in order.
fn respond(status: StatusCode, headers: &[(&str, &str)], body: impl Into<Body>) -> Response {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).expect("valid response")
}

/// Headers that describe one connection, not the message; never forwarded.
fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "proxy-connection"
    )
}

/// Where a client request is forwarded to.
#[derive(Clone, Copy, PartialEq)]
enum Upstream {
    /// docker-registry: `Host` is dropped and absolute `Location`s are pointed back at the gate.
    Registry,
    /// moto: everything is kept, `Host` included (SigV4 signs it).
    Aws,
}

/// Sends a client request upstream unchanged and returns the upstream response.
async fn forward(
    gate: &Gate,
    to: Upstream,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let base = match to {
        Upstream::Registry => &gate.args.registry_upstream,
        Upstream::Aws => &gate.args.aws_upstream,
    };
    let url = format!("{}{path_and_query}", base.trim_end_matches('/'));
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        let n = name.as_str();
        if !(is_hop_by_hop(n) || n == "content-length" || (n == "host" && to == Upstream::Registry))
        {
            out.append(name.clone(), value.clone());
        }
    }
    let request = gate
        .client
        .request(method.clone(), url)
        .headers(out)
        .body(body);
    let resp = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            return respond(
                StatusCode::BAD_GATEWAY,
                &[],
                format!("ecr-gate: upstream: {e}\n"),
            );
        }
    };
    let mut builder = Response::builder().status(resp.status());
    for (name, value) in resp.headers() {
        match value.to_str() {
            _ if is_hop_by_hop(name.as_str()) => {}
            Ok(loc) if name == header::LOCATION && to == Upstream::Registry => {
                builder = builder.header(name, rewrite_location(loc, base, &gate.registry_origin));
            }
            _ => builder = builder.header(name, value),
        }
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    // On HEAD, upstream's Content-Length is kept: axum and hyper leave an explicit one alone.
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    builder.body(body).expect("valid response")
}

/// Points an absolute `Location` on the upstream registry at the gate; others are unchanged.
fn rewrite_location(loc: &str, upstream: &str, gate_origin: &str) -> String {
    let (Ok(url), Ok(up)) = (reqwest::Url::parse(loc), reqwest::Url::parse(upstream)) else {
        return loc.to_string(); // relative
    };
    if url.origin() != up.origin() {
        return loc.to_string();
    }
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("{gate_origin}{}{query}", url.path())
}

/// Handler of the main listener: registry API, OIDC token endpoint, or AWS API.
async fn main_listener(State(gate): State<Arc<Gate>>, req: Request) -> Response {
    let start_us = now_us();
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let (listener, outcome) = if let Some(route) = registry::Route::parse(parts.uri.path()) {
        (
            "registry",
            registry::handle(&gate, route, &parts, body).await,
        )
    } else if parts.uri.path() == "/_github/oidc/token" && gate.args.oidc_request_token.is_some() {
        ("oidc", aws::oidc_token(&gate, &parts))
    } else {
        ("api", aws::handle(&gate, &parts, body).await)
    };
    gate.write_log(listener, &parts.method, &path, &outcome, start_us);
    outcome.response
}

/// Handler of the bucket listener.
async fn bucket_listener(State(gate): State<Arc<Gate>>, req: Request) -> Response {
    let start_us = now_us();
    let (parts, _) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let outcome = registry::bucket(&gate, &parts).await;
    gate.write_log("bucket", &parts.method, &path, &outcome, start_us);
    outcome.response
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let main_socket = tokio::net::TcpListener::bind(args.listen).await?;
    let bucket_socket = tokio::net::TcpListener::bind(args.bucket_listen).await?;
    let registry_origin = format!("http://{}", main_socket.local_addr()?);
    let bucket_origin = format!("http://{}", bucket_socket.local_addr()?);
    let log = match &args.log {
        Some(p) => Some(Mutex::new(
            File::options().create(true).append(true).open(p)?,
        )),
        None => None,
    };
    let gate = Arc::new(Gate {
        deny: args.deny.iter().map(|a| normalize(a)).collect(),
        allow_only: args.allow_only.as_ref().map(|v| {
            v.iter()
                .filter(|a| !a.trim().is_empty())
                .map(|a| normalize(a))
                .collect()
        }),
        throttle: args.throttle.iter().map(|a| normalize(a)).collect(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()?,
        registry_auth: format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(&args.registry_credentials)
        ),
        registry_origin: registry_origin.clone(),
        bucket_origin: bucket_origin.clone(),
        repos: Mutex::default(),
        blobs: Mutex::default(),
        log,
        args,
    });
    let main_app = Router::new()
        .fallback(main_listener)
        .with_state(gate.clone());
    let bucket_app = Router::new().fallback(bucket_listener).with_state(gate);
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "READY registry={registry_origin} bucket={bucket_origin}"
    )?;
    stdout.flush()?;
    tokio::try_join!(
        axum::serve(main_socket, main_app),
        axum::serve(bucket_socket, bucket_app)
    )?;
    Ok(())
}

/// Parses one query parameter (percent-decoded) out of a raw query string.
fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    let url = reqwest::Url::parse(&format!("http://q/?{}", query?)).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}
