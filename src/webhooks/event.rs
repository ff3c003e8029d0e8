//! The webhook events: one variant per type, each with its typed `data`, and the
//! [`report`] that turns the store's changes into them.
//!
//! The body sent is `{"type", "timestamp", "data"}` (the Standard Webhooks suggestion),
//! `data` in camelCase; see [`crate::webhooks`] for what each type carries.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::advice::{self, Advice};
use crate::codes::{ErrorCode, State};
use crate::store::{Change, CollectRef, Document, OutboxEvent};

/// The event types, as the `type` of the body and of the outbox's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    CollectState,
    CollectDone,
    CollectFailed,
    CredentialVerified,
    CredentialVerificationFailed,
    DocumentNew,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::CollectState,
        EventType::CollectDone,
        EventType::CollectFailed,
        EventType::CredentialVerified,
        EventType::CredentialVerificationFailed,
        EventType::DocumentNew,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CollectState => "collect.state",
            EventType::CollectDone => "collect.done",
            EventType::CollectFailed => "collect.failed",
            EventType::CredentialVerified => "credential.verified",
            EventType::CredentialVerificationFailed => "credential.verification_failed",
            EventType::DocumentNew => "document.new",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown webhook event type {0:?}")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownEventType(s.to_string()))
    }
}

/// `collect.state`: one per state change of a collect, the final one included.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectStateData {
    pub collect_id: String,
    pub credential_id: String,
    /// -2..7
    pub state: i8,
    pub name: &'static str,
    pub message: Option<String>,
    /// With -1 and -2: the error code (`LOGIN_FAILED`…), so that this event alone says why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// With -1 and -2: what the person can do, as `collect.failed` carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<Advice>,
}

/// `collect.done`: after the `collect.state` 7.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectDoneData {
    pub collect_id: String,
    pub credential_id: String,
    /// The documents the collect added.
    pub new_documents: i64,
    pub advice: Advice,
}

/// `collect.failed` (after the final `collect.state` -1 or -2), and
/// `credential.verification_failed` for a verification collect.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectFailedData {
    pub collect_id: String,
    pub credential_id: String,
    pub state: i8,
    pub name: &'static str,
    /// `LOGIN_FAILED`…
    pub code: Option<String>,
    pub message: Option<String>,
    pub advice: Advice,
}

/// `credential.verified`: after the `collect.done` of a verification collect.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialVerifiedData {
    pub credential_id: String,
    pub collect_id: String,
}

/// `document.new`: the document as `GET /collect/{id}/documents` shows it, and where to
/// download it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentNewData {
    #[serde(flatten)]
    pub document: Document,
    /// `/document/<id>` in the outbox, made absolute (`<public URL>/document/<id>`) at
    /// delivery.
    pub download_url: String,
}

/// A webhook event and its `data`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum WebhookEvent {
    CollectState(CollectStateData),
    CollectDone(CollectDoneData),
    CollectFailed(CollectFailedData),
    CredentialVerified(CredentialVerifiedData),
    CredentialVerificationFailed(CollectFailedData),
    /// Boxed: a document is much larger than the other events' data.
    DocumentNew(Box<DocumentNewData>),
}

/// The body of a request: `data` is the event's.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    event_type: &'static str,
    timestamp: &'a str,
    data: &'a WebhookEvent,
}

impl WebhookEvent {
    pub fn event_type(&self) -> EventType {
        match self {
            WebhookEvent::CollectState(_) => EventType::CollectState,
            WebhookEvent::CollectDone(_) => EventType::CollectDone,
            WebhookEvent::CollectFailed(_) => EventType::CollectFailed,
            WebhookEvent::CredentialVerified(_) => EventType::CredentialVerified,
            WebhookEvent::CredentialVerificationFailed(_) => {
                EventType::CredentialVerificationFailed
            }
            WebhookEvent::DocumentNew(_) => EventType::DocumentNew,
        }
    }

    /// The JSON body of the event, which happened at `timestamp` (RFC 3339).
    pub fn body(&self, timestamp: &str) -> Result<String, serde_json::Error> {
        serde_json::to_string(&Body {
            event_type: self.event_type().as_str(),
            timestamp,
            data: self,
        })
    }

    /// The events that report a change of the store, in the order they are sent.
    pub fn of_change(change: &Change<'_>) -> Vec<WebhookEvent> {
        match *change {
            Change::CollectState {
                collect,
                state,
                message,
            } => vec![WebhookEvent::CollectState(state_data(
                collect,
                state,
                message.map(str::to_string),
            ))],
            Change::CollectEnd {
                collect,
                state,
                error,
                new_documents,
            } => {
                let message = error.map(|e| e.message.clone());
                let code = error.and_then(|e| e.code.parse::<ErrorCode>().ok());
                let advice = advice::for_outcome(state, code.as_ref());
                let mut end = state_data(collect, state, message.clone());
                if state != State::Done {
                    end.code = error.map(|e| e.code.clone());
                    end.advice = Some(advice.clone());
                }
                let mut events = vec![WebhookEvent::CollectState(end)];
                if state == State::Done {
                    events.push(WebhookEvent::CollectDone(CollectDoneData {
                        collect_id: collect.collect_id.to_string(),
                        credential_id: collect.credential_id.to_string(),
                        new_documents,
                        advice,
                    }));
                    if collect.verify {
                        events.push(WebhookEvent::CredentialVerified(CredentialVerifiedData {
                            credential_id: collect.credential_id.to_string(),
                            collect_id: collect.collect_id.to_string(),
                        }));
                    }
                    return events;
                }
                let failed = CollectFailedData {
                    collect_id: collect.collect_id.to_string(),
                    credential_id: collect.credential_id.to_string(),
                    state: state.index(),
                    name: state.name(),
                    code: error.map(|e| e.code.clone()),
                    message,
                    advice,
                };
                if collect.verify {
                    events.push(WebhookEvent::CollectFailed(failed.clone()));
                    events.push(WebhookEvent::CredentialVerificationFailed(failed));
                } else {
                    events.push(WebhookEvent::CollectFailed(failed));
                }
                events
            }
            Change::DocumentAdded { document } => {
                vec![WebhookEvent::DocumentNew(Box::new(DocumentNewData {
                    document: document.clone(),
                    download_url: format!("/document/{}", document.id),
                }))]
            }
        }
    }
}

fn state_data(collect: CollectRef<'_>, state: State, message: Option<String>) -> CollectStateData {
    CollectStateData {
        collect_id: collect.collect_id.to_string(),
        credential_id: collect.credential_id.to_string(),
        state: state.index(),
        name: state.name(),
        message,
        code: None,
        advice: None,
    }
}

/// The store's [`crate::store::Reporter`]: the events of a change, made at `timestamp`,
/// serialized for the outbox.
pub fn report(change: &Change<'_>, timestamp: &str) -> Result<Vec<OutboxEvent>, serde_json::Error> {
    WebhookEvent::of_change(change)
        .iter()
        .map(|event| {
            Ok(OutboxEvent {
                event_type: event.event_type().as_str(),
                payload: event.body(timestamp)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_change_is_one_collect_state_body() {
        let collect = CollectRef {
            collect_id: "k1",
            credential_id: "c1",
            verify: false,
        };
        let change = Change::CollectState {
            collect,
            state: State::LoggingIn,
            message: Some("login page"),
        };
        let events = report(&change, "2025-01-31T12:00:00.000Z").unwrap();
        assert_eq!(
            events,
            [OutboxEvent {
                event_type: "collect.state",
                payload: concat!(
                    r#"{"type":"collect.state","timestamp":"2025-01-31T12:00:00.000Z","#,
                    r#""data":{"collectId":"k1","credentialId":"c1","state":2,"#,
                    r#""name":"logging_in","message":"login page"}}"#
                )
                .to_string(),
            }]
        );
    }

    #[test]
    fn a_failed_end_says_why_in_its_collect_state_too() {
        let collect = CollectRef {
            collect_id: "k1",
            credential_id: "c1",
            verify: true,
        };
        let error = crate::codes::ErrorInfo {
            code: "LOGIN_FAILED".into(),
            message: "Identifiant ou mot de passe incorrect.".into(),
        };
        let change = Change::CollectEnd {
            collect,
            state: State::Error,
            error: Some(&error),
            new_documents: 0,
        };
        let events = WebhookEvent::of_change(&change);
        let data: Vec<serde_json::Value> = events
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect();
        assert_eq!(data.len(), 3, "state, collect.failed, verification_failed");
        for d in &data {
            assert_eq!(d["code"], "LOGIN_FAILED", "{d}");
            assert_eq!(d["message"], "Identifiant ou mot de passe incorrect.");
            assert!(d["advice"]["en"].as_str().unwrap().contains("password"));
        }
        let done = Change::CollectEnd {
            collect,
            state: State::Done,
            error: None,
            new_documents: 1,
        };
        let state = serde_json::to_value(&WebhookEvent::of_change(&done)[0]).unwrap();
        assert!(
            state.get("code").is_none() && state.get("advice").is_none(),
            "{state}"
        );
    }

    #[test]
    fn event_types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
        }
        assert!("collect.nope".parse::<EventType>().is_err());
    }
}
