//! Polling filters (`eth_newFilter`, `eth_newBlockFilter`, `eth_newPendingTransactionFilter`,
//! `eth_getFilterChanges`, `eth_getFilterLogs`, `eth_uninstallFilter`). Filters live in the RPC
//! instance that created them, as in geth, and expire after `rpc.filter_timeout_secs` without a poll.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy_rpc_types_eth::Filter;

/// What a filter watches.
#[derive(Clone, Debug)]
pub enum FilterKind {
    Blocks,
    PendingTransactions,
    Logs(Box<Filter>),
}

/// An installed filter and how far its owner has read.
#[derive(Clone, Debug)]
pub struct Installed {
    pub kind: FilterKind,
    /// The last block whose changes were returned.
    pub last_block: u64,
    /// The last pool arrival returned.
    pub last_arrival: i64,
    last_poll: Instant,
}

/// The filters of one RPC instance.
#[derive(Debug)]
pub struct Filters {
    installed: Mutex<HashMap<u64, Installed>>,
    next_id: Mutex<u64>,
    timeout: Duration,
}

impl Filters {
    pub fn new(timeout: Duration) -> Self {
        // Start ids somewhere unpredictable so two instances rarely hand out the same one.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            .rotate_left(17)
            | 1;
        Self {
            installed: Mutex::new(HashMap::new()),
            next_id: Mutex::new(seed),
            timeout,
        }
    }

    fn sweep(map: &mut HashMap<u64, Installed>, timeout: Duration) {
        map.retain(|_, f| f.last_poll.elapsed() < timeout);
    }

    /// Installs a filter starting after `last_block` / `last_arrival`; returns its id.
    pub fn install(&self, kind: FilterKind, last_block: u64, last_arrival: i64) -> u64 {
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(|e| e.into_inner());
            *next = next.wrapping_add(0x9e37_79b9_7f4a_7c15);
            *next
        };
        let mut map = self.installed.lock().unwrap_or_else(|e| e.into_inner());
        Self::sweep(&mut map, self.timeout);
        map.insert(
            id,
            Installed {
                kind,
                last_block,
                last_arrival,
                last_poll: Instant::now(),
            },
        );
        id
    }

    /// The filter (refreshing its expiry), if it exists.
    pub fn get(&self, id: u64) -> Option<Installed> {
        let mut map = self.installed.lock().unwrap_or_else(|e| e.into_inner());
        Self::sweep(&mut map, self.timeout);
        let filter = map.get_mut(&id)?;
        filter.last_poll = Instant::now();
        Some(filter.clone())
    }

    /// Records how far a filter's owner has read.
    pub fn advance(&self, id: u64, last_block: u64, last_arrival: i64) {
        let mut map = self.installed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(filter) = map.get_mut(&id) {
            filter.last_block = filter.last_block.max(last_block);
            filter.last_arrival = filter.last_arrival.max(last_arrival);
        }
    }

    pub fn uninstall(&self, id: u64) -> bool {
        let mut map = self.installed.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&id).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_expire_and_uninstall() {
        let filters = Filters::new(Duration::from_millis(50));
        let a = filters.install(FilterKind::Blocks, 3, 0);
        let b = filters.install(FilterKind::PendingTransactions, 3, 7);
        assert_ne!(a, b);
        assert_eq!(filters.get(b).map(|f| f.last_arrival), Some(7));
        filters.advance(a, 5, 0);
        assert_eq!(filters.get(a).map(|f| f.last_block), Some(5));
        assert!(filters.uninstall(a));
        assert!(!filters.uninstall(a));
        std::thread::sleep(Duration::from_millis(80));
        assert!(filters.get(b).is_none(), "expired");
    }
}
