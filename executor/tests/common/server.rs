//! The executor's gRPC service on an ephemeral loopback port, for the tests that talk to it over a
//! real socket.

use std::time::Duration;

use tokio::sync::oneshot;
use zknode_executor::execution::Executor;
use zknode_executor::service::serve_with_listener;

/// A running server; [`Server::stop`] (or dropping `shutdown`) stops it.
pub struct Server {
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<zknode_executor::Result<()>>,
}

pub async fn start(executor: Executor) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_with_listener(executor, listener, async move {
        let _ = rx.await;
    }));
    Server {
        url: format!("http://{addr}"),
        shutdown: Some(tx),
        task,
    }
}

impl Server {
    /// Signals shutdown and waits (30 s at most) for the server to finish cleanly.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}
