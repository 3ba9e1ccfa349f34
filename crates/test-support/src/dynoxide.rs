//! A local DynamoDB server of a test's own.

use crate::{free_port, repo_root, wait_port};
use std::path::PathBuf;
use std::process::{Child, Command};

/// A local DynamoDB (dynoxide) of a test's own, on 127.0.0.1, so the test
/// can pause, kill and restart it. In memory, or in a SQLite file: then a
/// restart keeps what the server acknowledged, as DynamoDB does. Its log
/// goes to target/local/dynoxide-<port>.log.
pub struct Dynoxide {
    child: Option<Child>,
    pub port: u16,
    db: Option<PathBuf>,
}

impl Dynoxide {
    pub async fn in_memory() -> Dynoxide {
        Dynoxide::start(None).await
    }

    /// Data in a file <name>-<port>.db, deleted when dropped. The file is in
    /// /dev/shm where there is one: dynoxide syncs every commit to disk, which
    /// on a busy disk takes long enough (here 40 concurrent batch writes took
    /// 4 s, against 0.3 s on tmpfs) to trip the client's timeouts. A killed
    /// process loses nothing it committed either way; only a machine crash
    /// would tell the two apart.
    pub async fn with_file(name: &str) -> Dynoxide {
        let shm = PathBuf::from("/dev/shm");
        let dir = if shm.is_dir() {
            shm
        } else {
            repo_root().join("target/local")
        };
        Dynoxide::start(Some(dir.join(format!("webhooks-{name}")))).await
    }

    async fn start(db: Option<PathBuf>) -> Dynoxide {
        std::fs::create_dir_all(repo_root().join("target/local")).unwrap();
        let port = free_port();
        let mut server = Dynoxide {
            child: None,
            port,
            db: db.map(|prefix| {
                let mut path = prefix.into_os_string();
                path.push(format!("-{port}.db"));
                PathBuf::from(path)
            }),
        };
        server.remove_db();
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        // `make` installs it into .local/bin (and env.sh puts that on PATH).
        let local = repo_root().join(".local/bin/dynoxide");
        let program = if local.exists() {
            local
        } else {
            PathBuf::from("dynoxide")
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(repo_root().join(format!("target/local/dynoxide-{}.log", self.port)))
            .unwrap();
        let mut command = Command::new(program);
        command.args([
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            &self.port.to_string(),
        ]);
        if let Some(db) = &self.db {
            command.arg("--db-path").arg(db);
        }
        let child = command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dynoxide (`make tools` installs it into .local/bin)");
        self.child = Some(child);
        wait_port(self.port).await;
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn client(&self) -> aws_sdk_dynamodb::Client {
        events_table::dynamo::client_at(Some(&self.endpoint())).await
    }

    /// Sends `signal` (`-STOP`, `-CONT` ...) to the server.
    pub fn signal(&self, signal: &str) {
        let pid = self
            .child
            .as_ref()
            .expect("server running")
            .id()
            .to_string();
        let ok = Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {signal} {pid}");
    }

    /// Kills the server (SIGKILL: no chance to flush or shut down cleanly).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new server on the same port and database file.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    fn remove_db(&self) {
        if let Some(db) = &self.db {
            // SQLite may keep -wal and -shm files beside the database.
            for suffix in ["", "-wal", "-shm"] {
                let mut path = db.clone().into_os_string();
                path.push(suffix);
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

impl Drop for Dynoxide {
    fn drop(&mut self) {
        self.kill();
        self.remove_db();
    }
}
