//! The statuses every route of a kind answers, written into the OpenAPI document from the
//! way the routes are built rather than route by route, so that a new route cannot forget
//! them:
//! - behind the API key (the `require_api_key` layer) or a session token ([`UiTokenAuth`]):
//!   401;
//! - with a JSON body ([`ApiJson`], [`OptionalApiJson`]): 400 for a missing or wrong
//!   `Content-Type` or malformed JSON, 422 for a value of the wrong shape or an unknown
//!   property.
//!
//! A route that documents one of these itself keeps its own description.
//!
//! [`UiTokenAuth`]: super::ui_routes::UiTokenAuth
//! [`ApiJson`]: super::error::ApiJson
//! [`OptionalApiJson`]: super::error::OptionalApiJson

use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};

pub const UNAUTHORIZED_API_KEY: &str =
    "missing or wrong API key: send `Authorization: Bearer <api key>`";
pub const UNAUTHORIZED_SESSION: &str =
    "missing, unknown or expired session token: send `Authorization: Session <token>`";
const BAD_JSON: &str = "no JSON body where one is required, a `Content-Type` other than \
     `application/json`, malformed JSON, or a body over 2 MB (axum's default limit)";
const UNPROCESSABLE_JSON: &str =
    "a value of the wrong type or out of its range, a missing or unknown property";

/// What a response gives the operations that can follow it (OpenAPI links): the id of a
/// created credential, collect, document or webhook event. A contract tester's stateful
/// phase follows these, and only these: a schedule exists only once it is put, so nothing
/// links a new credential to reading or deleting its schedule; nothing links to the live
/// WebSocket, which is opened with an upgrade, not called.
const LINKS: &[Link] = &[
    // (from operation, its statuses, to operation, parameters)
    (
        "create_credential",
        &["201"],
        "get_credential",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_credential",
        &["201"],
        "update_credential",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_credential",
        &["201"],
        "delete_credential",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_credential",
        &["201"],
        "list_credentials",
        &[("user_id", "$response.body#/userId")],
    ),
    (
        "create_credential",
        &["201"],
        "put_schedule",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_credential",
        &["201"],
        "start_collect",
        &[("id", "$response.body#/id")],
    ),
    (
        "put_schedule",
        &["200"],
        "get_schedule",
        &[("id", "$request.path.id")],
    ),
    (
        "put_schedule",
        &["200"],
        "delete_schedule",
        &[("id", "$request.path.id")],
    ),
    (
        "start_collect",
        &["200", "201"],
        "get_collect",
        &[("id", "$response.body#/collectId")],
    ),
    (
        "start_collect",
        &["200", "201"],
        "collect_documents",
        &[("id", "$response.body#/collectId")],
    ),
    (
        "start_collect",
        &["200", "201"],
        "collect_trace",
        &[("id", "$response.body#/collectId")],
    ),
    (
        "start_collect",
        &["200", "201"],
        "give_code",
        &[("id", "$request.path.id")],
    ),
    (
        "start_collect",
        &["200", "201"],
        "delete_credential",
        &[("id", "$request.path.id")],
    ),
    (
        "collect_documents",
        &["200"],
        "download_document",
        &[("id", "$response.body#/0/id")],
    ),
    (
        "list_deliveries",
        &["200"],
        "replay_delivery",
        &[("id", "$response.body#/0/id")],
    ),
    // The UI's routes, with a session token.
    (
        "add_account",
        &["201"],
        "credential",
        &[("id", "$response.body#/credential/id")],
    ),
    (
        "add_account",
        &["201"],
        "correct_account",
        &[("id", "$response.body#/credential/id")],
    ),
    (
        "add_account",
        &["201"],
        "ui_start_collect",
        &[("id", "$response.body#/credential/id")],
    ),
];

/// From an operation, on these statuses of its response, to an operation, with these
/// parameters (runtime expressions).
type Link = (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Writes [`LINKS`] into `doc`, on the responses that exist.
pub fn link_responses(doc: &mut OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    for (from, statuses, to, parameters) in LINKS {
        let Some(operation) =
            operations_mut(doc).find(|o| o.operation_id.as_deref() == Some(*from))
        else {
            continue;
        };
        for status in *statuses {
            let Some(RefOr::T(response)) = operation.responses.responses.get_mut(*status) else {
                continue;
            };
            let link = parameters
                .iter()
                .fold(
                    LinkBuilder::new().operation_id(*to),
                    |link, (name, value)| link.parameter(*name, *value),
                )
                .build();
            response.links.insert(to.to_string(), RefOr::T(link));
        }
    }
}

/// Every operation of `doc`, mutably.
pub fn operations_mut(doc: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
    })
}

/// Documents `status` with the JSON error body on every operation of `doc` that does not
/// document it yet.
pub fn answers_everywhere(doc: &mut OpenApi, status: u16, description: &str) {
    for operation in operations_mut(doc) {
        answers(operation, status, description);
    }
}

/// Documents 400 and 422 on every operation of `doc` that takes a JSON body.
pub fn json_bodies_answer_400_and_422(doc: &mut OpenApi) {
    for operation in operations_mut(doc) {
        if takes_json(operation) {
            answers(operation, 400, BAD_JSON);
            answers(operation, 422, UNPROCESSABLE_JSON);
        }
    }
}

/// Whether the operation's request body is JSON.
pub fn takes_json(operation: &Operation) -> bool {
    match &operation.request_body {
        Some(RefOr::T(body)) => body.content.keys().any(|t| t == "application/json"),
        // The document defines no shared request bodies.
        Some(RefOr::Ref(_)) | None => false,
    }
}

fn answers(operation: &mut Operation, status: u16, description: &str) {
    let status = status.to_string();
    if operation.responses.responses.contains_key(&status) {
        return;
    }
    let error_body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
    let response = ResponseBuilder::new()
        .description(description)
        .content("application/json", error_body)
        .build();
    operation
        .responses
        .responses
        .insert(status, RefOr::T(response));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks the document the service serves: every route behind a key or a session token
    /// documents 401, every route with a JSON body 400 and 422, each with the error body.
    #[test]
    fn every_route_documents_the_statuses_of_its_kind() {
        let mut doc = super::super::openapi();
        let paths: Vec<String> = doc.paths.paths.keys().cloned().collect();
        let mut checked = (0, 0);
        for operation in operations_mut(&mut doc) {
            let name = operation.operation_id.clone().unwrap_or_default();
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut expected = Vec::new();
            if secured {
                expected.push("401");
                checked.0 += 1;
            }
            if takes_json(operation) {
                expected.extend(["400", "422"]);
                checked.1 += 1;
            }
            for status in expected {
                let Some(RefOr::T(response)) = operation.responses.responses.get(status) else {
                    panic!("{name}: {status} is not documented");
                };
                let json = response
                    .content
                    .get("application/json")
                    .unwrap_or_else(|| panic!("{name}: {status} without a JSON body"));
                let schema = serde_json::to_value(json).unwrap_or_default();
                assert_eq!(
                    schema["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{name}: {status}"
                );
            }
        }
        // Every link leads from an existing response to an existing operation, named by an
        // id that names only it.
        let ids: Vec<String> = operations_mut(&mut doc)
            .filter_map(|o| o.operation_id.clone())
            .collect();
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "operation ids used twice in {ids:?}"
        );
        let mut links = 0;
        for operation in operations_mut(&mut doc) {
            for response in operation.responses.responses.values() {
                if let RefOr::T(response) = response {
                    for link in response.links.values() {
                        let link = serde_json::to_value(link).unwrap_or_default();
                        let to = link["operationId"].as_str().unwrap_or_default();
                        assert!(ids.iter().any(|id| id == to), "link to {to}");
                        links += 1;
                    }
                }
            }
        }
        let expected: usize = LINKS.iter().map(|(_, statuses, _, _)| statuses.len()).sum();
        assert_eq!(links, expected, "a link's operation or status is gone");
        // Routes of both kinds exist, so the walk checked something.
        assert!(
            checked.0 >= 20 && checked.1 >= 8,
            "{checked:?} in {paths:?}"
        );
    }
}
