//! Keywords of an inbound SMS: the whole message, trimmed, trailing
//! punctuation dropped, compared without regard to case (as Braze and AWS
//! End User Messaging do: "STOP PLEASE" is not a keyword).
//!
//! Sources:
//! - STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT; START, YES, UNSTOP:
//!   Braze's default SMS keywords
//!   (<https://www.braze.com/docs/user_guide/channels/sms_mms_and_rcs/message_features_and_optimization/keyword_processing/optin_optout>).
//! - REVOKE, OPT OUT: the FCC's 2025 revocation rule (47 CFR 64.1200(a)(10)).
//! - OPTOUT, OPT-OUT, REMOVE, ARRET (French), TD: AWS End User Messaging
//!   SMS's required opt-out keywords
//!   (<https://docs.aws.amazon.com/sms-voice/latest/userguide/keywords-required.html>).
//! - Portuguese (E-goi): CANCELAR and CANCELAR INSCRIÇÃO from Amazon SNS's
//!   Portuguese opt-out list
//!   (<https://docs.aws.amazon.com/pt_br/sns/latest/dg/sms_manage.html>);
//!   SAIR, the word Brazilian carriers take for "no more offers"; PARAR, the
//!   verb "stop" (no published list found).
//! - Russian (enKod): СТОП and ОТПИСАТЬСЯ, the plain words for "stop" and
//!   "unsubscribe" (no published list found).

/// What a keyword asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    Stop,
    Start,
}

pub const STOP_WORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPT OUT",
    "OPT-OUT",
    "OPTOUT",
    "REMOVE",
    "ARRET",
    "ARRÊT",
    "TD",
    "PARAR",
    "SAIR",
    "CANCELAR",
    "CANCELAR INSCRIÇÃO",
    "СТОП",
    "ОТПИСАТЬСЯ",
];

pub const START_WORDS: &[&str] = &["START", "UNSTOP", "YES"];

/// The keyword a whole message is, if any.
pub fn keyword(text: &str) -> Option<Word> {
    let words: Vec<&str> = text
        .trim()
        .trim_end_matches(['.', '!', '?'])
        .split_whitespace()
        .collect();
    let message = words.join(" ").to_uppercase();
    if STOP_WORDS.contains(&message.as_str()) {
        Some(Word::Stop)
    } else if START_WORDS.contains(&message.as_str()) {
        Some(Word::Start)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_message_is_the_keyword_whatever_its_case() {
        for text in [
            "STOP",
            "stop",
            " Stop! ",
            "opt  out",
            "Unsubscribe.",
            "стоп",
            "Sair",
            "cancelar inscrição",
        ] {
            assert_eq!(keyword(text), Some(Word::Stop), "{text}");
        }
        for text in ["START", "unstop", "Yes"] {
            assert_eq!(keyword(text), Some(Word::Start), "{text}");
        }
        for text in ["STOP PLEASE", "don't stop", "", "yes please", "stopp"] {
            assert_eq!(keyword(text), None, "{text}");
        }
    }
}
