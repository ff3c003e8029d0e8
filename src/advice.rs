//! What a person can do about how a collect ended, in English and French: the message the
//! UI, the API and the webhooks carry with a final state.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::codes::{ErrorCode, ErrorInfo, ErrorKind, State};

/// One message in each language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Advice {
    pub en: String,
    pub fr: String,
}

/// Why a collect failed, as a host learns it from the event alone (the WebSocket's `state`
/// -1 and -2, the UI's `state` and `did-fail-authorization-verification` postMessages).
/// `message` is the collect's, which went through its redactor: it holds no secret, and
/// `advice` is one of this module's fixed sentences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailureReason {
    /// An error code such as `LOGIN_FAILED.WRONG_TWOFA_CODE`.
    pub code: String,
    pub message: String,
    /// What the person can do about it.
    pub advice: Advice,
}

impl FailureReason {
    /// The reason of a collect that ended in `state` with `error`.
    pub fn of(state: State, error: &ErrorInfo) -> FailureReason {
        let code = error.code.parse::<ErrorCode>().ok();
        FailureReason {
            code: error.code.clone(),
            message: error.message.clone(),
            advice: for_outcome(state, code.as_ref()),
        }
    }
}

fn advice(en: &str, fr: &str) -> Advice {
    Advice {
        en: en.to_string(),
        fr: fr.to_string(),
    }
}

/// The message for a final state (7, -1, -2) and its error code, if any.
pub fn for_outcome(state: State, code: Option<&ErrorCode>) -> Advice {
    let Some(code) = code else {
        return match state {
            State::Done => advice(
                "Your documents are up to date.",
                "Vos documents sont à jour.",
            ),
            _ => advice(
                "The collect did not finish; we'll retry later.",
                "La collecte n'a pas abouti ; nous réessaierons plus tard.",
            ),
        };
    };
    let detail = code.detail.as_deref();
    match (code.kind, detail) {
        (ErrorKind::LoginFailed, Some("WRONG_TWOFA_CODE")) => advice(
            "The verification code was not accepted: open the collect again and enter the new code.",
            "Le code de vérification n'a pas été accepté : ouvrez à nouveau la collecte et saisissez le nouveau code.",
        ),
        (ErrorKind::LoginFailed, _) => advice(
            "The site refused your login details: check your password.",
            "Le site a refusé vos identifiants : vérifiez votre mot de passe.",
        ),
        (ErrorKind::UserActionNeeded, Some("TWOFA_EXPIRED")) => advice(
            "The site asks for a verification code: open the collect to enter the code.",
            "Le site demande un code de vérification : ouvrez la collecte pour saisir le code.",
        ),
        (ErrorKind::UserActionNeeded, _) => advice(
            "The site needs you: open the collect to finish logging in.",
            "Le site a besoin de vous : ouvrez la collecte pour terminer la connexion.",
        ),
        (ErrorKind::VendorDown, Some("UNREACHABLE")) => advice(
            "The site cannot be reached right now; we'll retry later.",
            "Le site est injoignable pour le moment ; nous réessaierons plus tard.",
        ),
        (ErrorKind::VendorDown, Some("REDIRECT_LOOP")) => advice(
            "The site keeps redirecting in a loop; we'll retry later.",
            "Le site redirige en boucle ; nous réessaierons plus tard.",
        ),
        (ErrorKind::VendorDown, Some("TLS")) => advice(
            "The site's security certificate could not be verified; we'll retry later.",
            "Le certificat de sécurité du site n'a pas pu être vérifié ; nous réessaierons plus tard.",
        ),
        (ErrorKind::VendorDown, _) => advice(
            "The site is unavailable right now; we'll retry later.",
            "Le site est indisponible pour le moment ; nous réessaierons plus tard.",
        ),
        (ErrorKind::Timeout, Some("COLLECT_DEADLINE")) => advice(
            "The collect took too long and was stopped; we'll retry later.",
            "La collecte a pris trop de temps et a été arrêtée ; nous réessaierons plus tard.",
        ),
        (ErrorKind::Timeout, _) => advice(
            "The site took too long to answer; we'll retry later.",
            "Le site a mis trop de temps à répondre ; nous réessaierons plus tard.",
        ),
        (ErrorKind::ConnectorError, Some("RUNAWAY_PAGE")) => advice(
            "The site's page kept reloading itself, so we could not collect; we are on it.",
            "La page du site se rechargeait sans cesse et la collecte n'a pas pu aboutir ; nous nous en occupons.",
        ),
        (ErrorKind::ConnectorError, _) => advice(
            "The site has changed and we cannot collect from it for now; we are on it.",
            "Le site a changé et nous ne pouvons pas le collecter pour l'instant ; nous nous en occupons.",
        ),
        (ErrorKind::BrowserCrashed, Some("OUT_OF_MEMORY")) => advice(
            "The site's page used too much memory and was stopped; we'll retry later.",
            "La page du site utilisait trop de mémoire et a été arrêtée ; nous réessaierons plus tard.",
        ),
        (ErrorKind::BrowserCrashed, Some("UNRESPONSIVE")) => advice(
            "The site's page stopped responding; we'll retry later.",
            "La page du site ne répondait plus ; nous réessaierons plus tard.",
        ),
        (ErrorKind::BrowserCrashed, _) | (ErrorKind::Interrupted, _) => advice(
            "The collect was interrupted on our side; we'll retry later.",
            "La collecte a été interrompue de notre côté ; nous réessaierons plus tard.",
        ),
        (ErrorKind::Cancelled, _) => {
            advice("The collect was cancelled.", "La collecte a été annulée.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_final_state_has_an_actionable_message() {
        let code = |s: &str| s.parse::<ErrorCode>().unwrap();
        let a = for_outcome(State::Error, Some(&code("LOGIN_FAILED")));
        assert!(
            a.en.contains("check your password") && a.fr.contains("vérifiez votre mot de passe")
        );
        let a = for_outcome(
            State::Disconnected,
            Some(&code("USER_ACTION_NEEDED.TWOFA_EXPIRED")),
        );
        assert!(a.en.contains("open the collect to enter the code"));
        let a = for_outcome(State::Error, Some(&code("VENDOR_DOWN")));
        assert!(a.en.contains("we'll retry later") && a.fr.contains("nous réessaierons"));
        for kind in ErrorKind::ALL {
            let a = for_outcome(State::Error, Some(&ErrorCode::new(kind)));
            assert!(!a.en.is_empty() && !a.fr.is_empty() && a.en != a.fr);
        }
        assert!(for_outcome(State::Done, None).en.contains("up to date"));
    }

    #[test]
    fn a_failure_reason_carries_the_code_the_message_and_the_advice_of_its_code() {
        let error = ErrorInfo {
            code: "LOGIN_FAILED.WRONG_TWOFA_CODE".into(),
            message: "Code incorrect.".into(),
        };
        let reason = FailureReason::of(State::Error, &error);
        let json = serde_json::to_value(&reason).unwrap();
        assert_eq!(json["code"], "LOGIN_FAILED.WRONG_TWOFA_CODE");
        assert_eq!(json["message"], "Code incorrect.");
        assert!(
            json["advice"]["en"]
                .as_str()
                .unwrap()
                .contains("verification code")
        );
        assert!(!json["advice"]["fr"].as_str().unwrap().is_empty());
    }

    #[test]
    fn the_details_of_crashes_navigation_errors_and_deadlines_have_their_own_words() {
        let code = |s: &str| s.parse::<ErrorCode>().unwrap();
        let generic = for_outcome(State::Error, Some(&code("BROWSER_CRASHED.RENDERER")));
        assert!(generic.en.contains("interrupted on our side"));
        for (code_text, en, fr) in [
            (
                "BROWSER_CRASHED.OUT_OF_MEMORY",
                "too much memory",
                "trop de mémoire",
            ),
            (
                "BROWSER_CRASHED.UNRESPONSIVE",
                "stopped responding",
                "ne répondait plus",
            ),
            (
                "VENDOR_DOWN.UNREACHABLE",
                "cannot be reached",
                "injoignable",
            ),
            (
                "VENDOR_DOWN.REDIRECT_LOOP",
                "redirecting in a loop",
                "redirige en boucle",
            ),
            ("VENDOR_DOWN.TLS", "certificate", "certificat"),
            ("TIMEOUT.COLLECT_DEADLINE", "took too long", "trop de temps"),
            (
                "CONNECTOR_ERROR.RUNAWAY_PAGE",
                "reloading itself",
                "se rechargeait",
            ),
        ] {
            let detail = code_text;
            let a = for_outcome(State::Error, Some(&code(code_text)));
            assert!(a.en.contains(en) && a.fr.contains(fr), "{detail}: {a:?}");
            assert!(a.en.ends_with('.') && a.fr.ends_with('.'));
        }
    }
}
