//! The enkod webhook Lambda. Everything but the provider lives in `ingest`.

#[tokio::main]
async fn main() -> Result<(), ingest::Error> {
    ingest::run(ingest::Provider::Enkod).await
}
