//! `zknode dev`: the whole chain on one host with settings that need nothing but a local
//! PostgreSQL — its own database (created if missing), an in-process executor under
//! `./zknode-dev`, and funded developer accounts.
//!
//! The accounts are the first five of the well-known development mnemonic
//! (`test test test test test test test test test test test junk`) that anvil and hardhat also
//! fund, so wallets and scripts written for those chains work unchanged. Their keys are public:
//! never use them on a chain with real value.

use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use zknode_executor::execution::GenesisAccount;

use crate::config::Config;
use crate::error::{NodeError, Result};

/// Private keys of the development accounts.
pub const DEV_KEYS: [&str; 5] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
];

/// Each development account's balance: 10,000 ether.
pub fn dev_balance() -> U256 {
    U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18))
}

/// The development accounts as (address, private key).
pub fn dev_accounts() -> Result<Vec<(Address, &'static str)>> {
    DEV_KEYS
        .iter()
        .map(|key| {
            let signer: PrivateKeySigner = key
                .parse()
                .map_err(|e| NodeError::Config(format!("development key: {e}")))?;
            Ok((signer.address(), *key))
        })
        .collect()
}

/// The genesis of a development chain.
pub fn dev_genesis() -> Result<Vec<GenesisAccount>> {
    Ok(dev_accounts()?
        .into_iter()
        .map(|(address, _)| GenesisAccount {
            address,
            balance: dev_balance(),
            ..Default::default()
        })
        .collect())
}

/// The settings `zknode dev` starts from (a file, variables and flags still override them).
pub fn dev_config() -> Config {
    let mut config = Config::default();
    config.database.url = "postgres://postgres@127.0.0.1:5432/zknode_dev".into();
    config.executor.db_path = "./zknode-dev/executor".into();
    // A development chain runs without proofs: contracts are welcome.
    config.pool.accept_unprovable = true;
    config.sequencer.coinbase = "0x000000000000000000000000000000000000c0de".into();
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_account_is_the_well_known_one() {
        let accounts = dev_accounts().expect("keys parse");
        let first: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .expect("address");
        let second: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
            .parse()
            .expect("address");
        assert_eq!(accounts[0].0, first);
        assert_eq!(accounts[1].0, second);
    }
}
