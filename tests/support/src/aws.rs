//! The AWS API side (forwarded to moto, with ECR IAM denials, throttling and a
//! registry-backed `BatchDeleteImage`) and the fake GitHub OIDC token endpoint.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{Method, StatusCode, header, request::Parts};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::registry::{MANIFEST_ACCEPT, manifest_digest};
use crate::{Gate, Outcome, Upstream, forward, query_param, respond};

const ECR_TARGET_PREFIX: &str = "AmazonEC2ContainerRegistry_V20150921.";

/// An awsJson 1.1 error, as the ECR API sends it.
fn aws_error(kind: &str, message: &str) -> Response {
    let body = json!({ "__type": kind, "message": message }).to_string();
    let request_id = uuid::Uuid::new_v4().to_string();
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amzn-errortype", kind),
        ("x-amzn-requestid", request_id.as_str()),
    ];
    respond(StatusCode::BAD_REQUEST, &headers, body)
}

/// Handles a non-registry request on the main listener.
pub async fn handle(gate: &Gate, parts: &Parts, body: Bytes) -> Outcome {
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut actions = vec![];
    if let Some(op) = target.strip_prefix(ECR_TARGET_PREFIX) {
        let action = format!("ecr:{op}");
        actions.push(action.clone());
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let repo = request["repositoryName"]
            .as_str()
            .or_else(|| request["repositoryNames"][0].as_str());
        if gate.is_throttled(&action) {
            return Outcome::new(
                aws_error("ThrottlingException", "Rate exceeded"),
                actions,
                "throttle",
            );
        }
        if gate.is_denied_on(&action, repo) {
            let resource = match repo {
                Some(r) if op != "GetAuthorizationToken" => gate.repo_arn(r),
                _ => "*".to_string(),
            };
            let resp = aws_error(
                "AccessDeniedException",
                &gate.deny_message(&action, &resource),
            );
            return Outcome::new(resp, actions, "deny");
        }
        match op {
            "BatchDeleteImage" => return batch_delete_image(gate, &request, actions).await,
            "DescribePullThroughCacheRules" => {
                let rules: Vec<Value> = gate
                    .args
                    .pull_through_cache
                    .iter()
                    .map(|r| {
                        let (prefix, upstream) = r.split_once('=').unwrap_or((r, "registry-1.docker.io"));
                        json!({"ecrRepositoryPrefix": prefix, "upstreamRegistryUrl": upstream, "registryId": gate.args.account})
                    })
                    .collect();
                let body = json!({ "pullThroughCacheRules": rules }).to_string();
                let resp = respond(
                    StatusCode::OK,
                    &[("content-type", "application/x-amz-json-1.1")],
                    body,
                );
                return Outcome::new(resp, actions, "allow");
            }
            "DescribeRepositoryCreationTemplates" => {
                let templates: Vec<Value> = gate
                    .args
                    .creation_template
                    .iter()
                    .map(|prefix| json!({"prefix": prefix, "appliedFor": ["CREATE_ON_PUSH"], "imageTagMutability": "IMMUTABLE"}))
                    .collect();
                let body = json!({ "registryId": gate.args.account, "repositoryCreationTemplates": templates }).to_string();
                let resp = respond(
                    StatusCode::OK,
                    &[("content-type", "application/x-amz-json-1.1")],
                    body,
                );
                return Outcome::new(resp, actions, "allow");
            }
            "GetAccountSetting" => {
                let value = gate.args.blob_mounting.to_ascii_uppercase();
                let body = json!({ "name": request["name"], "value": value }).to_string();
                let resp = respond(
                    StatusCode::OK,
                    &[("content-type", "application/x-amz-json-1.1")],
                    body,
                );
                return Outcome::new(resp, actions, "allow");
            }
            "DescribeRepositories" => {
                if let Some((mode, filters)) = repo.and_then(|r| gate.tag_exclusion(r)) {
                    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                    let upstream = forward(
                        gate,
                        Upstream::Aws,
                        &parts.method,
                        path,
                        &parts.headers,
                        body.clone(),
                    )
                    .await;
                    let status = upstream.status();
                    let bytes = axum::body::to_bytes(upstream.into_body(), 1 << 20)
                        .await
                        .unwrap_or_default();
                    let mut answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    if let Some(r) = answer["repositories"].get_mut(0) {
                        r["imageTagMutability"] = json!(mode);
                        r["imageTagMutabilityExclusionFilters"] = filters
                            .iter()
                            .map(|f| json!({"filterType": "WILDCARD", "filter": f}))
                            .collect();
                    }
                    let resp = respond(
                        status,
                        &[("content-type", "application/x-amz-json-1.1")],
                        answer.to_string(),
                    );
                    return Outcome::new(resp, actions, "allow");
                }
            }
            "DeleteRepository" | "PutImageTagMutability" => gate.forget_repos(repo),
            _ => {}
        }
    }
    // ECS (awsJson) and EC2 (query) describe calls: denied only when named with --deny.
    if let Some(op) = target.strip_prefix("AmazonEC2ContainerServiceV20141113.") {
        let action = format!("ecs:{op}");
        if gate.deny.contains(&action) {
            let resp = aws_error("AccessDeniedException", &gate.deny_message(&action, "*"));
            return Outcome::new(resp, vec![action], "deny");
        }
    }
    let scope_service = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("");
    if target.is_empty()
        && scope_service == "ec2"
        && let Some(op) = form_param(&body, "Action")
    {
        let action = format!("ec2:{op}");
        if gate.deny.contains(&action) {
            let message = format!(
                "You are not authorized to perform this operation. {}",
                gate.deny_message(&action, "*")
            );
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>{message}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
                uuid::Uuid::new_v4()
            );
            let resp = respond(
                StatusCode::FORBIDDEN,
                &[("content-type", "text/xml;charset=UTF-8")],
                xml,
            );
            return Outcome::new(resp, vec![action], "deny");
        }
    }
    if target.is_empty()
        && !gate.args.trust_sub.is_empty()
        && form_param(&body, "Action").as_deref() == Some("AssumeRoleWithWebIdentity")
        && let Some(refused) = trust_refuses(gate, &body)
    {
        return refused;
    }
    if target.is_empty()
        && form_param(&body, "Action").as_deref() == Some("SimulatePrincipalPolicy")
    {
        return simulate_principal_policy(gate, &body);
    }
    if parts.uri.path().starts_with("/moto-api/reset") {
        gate.forget_repos(None);
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let resp = forward(
        gate,
        Upstream::Aws,
        &parts.method,
        path,
        &parts.headers,
        body,
    )
    .await;
    Outcome::new(resp, actions, "allow")
}

/// STS's answer when the role's trust policy (modelled as `--trust-sub`
/// patterns on the token's `sub`) does not admit the token; `None` when it does.
fn trust_refuses(gate: &Gate, body: &Bytes) -> Option<Outcome> {
    let token = form_param(body, "WebIdentityToken").unwrap_or_default();
    let sub = token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|claims| claims["sub"].as_str().map(str::to_string))
        .unwrap_or_default();
    if gate
        .args
        .trust_sub
        .iter()
        .any(|pattern| glob(pattern, &sub))
    {
        return None;
    }
    let xml = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        uuid::Uuid::new_v4()
    );
    let resp = respond(StatusCode::FORBIDDEN, &[("content-type", "text/xml")], xml);
    Some(Outcome::new(
        resp,
        vec!["sts:AssumeRoleWithWebIdentity".to_string()],
        "deny",
    ))
}

/// `StringLike` matching: `*` any run of characters, `?` any one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// `BatchDeleteImage` over the registry, which (not moto) holds the images.
async fn batch_delete_image(gate: &Gate, request: &Value, actions: Vec<String>) -> Outcome {
    let name = request["repositoryName"].as_str().unwrap_or_default();
    match gate.repository(name).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let msg = format!(
                "The repository with name '{name}' does not exist in the registry with id '{}'",
                gate.args.account
            );
            return Outcome::new(
                aws_error("RepositoryNotFoundException", &msg),
                actions,
                "not-found",
            );
        }
        Err(e) => return Outcome::new(aws_error("ServerException", &e), actions, "upstream-error"),
    }
    let (mut deleted, mut failures) = (vec![], vec![]);
    for id in request["imageIds"].as_array().into_iter().flatten() {
        let reference = id["imageDigest"]
            .as_str()
            .or(id["imageTag"].as_str())
            .unwrap_or_default();
        let digest = match reference {
            "" => None,
            r => manifest_digest(gate, name, r).await,
        };
        let Some(digest) = digest else {
            failures.push(json!({
                "imageId": id,
                "failureCode": "ImageNotFound",
                "failureReason": "Requested image not found",
            }));
            continue;
        };
        let tags = match id["imageTag"].as_str() {
            Some(tag) => vec![tag.to_string()],
            None => tags_of(gate, name, &digest).await,
        };
        let resp = gate
            .upstream(Method::DELETE, &format!("/v2/{name}/manifests/{digest}"))
            .send()
            .await;
        if !resp.is_ok_and(|r| r.status().is_success()) {
            failures.push(json!({ "imageId": id, "failureCode": "UnknownError", "failureReason": "Registry refused the deletion" }));
        } else if tags.is_empty() {
            deleted.push(json!({ "imageDigest": digest }));
        } else {
            deleted.extend(
                tags.iter()
                    .map(|t| json!({ "imageDigest": digest, "imageTag": t })),
            );
        }
    }
    let body = json!({ "imageIds": deleted, "failures": failures }).to_string();
    let resp = respond(
        StatusCode::OK,
        &[("content-type", "application/x-amz-json-1.1")],
        body,
    );
    Outcome::new(resp, actions, "allow")
}

/// The tags of `name` that currently point at `digest`.
async fn tags_of(gate: &Gate, name: &str, digest: &str) -> Vec<String> {
    let listed = gate
        .upstream(Method::GET, &format!("/v2/{name}/tags/list"))
        .send()
        .await;
    let Ok(list) = listed else { return vec![] };
    let list: Value = list.json().await.unwrap_or(Value::Null);
    let mut tags = vec![];
    for tag in list["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let head = gate.upstream(Method::HEAD, &format!("/v2/{name}/manifests/{tag}"));
        let Ok(r) = head.header(header::ACCEPT, MANIFEST_ACCEPT).send().await else {
            continue;
        };
        if r.headers()
            .get("docker-content-digest")
            .is_some_and(|d| d == digest)
        {
            tags.push(tag.to_string());
        }
    }
    tags
}

/// `GET /_github/oidc/token?api-version=2.0&audience=<aud>`: GitHub's OIDC token endpoint.
pub fn oidc_token(gate: &Gate, parts: &Parts) -> Outcome {
    let audience = query_param(parts.uri.query(), "audience");
    let expected = format!(
        "Bearer {}",
        gate.args.oidc_request_token.as_deref().unwrap_or_default()
    );
    let authorized = parts
        .headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == expected.as_str());
    let json_type = [("content-type", "application/json; charset=utf-8")];
    let (response, decision) = if !authorized {
        (
            respond(
                StatusCode::UNAUTHORIZED,
                &json_type,
                r#"{"message":"Bad credentials"}"#,
            ),
            "unauthenticated",
        )
    } else if parts.method != Method::GET {
        (
            respond(StatusCode::METHOD_NOT_ALLOWED, &[], ""),
            "unsupported",
        )
    } else {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aud = audience
            .clone()
            .unwrap_or_else(|| "https://github.com/octo-org".to_string());
        let claims = json!({
            "iss": "https://token.actions.githubusercontent.com",
            "aud": aud,
            "sub": gate.args.oidc_sub,
            "exp": now + 300,
            "iat": now,
        });
        let part = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.{}",
            part(r#"{"alg":"RS256","typ":"JWT","kid":"test"}"#),
            part(&claims.to_string()),
            part("fake-signature")
        );
        (
            respond(
                StatusCode::OK,
                &json_type,
                json!({ "value": jwt }).to_string(),
            ),
            "allow",
        )
    };
    Outcome {
        response,
        actions: vec![],
        decision,
        audience,
    }
}

/// One value of a form-encoded (AWS query protocol) body.
fn form_param(body: &[u8], name: &str) -> Option<String> {
    form_params(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn form_params(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// `iam:SimulatePrincipalPolicy`, in IAM's XML shapes: `allowed` unless the
/// action is in `--simulate-deny`; 403 `AccessDenied` with `--simulate-forbidden`.
fn simulate_principal_policy(gate: &Gate, body: &[u8]) -> Outcome {
    let actions = vec!["iam:SimulatePrincipalPolicy".to_string()];
    let request_id = uuid::Uuid::new_v4();
    let role = form_param(body, "PolicySourceArn").unwrap_or_default();
    if gate.args.simulate_forbidden {
        let xml = format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: {} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: {role} because no identity-based policy allows the iam:SimulatePrincipalPolicy action</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            gate.args.principal
        );
        return Outcome::new(
            respond(StatusCode::FORBIDDEN, &[("content-type", "text/xml")], xml),
            actions,
            "deny",
        );
    }
    let members: String = form_params(body)
        .into_iter()
        .filter(|(k, _)| k.starts_with("ActionNames.member."))
        .map(|(_, action)| {
            let denied = gate.args.simulate_deny.iter().any(|d| d.eq_ignore_ascii_case(&action));
            let decision = if denied { "implicitDeny" } else { "allowed" };
            format!(
                "<member><EvalActionName>{action}</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>{decision}</EvalDecision><MatchedStatements/><MissingContextValues/></member>"
            )
        })
        .collect();
    let xml = format!(
        "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>{members}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>"
    );
    Outcome::new(
        respond(StatusCode::OK, &[("content-type", "text/xml")], xml),
        actions,
        "allow",
    )
}
