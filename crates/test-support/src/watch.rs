//! `cargo lambda watch` serving the five functions, the way users run them
//! locally.

use crate::{free_port, repo_root};
use normalize::Provider;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `cargo lambda watch` on a free port of 127.0.0.1, in its own process
/// group, stopped (with the functions it started) when dropped.
pub struct Watch {
    child: Child,
    pub port: u16,
    /// Where the functions' output (their log lines) goes, when kept.
    pub stdout: Option<PathBuf>,
}

impl Watch {
    /// `env`: the functions' environment (an empty value unsets a variable);
    /// `extra`: more watch arguments;
    /// watch's own log goes to target/<log>.
    pub fn start(env: &[(&str, String)], extra: &[&str], log: &str) -> Watch {
        Watch::spawn(env, extra, log, None)
    }

    /// [`Watch::start`], keeping the functions' output in target/<stdout>.
    pub fn start_keeping_output(
        env: &[(&str, String)],
        extra: &[&str],
        log: &str,
        stdout: &str,
    ) -> Watch {
        Watch::spawn(
            env,
            extra,
            log,
            Some(repo_root().join("target").join(stdout)),
        )
    }

    fn spawn(env: &[(&str, String)], extra: &[&str], log: &str, stdout: Option<PathBuf>) -> Watch {
        let port = free_port();
        let mut command = Command::new("cargo");
        command
            .current_dir(repo_root())
            .args([
                "lambda",
                "watch",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .args(extra);
        for (name, value) in env {
            // The functions inherit watch's environment (not `--env-var`,
            // whose values watch splits at commas); an empty value takes the
            // variable out of it.
            if value.is_empty() {
                command.env_remove(name);
            } else {
                command.env(name, value);
            }
        }
        let log = std::fs::File::create(repo_root().join("target").join(log)).unwrap();
        let out = match &stdout {
            Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            None => Stdio::null(),
        };
        command.stdout(out).stderr(log).stdin(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .expect("`cargo lambda watch` (make installs cargo-lambda into .venv)");
        Watch {
            child,
            port,
            stdout,
        }
    }

    pub fn url(&self, provider: Provider) -> String {
        format!(
            "http://127.0.0.1:{}/lambda-url/{provider}/webhooks/{provider}",
            self.port
        )
    }

    /// Waits for every function to answer its reachability check (the
    /// first request of each builds it).
    pub async fn ready(&self, http: &reqwest::Client) {
        for provider in Provider::ALL {
            self.ready_one(http, provider).await;
        }
    }

    /// Waits for one function to answer its reachability check.
    pub async fn ready_one(&self, http: &reqwest::Client, provider: Provider) {
        let mut ready = false;
        for _ in 0..3000 {
            if let Ok(r) = http.get(self.url(provider)).send().await {
                ready = r.status() == 200;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(ready, "{provider} did not answer its reachability check");
    }

    /// The functions' output so far, line by line (with
    /// [`Watch::start_keeping_output`]).
    pub fn output_lines(&self) -> Vec<String> {
        self.stdout
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}
