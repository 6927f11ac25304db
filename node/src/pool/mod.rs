//! The transaction pool: what `eth_sendRawTransaction` accepts ([`validation`]) and where accepted
//! transactions live until the sequencer takes them (the `pool` schema).

pub mod store;
pub mod validation;
