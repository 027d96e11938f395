//! GitHub REST API shapes for the tests' local GitHub (wiremock): users and
//! issue comments as GitHub's documented responses have them (octocrab
//! deserializes strictly).

use serde_json::{Value, json};

/// A user object; `kind` is `User` or `Bot`.
pub fn user(login: &str, id: u64, kind: &str) -> Value {
    let u = format!("https://api.github.com/users/{login}");
    json!({
        "login": login, "id": id, "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4", "gravatar_id": "",
        "url": u, "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{u}/followers"),
        "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"),
        "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"),
        "organizations_url": format!("{u}/orgs"), "repos_url": format!("{u}/repos"),
        "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"),
        "type": kind, "user_view_type": "public", "site_admin": false
    })
}

/// The `github-actions[bot]` user, the author of GITHUB_TOKEN's comments.
pub fn bot() -> Value {
    user("github-actions[bot]", 41898282, "Bot")
}

/// A person.
pub fn person() -> Value {
    user("octocat", 1, "User")
}

/// An issue comment as `GET /repos/{owner}/{repo}/issues/{n}/comments` returns it.
pub fn comment(id: u64, body: &str, author: Value) -> Value {
    json!({
        "id": id, "node_id": "IC_kwDOA", "url": format!("https://api.github.com/repos/acme/app/issues/comments/{id}"),
        "html_url": format!("https://github.com/acme/app/pull/42#issuecomment-{id}"),
        "body": body, "user": author,
        "created_at": "2026-11-20T16:00:49Z", "updated_at": "2026-11-20T16:00:49Z",
        "issue_url": "https://api.github.com/repos/acme/app/issues/42",
        "author_association": "NONE",
        "performed_via_github_app": null,
        "reactions": {"url": format!("https://api.github.com/repos/acme/app/issues/comments/{id}/reactions"),
            "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0,
            "heart": 0, "rocket": 0, "eyes": 0}
    })
}
