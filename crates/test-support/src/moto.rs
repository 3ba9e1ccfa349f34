//! A local implementation of AWS's APIs (moto's server, from PyPI; `make`
//! installs it into .venv) of a test's own: the Secrets Manager the
//! functions read their tokens from, and an EventBridge bus whose events
//! land in an SQS queue, to read back what was published.

use crate::{free_port, repo_root, wait_port};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};

/// moto's server on a free port of 127.0.0.1, stopped when dropped. Its log
/// goes to target/local/moto-<port>.log.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub async fn start() -> Moto {
        std::fs::create_dir_all(repo_root().join("target/local")).unwrap();
        let port = free_port();
        let log = std::fs::File::create(repo_root().join(format!("target/local/moto-{port}.log")))
            .unwrap();
        let child = Command::new(repo_root().join(".venv/bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("moto_server (`make tools` installs it into .venv)");
        let moto = Moto { child, port };
        wait_port(port).await;
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One call of a JSON API (`target` as `AWSEvents.PutRule`). moto
    /// routes by the service the signature names and checks no signature,
    /// so a placeholder one does. Panics unless the call succeeds.
    pub async fn call(&self, service: &str, target: &str, body: Value) -> Value {
        let json_version = if service == "sqs" { "1.0" } else { "1.1" };
        let response = reqwest::Client::new()
            .post(format!("{}/", self.endpoint()))
            .header("content-type", format!("application/x-amz-json-{json_version}"))
            .header("x-amz-target", target)
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=local"),
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{target}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{target}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{target}: {e}: {text}"))
    }

    /// Creates the bus `bus` with a rule sending its events of `source`
    /// to a new SQS queue; answers the queue's URL (for [`Moto::received`]).
    pub async fn bus_to_queue(&self, bus: &str, source: &str) -> String {
        self.call("events", "AWSEvents.CreateEventBus", json!({"Name": bus}))
            .await;
        let queue = format!("{bus}-events");
        let url = self
            .call("sqs", "AmazonSQS.CreateQueue", json!({"QueueName": queue}))
            .await["QueueUrl"]
            .as_str()
            .expect("QueueUrl")
            .to_owned();
        let arn = self
            .call(
                "sqs",
                "AmazonSQS.GetQueueAttributes",
                json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
            )
            .await["Attributes"]["QueueArn"]
            .as_str()
            .expect("QueueArn")
            .to_owned();
        let rule = format!("{bus}-to-queue");
        let pattern = json!({ "source": [source] }).to_string();
        self.call(
            "events",
            "AWSEvents.PutRule",
            json!({"Name": rule, "EventBusName": bus, "EventPattern": pattern}),
        )
        .await;
        self.call(
            "events",
            "AWSEvents.PutTargets",
            json!({"Rule": rule, "EventBusName": bus, "Targets": [{"Id": "queue", "Arn": arn}]}),
        )
        .await;
        url
    }

    /// The events the queue received since the last call, oldest first,
    /// as EventBridge delivers them (`source`, `detail-type`, `detail`...).
    pub async fn received(&self, queue_url: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let page = self
                .call(
                    "sqs",
                    "AmazonSQS.ReceiveMessage",
                    json!({"QueueUrl": queue_url, "MaxNumberOfMessages": 10}),
                )
                .await;
            let messages = page["Messages"].as_array().cloned().unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for message in messages {
                let body = message["Body"].as_str().expect("Body");
                out.push(serde_json::from_str(body).expect("an event as JSON"));
                self.call(
                    "sqs",
                    "AmazonSQS.DeleteMessage",
                    json!({"QueueUrl": queue_url, "ReceiptHandle": message["ReceiptHandle"]}),
                )
                .await;
            }
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
