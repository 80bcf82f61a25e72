//! Who a username names: its canonical form, so that `Alice`, `alice` and a fullwidth `ａlice`
//! are one user, and names that only look alike cannot be told apart by the eye alone.
//!
//! The identity is RFC 8265's `UsernameCaseMapped` profile (PRECIS), applied to each
//! space-separated part as the RFC's `username = userpart *(%x20 userpart)` says: fullwidth and
//! halfwidth forms mapped to their ordinary ones, lower case, Unicode NFC (so a composed and a
//! decomposed `á` are the same), and only letters, digits and printable ASCII allowed, with the
//! Bidi rule for right-to-left scripts. The name shown stays as typed at login: only the
//! user's id ([`user_id_for`](super::user_id_for)) comes from the canonical form.

use precis_core::profile::PrecisFastInvocation;
use precis_profiles::UsernameCaseMapped;

// ANCHOR: canonical_username
/// The canonical form of `username` (see the module), or why it is refused: a sentence for the
/// 422 the login answers.
///
/// The characters that make two names look the same, or hide part of one, are refused by name
/// before the profile runs, so the answer says what was wrong: format characters (zero-width
/// space and joiners, the bidi controls that reorder text on screen, the byte-order mark),
/// line and paragraph separators, and a space at either end or two in a row.
pub fn canonical_username(username: &str) -> Result<String, String> {
    if let Some(c) = username.chars().find(|c| is_invisible(*c)) {
        return Err(format!(
            "username must not contain invisible formatting characters (found U+{:04X}: zero-width, bidi control or byte-order mark)",
            u32::from(c)
        ));
    }
    if username.chars().any(|c| matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}')) {
        return Err("username must not contain line or paragraph separators".into());
    }
    if username.starts_with(char::is_whitespace) || username.ends_with(char::is_whitespace) {
        return Err("username must not start or end with a space".into());
    }
    let mut parts = Vec::new();
    for part in username.split(' ') {
        if part.is_empty() {
            return Err("username must not contain two spaces in a row".into());
        }
        let canonical = UsernameCaseMapped::enforce(part).map_err(|error| match error {
            precis_core::Error::BadCodepoint(info) => format!(
                "username may hold letters, digits, printable ASCII and single spaces (RFC 8265); U+{:04X} is not allowed",
                info.cp
            ),
            _ => "username is not a valid username (RFC 8265)".to_string(),
        })?;
        parts.push(canonical.into_owned());
    }
    Ok(parts.join(" "))
}
// ANCHOR_END: canonical_username

/// Unicode format characters that change how a name is shown without showing themselves.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'              // soft hyphen
        | '\u{061C}'            // Arabic letter mark
        | '\u{180E}'            // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space, non-joiner, joiner, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}' // bidi isolates
        | '\u{FEFF}'            // byte-order mark, zero-width no-break space
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_user_however_the_name_is_written() {
        for same in ["alice", "Alice", "ALICE", "\u{FF41}lice", "\u{FF21}\u{FF2C}\u{FF29}\u{FF23}\u{FF25}"] {
            assert_eq!(canonical_username(same).as_deref(), Ok("alice"), "{same:?}");
        }
        let composed = canonical_username("\u{e1}lvaro").expect("composed");
        let decomposed = canonical_username("a\u{301}lvaro").expect("decomposed");
        assert_eq!(composed, decomposed);
        assert_eq!(canonical_username("Zoë Ångström").as_deref(), Ok("zoë ångström"));
        assert_eq!(canonical_username("bob@example.com").as_deref(), Ok("bob@example.com"));
    }

    #[test]
    fn names_that_hide_or_reorder_text_are_refused() {
        for bad in [
            "al\u{200B}ice", // zero-width space
            "al\u{200D}ice", // zero-width joiner
            "\u{202E}ecila", // right-to-left override
            "alice\u{2066}", // bidi isolate
            "\u{FEFF}alice", // byte-order mark
            "ali\u{AD}ce",   // soft hyphen
        ] {
            let why = canonical_username(bad).expect_err(bad);
            assert!(why.contains("invisible formatting"), "{bad:?}: {why}");
        }
        for (bad, says) in [
            ("alice\u{2028}bob", "line or paragraph"),
            ("alice\u{2029}", "line or paragraph"),
            (" alice", "start or end"),
            ("alice ", "start or end"),
            ("alice\u{3000}", "start or end"),
            ("alice  smith", "two spaces"),
            ("alice\u{1F600}", "RFC 8265"),
            ("\u{FB01}sh", "RFC 8265"),
        ] {
            let why = canonical_username(bad).expect_err(bad);
            assert!(why.contains(says), "{bad:?}: {why}");
        }
    }
}
