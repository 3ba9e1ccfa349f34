//! `consent-lookup`: `GET /consent?email=...` (or `phone=`, `contact=`) on
//! the HTTP API, behind IAM authorization: the person's consent as the
//! `webhooks consent --json` object (docs/consent.md).

use consent_fn::{lookup, settings_from_env, table_name_from_env, ConsentTable};
use lambda_http::{service_fn, Body, Error, Request, RequestExt, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let table = ConsentTable::new(events_table::dynamo::client().await, table_name_from_env());
    let settings = settings_from_env();
    let (table, settings) = (&table, &settings);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(handle(table, settings, &request).await)
    }))
    .await
}

async fn handle(
    table: &ConsentTable,
    settings: &consent::Settings,
    request: &Request,
) -> Response<Body> {
    let query = request.query_string_parameters();
    let Some(subject) = lookup::subject_of_query(
        query.first("email"),
        query.first("phone"),
        query.first("contact"),
    ) else {
        return reply(
            400,
            serde_json::json!({"error": "ask with ?email=, ?phone= or ?contact=<provider>#<id>"}),
        );
    };
    match lookup::look_up(table, &subject, settings).await {
        Ok((consent, _)) => reply(200, lookup::answer(&subject, &consent)),
        Err(e) => {
            tracing::error!(error = %e, "consent lookup failed");
            reply(
                503,
                serde_json::json!({"error": "the consent table could not be read; retry"}),
            )
        }
    }
}

fn reply(status: u16, body: serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap_or_default()
}
