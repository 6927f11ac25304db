//! Chain events for subscriptions: one task per RPC instance polls the database (so every instance
//! sees blocks whichever sequencer wrote them) and broadcasts new heads, their logs and newly arrived
//! pool transactions to the WebSocket subscribers.

use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::B256;
use tokio::sync::broadcast;

use crate::pool::store::PoolStore;
use crate::state::blocks::IncludedLog;
use crate::state::StateStore;

/// Something subscribers may want.
#[derive(Clone, Debug)]
pub enum ChainEvent {
    /// A new L2 block, with its logs.
    NewHead {
        header: Box<alloy_consensus::Header>,
        hash: B256,
        logs: Arc<Vec<IncludedLog>>,
    },
    /// A transaction entered the pool.
    PendingTransaction(B256),
}

/// The broadcaster; subscribe with [`ChainEvents::subscribe`].
#[derive(Debug)]
pub struct ChainEvents {
    sender: broadcast::Sender<ChainEvent>,
}

/// Events kept for a slow subscriber before it starts missing some.
const BUFFER: usize = 4096;

impl ChainEvents {
    /// Starts polling every `interval` from the current tip (earlier blocks are not replayed).
    pub async fn start(
        state: StateStore,
        pool: PoolStore,
        interval: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> crate::Result<(Arc<Self>, tokio::task::JoinHandle<()>)> {
        let (sender, _) = broadcast::channel(BUFFER);
        let events = Arc::new(Self { sender });
        let mut last_block = state.latest_block_number().await?;
        let mut last_arrival = pool.latest_arrival().await?;
        let task = {
            let events = events.clone();
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(interval);
                loop {
                    tokio::select! {
                        _ = ticker.tick() => {}
                        _ = stop.changed() => break,
                    }
                    if let Err(e) = events
                        .poll(&state, &pool, &mut last_block, &mut last_arrival)
                        .await
                    {
                        tracing::warn!(error = %e, "polling chain events failed; retrying");
                    }
                }
            })
        };
        Ok((events, task))
    }

    async fn poll(
        &self,
        state: &StateStore,
        pool: &PoolStore,
        last_block: &mut u64,
        last_arrival: &mut i64,
    ) -> crate::Result<()> {
        let latest = state.latest_block_number().await?;
        while *last_block < latest {
            let number = *last_block + 1;
            let Some((header, hash, _)) = state.block_by_number(number).await? else {
                break;
            };
            let logs = state
                .logs(&crate::state::blocks::LogQuery {
                    from_block: number,
                    to_block: number,
                    ..Default::default()
                })
                .await?;
            // No receivers is not an error: nobody is subscribed right now.
            let _ = self.sender.send(ChainEvent::NewHead {
                header: Box::new(header),
                hash,
                logs: Arc::new(logs),
            });
            *last_block = number;
        }
        for (seq, hash) in pool.arrivals_after(*last_arrival, 1024).await? {
            let _ = self.sender.send(ChainEvent::PendingTransaction(hash));
            *last_arrival = seq;
        }
        Ok(())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ChainEvent> {
        self.sender.subscribe()
    }
}
