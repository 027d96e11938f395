//! The registry API (`/v2/...`) with ECR's per-action authorization, and the fake
//! presigned-URL S3 bucket that layer reads are redirected to.

use axum::body::Bytes;
use axum::http::{Method, StatusCode, header, request::Parts};
use axum::response::Response;
use serde_json::{Value, json};

use crate::{Gate, Outcome, Upstream, forward, query_param, respond};

/// Every manifest media type, for the gate's own manifest look-ups.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// A parsed registry path. `name` may contain slashes.
#[derive(Debug)]
pub enum Route<'a> {
    /// `/v2/`
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/tags/list`
    Tags(&'a str),
    /// `/v2/<name>/blobs/<digest>`
    Blob(&'a str, &'a str),
    /// `/v2/<name>/blobs/uploads/<uuid>`; the uuid is empty for the initiating POST.
    Upload(&'a str, &'a str),
    /// `/v2/<name>/manifests/<reference>`
    Manifest(&'a str, &'a str),
    /// Anything else under `/v2/` (e.g. referrers): passed through, no action.
    Other,
}

impl<'a> Route<'a> {
    /// Parses `path`; `None` when it is not a registry path.
    pub fn parse(path: &'a str) -> Option<Self> {
        let rest = path.strip_prefix("/v2")?;
        if rest.is_empty() || rest == "/" {
            return Some(Route::Base);
        }
        let rest = rest.strip_prefix('/')?;
        Some(if rest == "_catalog" {
            Route::Catalog
        } else if let Some(name) = rest.strip_suffix("/tags/list") {
            Route::Tags(name)
        } else if let Some(i) = rest.rfind("/blobs/uploads") {
            Route::Upload(
                &rest[..i],
                rest[i + "/blobs/uploads".len()..].trim_start_matches('/'),
            )
        } else if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
            Route::Manifest(name, reference)
        } else if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
            Route::Blob(name, digest)
        } else {
            Route::Other
        })
    }

    /// The repository the request is about, if any.
    fn name(&self) -> Option<&'a str> {
        match *self {
            Route::Tags(n) | Route::Blob(n, _) | Route::Upload(n, _) | Route::Manifest(n, _) => {
                Some(n)
            }
            Route::Base | Route::Catalog | Route::Other => None,
        }
    }
}

/// The IAM actions a request needs, in the order ECR checks them, each with the repository
/// it is checked on (`None`: resource `*`). This is the gate's own oracle.
fn actions(
    method: &Method,
    route: &Route,
    query: Option<&str>,
    body: &Bytes,
) -> Vec<(&'static str, Option<String>)> {
    let on = |name: &str| Some(name.to_string());
    match (route, method.as_str()) {
        (Route::Blob(n, _), "HEAD") => vec![("ecr:BatchCheckLayerAvailability", on(n))],
        (Route::Blob(n, _), "GET") => vec![("ecr:GetDownloadUrlForLayer", on(n))],
        (Route::Upload(n, ""), "POST") => {
            let mut v = vec![("ecr:InitiateLayerUpload", on(n))];
            if let (Some(_), Some(from)) = (query_param(query, "mount"), query_param(query, "from"))
            {
                v.push(("ecr:GetDownloadUrlForLayer", Some(from)));
            }
            v
        }
        (Route::Upload(n, _), "PATCH") => vec![("ecr:UploadLayerPart", on(n))],
        (Route::Upload(n, _), "PUT") if body.is_empty() => vec![("ecr:CompleteLayerUpload", on(n))],
        (Route::Upload(n, _), "PUT") => vec![
            ("ecr:UploadLayerPart", on(n)),
            ("ecr:CompleteLayerUpload", on(n)),
        ],
        (Route::Manifest(n, _), "HEAD" | "GET") => vec![("ecr:BatchGetImage", on(n))],
        (Route::Manifest(n, _), "PUT") => vec![("ecr:PutImage", on(n))],
        (Route::Manifest(n, _), "DELETE") => vec![("ecr:BatchDeleteImage", on(n))],
        (Route::Tags(n), "GET") => vec![("ecr:ListImages", on(n))],
        (Route::Catalog, "GET") => vec![("ecr:DescribeRepositories", None)],
        _ => vec![],
    }
}

/// A registry error response: `{"errors":[{code,message}]}`, or no body at all on HEAD.
fn registry_error(head: bool, status: StatusCode, code: &str, message: &str) -> Response {
    if head {
        return respond(status, &[("content-length", "0")], "");
    }
    let body = json!({ "errors": [{ "code": code, "message": message }] }).to_string();
    respond(
        status,
        &[("content-type", "application/json; charset=utf-8")],
        body,
    )
}

/// Handles one registry request: authentication, throttling, IAM, repository existence,
/// ECR's special rules, layer-read redirect, then the docker-registry itself.
pub async fn handle(gate: &Gate, route: Route<'_>, parts: &Parts, body: Bytes) -> Outcome {
    let method = &parts.method;
    let head = method == Method::HEAD;
    let checks = actions(method, &route, parts.uri.query(), &body);
    let names: Vec<String> = checks.iter().map(|(a, _)| a.to_string()).collect();
    let fail = |status, code, message: &str, decision| {
        Outcome::new(
            registry_error(head, status, code, message),
            names.clone(),
            decision,
        )
    };

    if !parts.headers.contains_key(header::AUTHORIZATION) {
        let (acct, region) = (&gate.args.account, &gate.args.region);
        let challenge = format!(
            "Basic realm=\"https://{acct}.dkr.ecr.{region}.amazonaws.com/\",service=\"ecr.amazonaws.com\""
        );
        let mut resp = registry_error(head, StatusCode::UNAUTHORIZED, "DENIED", "Not Authorized");
        let challenge = challenge.parse().expect("valid header value");
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
        return Outcome::new(resp, names, "unauthenticated");
    }
    if checks.iter().any(|(a, _)| gate.is_throttled(a)) {
        return fail(
            StatusCode::TOO_MANY_REQUESTS,
            "TOOMANYREQUESTS",
            "Rate exceeded",
            "throttle",
        );
    }
    if let Some((action, repo)) = checks
        .iter()
        .find(|(a, r)| gate.is_denied_on(a, r.as_deref()))
    {
        let resource = repo
            .as_deref()
            .map_or("*".to_string(), |r| gate.repo_arn(r));
        return fail(
            StatusCode::FORBIDDEN,
            "DENIED",
            &gate.deny_message(action, &resource),
            "deny",
        );
    }
    let mut mutability = String::new();
    if let Some(name) = route.name() {
        match gate.repository(name).await {
            Ok(Some(m)) => mutability = m,
            Ok(None)
                if is_write(method, &route)
                    && let Some(prefix) = gate.creation_template_for(name) =>
            {
                // Create on push: the template creates the repository first.
                if gate.is_denied_on("ecr:CreateRepository", Some(name)) {
                    let resource = gate.repo_arn(name);
                    let msg = gate.deny_message("ecr:CreateRepository", &resource);
                    return fail(StatusCode::FORBIDDEN, "DENIED", &msg, "deny");
                }
                if let Err(e) = gate.create_in_moto(name).await {
                    return fail(StatusCode::BAD_GATEWAY, "UNKNOWN", &e, "upstream-error");
                }
                tracing_note(&format!("created {name} on push (template {prefix})"));
                mutability = "MUTABLE".into();
            }
            Ok(None) => {
                let msg = format!(
                    "The repository with name '{name}' does not exist in the registry with id '{}'",
                    gate.args.account
                );
                return fail(StatusCode::NOT_FOUND, "NAME_UNKNOWN", &msg, "not-found");
            }
            Err(e) => return fail(StatusCode::BAD_GATEWAY, "UNKNOWN", &e, "upstream-error"),
        }
    }
    if let (Route::Manifest(name, reference), "PUT") = (&route, method.as_str()) {
        let by_digest = reference.starts_with("sha256:");
        if gate.args.image_quota_exceeded && by_digest {
            let msg = "The operation did not succeed because it would have exceeded a service limit for your account.";
            return fail(StatusCode::FORBIDDEN, "DENIED", msg, "quota");
        }
        // ECR takes an index only of manifests: BuildKit's default cache
        // export lists layers and its cache configuration as children
        // (moby/buildkit#1143: "Image index child manifest not supported").
        let index: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let not_a_manifest = index["manifests"].as_array().and_then(|children| {
            children.iter().find_map(|c| {
                let t = c["mediaType"].as_str().unwrap_or("");
                (!t.contains("manifest")).then(|| t.to_string())
            })
        });
        if let Some(child) = not_a_manifest {
            let msg = format!("Image index child manifest not supported: {child}");
            return fail(
                StatusCode::BAD_REQUEST,
                "MANIFEST_INVALID",
                &msg,
                "unsupported",
            );
        }
        let has_subject =
            serde_json::from_slice::<Value>(&body).is_ok_and(|v| v.get("subject").is_some());
        if gate.args.reject_subject && has_subject {
            return fail(
                StatusCode::METHOD_NOT_ALLOWED,
                "UNSUPPORTED",
                "The operation is unsupported.",
                "unsupported",
            );
        }
        let immutable = match gate.tag_exclusion(name) {
            Some((mode, filters)) => {
                let excluded = filters.iter().any(|f| wildcard(f, reference));
                match mode.as_str() {
                    "IMMUTABLE_WITH_EXCLUSION" => !excluded,
                    "MUTABLE_WITH_EXCLUSION" => excluded,
                    other => other == "IMMUTABLE",
                }
            }
            None => mutability == "IMMUTABLE",
        };
        if !by_digest && immutable && manifest_digest(gate, name, reference).await.is_some() {
            let msg = format!(
                "The image tag '{reference}' already exists in the '{name}' repository and cannot be overwritten because the repository is immutable."
            );
            return fail(StatusCode::BAD_REQUEST, "TAG_INVALID", &msg, "tag-invalid");
        }
    }
    if let (Route::Blob(name, digest), "GET") = (&route, method.as_str()) {
        let path = format!("/v2/{name}/blobs/{digest}");
        let probe = forward(
            gate,
            Upstream::Registry,
            &Method::HEAD,
            &path,
            &parts.headers,
            Bytes::new(),
        );
        let exists = probe.await.status() == StatusCode::OK;
        if exists {
            return Outcome::new(redirect_to_bucket(gate, name, digest), names, "redirect");
        }
    }
    let mut path = parts
        .uri
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    if let (Route::Upload(_, ""), "POST") = (&route, method.as_str())
        && gate.args.blob_mounting.eq_ignore_ascii_case("disabled")
        && query_param(parts.uri.query(), "mount").is_some()
    {
        // BLOB_MOUNTING off: ECR answers a mount with an upload (202).
        path = parts.uri.path().to_string();
    }
    let resp = forward(
        gate,
        Upstream::Registry,
        method,
        &path,
        &parts.headers,
        body,
    )
    .await;
    Outcome::new(resp, names, "allow")
}

/// A request that writes to the repository (what create on push reacts to).
fn is_write(method: &Method, route: &Route) -> bool {
    matches!(
        (route, method.as_str()),
        (Route::Upload(..), "POST" | "PUT" | "PATCH") | (Route::Manifest(..), "PUT")
    )
}

/// ECR's `WILDCARD` exclusion filter: `*` matches any run of characters.
fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len()).any(|i| {
                    text.is_char_boundary(head.len() + i) && wildcard(rest, &text[head.len() + i..])
                })
        }
    }
}

fn tracing_note(note: &str) {
    eprintln!("ecr-gate: {note}");
}

/// The digest a manifest reference resolves to upstream, if it exists.
pub async fn manifest_digest(gate: &Gate, name: &str, reference: &str) -> Option<String> {
    let resp = gate
        .upstream(Method::HEAD, &format!("/v2/{name}/manifests/{reference}"))
        .header(header::ACCEPT, MANIFEST_ACCEPT)
        .send()
        .await
        .ok()?;
    if resp.status() != StatusCode::OK {
        return None;
    }
    let digest = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok());
    Some(digest.unwrap_or(reference).to_string())
}

/// The 307 to a fake presigned S3 URL that real ECR answers a layer read with.
fn redirect_to_bucket(gate: &Gate, name: &str, digest: &str) -> Response {
    let key = uuid::Uuid::new_v4().simple().to_string();
    let signature = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    gate.blobs
        .lock()
        .unwrap()
        .insert(key.clone(), (name.to_string(), digest.to_string()));
    let location = format!(
        "{}/prod-{}-starport-layer-bucket/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={signature}",
        gate.bucket_origin, gate.args.region
    );
    respond(
        StatusCode::TEMPORARY_REDIRECT,
        &[("location", &location), ("content-length", "0")],
        "",
    )
}

/// An S3 XML error.
fn s3_error(status: StatusCode, code: &str, message: &str, extra: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message>{extra}</Error>"
    );
    respond(status, &[("content-type", "application/xml")], body)
}

/// The bucket listener: serves the presigned URLs handed out by [`redirect_to_bucket`],
/// rejecting, as S3 does, a request that also carries an `Authorization` header.
pub async fn bucket(gate: &Gate, parts: &Parts) -> Outcome {
    let out = |resp, decision| Outcome::new(resp, vec![], decision);
    if parts.headers.contains_key(header::AUTHORIZATION) {
        let msg = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified";
        let resp = s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            msg,
            "<ArgumentName>Authorization</ArgumentName>",
        );
        return out(resp, "invalid-argument");
    }
    let prefix = format!("/prod-{}-starport-layer-bucket/", gate.args.region);
    let key = parts.uri.path().strip_prefix(&prefix).unwrap_or_default();
    let presigned = query_param(parts.uri.query(), "X-Amz-Algorithm").is_some();
    let entry = gate.blobs.lock().unwrap().get(key).cloned();
    let Some((name, digest)) = entry.filter(|_| presigned && parts.method == Method::GET) else {
        return out(
            s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied", ""),
            "deny",
        );
    };
    let fetched = gate
        .upstream(Method::GET, &format!("/v2/{name}/blobs/{digest}"))
        .send()
        .await;
    match fetched {
        Ok(r) if r.status() == StatusCode::OK => match r.bytes().await {
            Ok(bytes) => {
                let len = bytes.len().to_string();
                let headers = [
                    ("content-type", "application/octet-stream"),
                    ("content-length", len.as_str()),
                ];
                out(respond(StatusCode::OK, &headers, bytes), "allow")
            }
            Err(e) => out(
                respond(StatusCode::BAD_GATEWAY, &[], e.to_string()),
                "upstream-error",
            ),
        },
        _ => out(
            s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
                "",
            ),
            "not-found",
        ),
    }
}
