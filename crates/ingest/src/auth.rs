//! Who may post: a request is accepted only when it presents one of the
//! configured secrets. Secrets and candidates are compared as SHA-256
//! digests in constant time, so neither content nor length leaks through
//! timing, and every configured secret is checked (no early exit).

use lambda_http::http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

pub struct Authenticator {
    secrets: Vec<[u8; 32]>,
    allow_unauthenticated: bool,
}

/// Where a request may carry its token.
#[derive(Debug, Default)]
pub struct Presented<'a> {
    pub query_token: Option<&'a str>,
    pub headers: Option<&'a HeaderMap>,
}

/// The body of a request that passed authentication. Made only by
/// [`Authenticator::verify`], so the compiler keeps docs/design.md's order:
/// authenticate first, then read.
#[derive(Debug, Clone, Copy)]
pub struct Verified<'r> {
    body: &'r [u8],
}

impl<'r> Verified<'r> {
    pub fn body(&self) -> &'r [u8] {
        self.body
    }
}

impl Authenticator {
    pub fn new(tokens: &[String], allow_unauthenticated: bool) -> Self {
        Authenticator {
            secrets: tokens.iter().map(|t| digest(t.as_bytes())).collect(),
            allow_unauthenticated,
        }
    }

    /// True when no secret is configured and unauthenticated access was not
    /// explicitly allowed: every request is refused.
    pub fn refuses_everyone(&self) -> bool {
        self.secrets.is_empty() && !self.allow_unauthenticated
    }

    /// The request's body, once the request presents a configured secret;
    /// only a [`Verified`] body can be normalized, stored or kept.
    pub fn verify<'r>(&self, presented: &Presented<'_>, body: &'r [u8]) -> Option<Verified<'r>> {
        self.accepts(presented).then_some(Verified { body })
    }

    pub fn accepts(&self, presented: &Presented<'_>) -> bool {
        if self.secrets.is_empty() {
            return self.allow_unauthenticated;
        }
        let mut accepted = Choice::from(0);
        for candidate in candidates(presented) {
            accepted |= self.matches(candidate.as_bytes());
        }
        accepted.into()
    }

    fn matches(&self, candidate: &[u8]) -> Choice {
        let candidate = digest(candidate);
        self.secrets.iter().fold(Choice::from(0), |found, secret| {
            #[cfg(test)]
            COMPARISONS.with(|c| c.set(c.get() + 1));
            found | secret.ct_eq(&candidate)
        })
    }
}

// How many digest comparisons this thread made: the tests check that the
// count never depends on which secret, if any, matched.
#[cfg(test)]
thread_local! {
    static COMPARISONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Every token the request presents: `?token=`, `Authorization: Bearer`,
/// `X-Webhook-Token`, and the password of HTTP Basic auth.
fn candidates(presented: &Presented<'_>) -> Vec<String> {
    let mut found: Vec<String> = presented
        .query_token
        .map(str::to_owned)
        .into_iter()
        .collect();
    let Some(headers) = presented.headers else {
        return found;
    };
    for value in headers.get_all("x-webhook-token") {
        if let Ok(v) = value.to_str() {
            found.push(v.trim().to_owned());
        }
    }
    for value in headers.get_all("authorization") {
        let Ok(v) = value.to_str() else { continue };
        let v = v.trim();
        let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            found.push(rest.trim().to_owned());
        } else if scheme.eq_ignore_ascii_case("basic") {
            if let Some(password) = basic_password(rest.trim()) {
                found.push(password);
            }
        }
    }
    found
}

fn basic_password(encoded: &str) -> Option<String> {
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':')
        .map(|(_, password)| password.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use lambda_http::http::HeaderValue;

    const SECRET: &str = "s3cret-token-value";

    fn auth() -> Authenticator {
        Authenticator::new(&["old-token".into(), SECRET.into()], false)
    }

    fn with_header(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    fn accepts_header(name: &'static str, value: &str) -> bool {
        let headers = with_header(name, value);
        auth().accepts(&Presented {
            query_token: None,
            headers: Some(&headers),
        })
    }

    #[test]
    fn accepts_the_token_in_every_documented_place() {
        assert!(auth().accepts(&Presented {
            query_token: Some(SECRET),
            headers: None
        }));
        assert!(accepts_header("authorization", &format!("Bearer {SECRET}")));
        assert!(accepts_header(
            "authorization",
            &format!("bearer  {SECRET} ")
        ));
        assert!(accepts_header("x-webhook-token", SECRET));
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("flashy:{SECRET}"));
        assert!(accepts_header("authorization", &format!("Basic {basic}")));
    }

    #[test]
    fn accepts_any_configured_secret_during_rotation() {
        assert!(auth().accepts(&Presented {
            query_token: Some("old-token"),
            headers: None
        }));
    }

    #[test]
    fn refuses_wrong_missing_prefix_and_misplaced_tokens() {
        let refused = [
            Presented {
                query_token: None,
                headers: None,
            },
            Presented {
                query_token: Some(""),
                headers: None,
            },
            Presented {
                query_token: Some("wrong"),
                headers: None,
            },
            Presented {
                query_token: Some(&SECRET[..SECRET.len() - 1]),
                headers: None,
            },
            Presented {
                query_token: Some(&format!("{SECRET}x")),
                headers: None,
            },
        ];
        for p in &refused {
            assert!(!auth().accepts(p), "{p:?}");
        }
        // The Basic user name is not the password.
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SECRET}:nope"));
        assert!(!accepts_header("authorization", &format!("Basic {basic}")));
        // A token in a header nobody reads.
        assert!(!accepts_header("x-api-key", SECRET));
        assert!(!accepts_header("authorization", SECRET));
    }

    #[test]
    fn every_candidate_is_compared_with_every_secret_whatever_matches() {
        let secrets: Vec<String> = (0..5).map(|i| format!("{SECRET}-{i}")).collect();
        let auth = Authenticator::new(&secrets, false);
        let headers = with_header("x-webhook-token", "not-it");
        let mut counts = Vec::new();
        for query in [
            secrets[0].as_str(),
            secrets[2].as_str(),
            secrets[4].as_str(),
            &secrets[4][..3],
            "",
            "wrong",
        ] {
            COMPARISONS.with(|c| c.set(0));
            let accepted = auth.accepts(&Presented {
                query_token: Some(query),
                headers: Some(&headers),
            });
            assert_eq!(accepted, secrets.iter().any(|s| s == query), "{query:?}");
            counts.push(COMPARISONS.with(std::cell::Cell::get));
        }
        // Two candidates (query, header) × five secrets, every time: no
        // early exit on a match, none on a mismatch. Each comparison is
        // subtle's constant-time ct_eq of two SHA-256 digests, so neither
        // the content nor the length of a secret shows in the timing.
        assert_eq!(counts, vec![10; counts.len()]);
    }

    #[test]
    fn no_secret_refuses_everyone_unless_explicitly_open() {
        let closed = Authenticator::new(&[], false);
        assert!(closed.refuses_everyone());
        assert!(!closed.accepts(&Presented {
            query_token: Some("anything"),
            headers: None
        }));
        let open = Authenticator::new(&[], true);
        assert!(open.accepts(&Presented::default()));
    }
}
