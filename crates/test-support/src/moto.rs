//! A local implementation of AWS's APIs (moto's server, from PyPI; `make`
//! installs it into .venv) of a test's own: the Secrets Manager the
//! functions read their tokens from.

use crate::{free_port, repo_root, wait_port};
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
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
