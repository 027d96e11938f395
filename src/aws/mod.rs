//! Everything that talks to AWS APIs through the SDK.

pub mod credentials;
pub mod repository;

/// An error and its sources as one line of text (`Display` only: the SDK's
/// `Debug` output repeats everything and is no help to a user).
pub fn describe_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}
