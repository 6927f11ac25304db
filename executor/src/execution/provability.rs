//! Whether the batch AIR can prove a transaction.
//!
//! The batch AIR grows in rungs. The current rung proves plain value transfers between accounts
//! without code where the sender, the recipient and the coinbase are three distinct accounts and no
//! balance leaf is set to zero (the AIR does not prove leaf deletion yet); everything else is
//! executed (and its state changes are in the witness) but marked [`Provability::NotProvable`] with
//! the first reason found, so the sequencer can keep such transactions out of batches that must be
//! proven today.

use serde::{Deserialize, Serialize};

/// Why the batch AIR cannot prove a transaction (yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotProvableReason {
    /// The transaction was not included (invalid): there is nothing to prove about it.
    NotIncluded,
    /// A contract creation (no recipient).
    ContractCreation,
    /// The transaction carries calldata.
    HasCalldata,
    /// The recipient has code, so the call executes EVM instructions.
    RecipientHasCode,
    /// The sender has code (not an externally owned account).
    SenderHasCode,
    /// The transaction carries an EIP-2930 access list (its warm-up gas is not in the transfer AIR).
    HasAccessList,
    /// The transaction did not succeed (reverted or halted).
    NotSuccessful,
    /// The recipient is a precompile address (0x01..=0xff): the call runs precompile code.
    RecipientIsPrecompile,
    // New variants go at the end: serde (and the proto enum) name them, but anything that indexes
    // the enum by declaration order stays stable this way.
    /// The sender pays itself: the transfer rows update one balance leaf twice.
    SenderIsRecipient,
    /// The coinbase is the sender or the recipient: the fee credit lands on a party's leaf.
    CoinbaseIsParty,
    /// The sender's balance becomes exactly zero, which deletes its balance leaf (the AIR does not
    /// prove leaf deletion yet).
    EmptiesBalance,
}

impl NotProvableReason {
    /// Every reason, in declaration order (for exhaustive round-trip checks).
    pub const ALL: [NotProvableReason; 11] = [
        NotProvableReason::NotIncluded,
        NotProvableReason::ContractCreation,
        NotProvableReason::HasCalldata,
        NotProvableReason::RecipientHasCode,
        NotProvableReason::SenderHasCode,
        NotProvableReason::HasAccessList,
        NotProvableReason::NotSuccessful,
        NotProvableReason::RecipientIsPrecompile,
        NotProvableReason::SenderIsRecipient,
        NotProvableReason::CoinbaseIsParty,
        NotProvableReason::EmptiesBalance,
    ];

    /// A short human-readable description.
    pub fn description(self) -> &'static str {
        match self {
            NotProvableReason::NotIncluded => "transaction not included in the block",
            NotProvableReason::ContractCreation => "contract creation",
            NotProvableReason::HasCalldata => "non-empty calldata",
            NotProvableReason::RecipientHasCode => "recipient has code",
            NotProvableReason::SenderHasCode => "sender has code",
            NotProvableReason::HasAccessList => "non-empty access list",
            NotProvableReason::NotSuccessful => "execution reverted or halted",
            NotProvableReason::RecipientIsPrecompile => "recipient is a precompile",
            NotProvableReason::SenderIsRecipient => "sender is the recipient",
            NotProvableReason::CoinbaseIsParty => "the coinbase is the sender or the recipient",
            NotProvableReason::EmptiesBalance => {
                "the sender's balance becomes exactly zero (leaf deletion is not yet provable)"
            }
        }
    }
}

impl std::fmt::Display for NotProvableReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.description())
    }
}

/// The verdict for one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Provability {
    /// The batch AIR's current rung proves this transaction.
    Provable,
    /// It does not, for this (first found) reason.
    NotProvable { reason: NotProvableReason },
}

impl Provability {
    /// Whether the transaction is provable.
    pub fn is_provable(&self) -> bool {
        matches!(self, Provability::Provable)
    }
}

/// What the classifier needs to know about an executed transaction.
#[derive(Clone, Copy, Debug)]
pub struct TransferShape {
    /// Included in the block (valid).
    pub included: bool,
    /// Whether it succeeded.
    pub success: bool,
    /// Whether it has a recipient (not a creation).
    pub has_recipient: bool,
    /// Whether the recipient is in the precompile range.
    pub recipient_is_precompile: bool,
    /// Calldata length.
    pub calldata_len: usize,
    /// Access-list entries.
    pub access_list_len: usize,
    /// The sender had code before the transaction.
    pub sender_has_code: bool,
    /// The recipient had code before the transaction.
    pub recipient_has_code: bool,
    /// The sender and the recipient are the same account.
    pub sender_is_recipient: bool,
    /// The coinbase is the sender or the recipient.
    pub coinbase_is_party: bool,
    /// The transaction takes the sender's balance from non-zero to exactly zero. Only the sender's
    /// balance can fall in a transfer (the recipient and the coinbase only receive), so this is
    /// the one way a transfer sets a balance leaf to zero.
    pub empties_sender_balance: bool,
}

/// Classifies a transaction against the current rung (plain value transfers between three distinct
/// accounts without code that empty no balance). Reasons are checked in a fixed order, so the
/// verdict is deterministic:
///
/// 1. [`NotIncluded`](NotProvableReason::NotIncluded)
/// 2. [`ContractCreation`](NotProvableReason::ContractCreation)
/// 3. [`HasCalldata`](NotProvableReason::HasCalldata)
/// 4. [`HasAccessList`](NotProvableReason::HasAccessList)
/// 5. [`RecipientIsPrecompile`](NotProvableReason::RecipientIsPrecompile)
/// 6. [`SenderHasCode`](NotProvableReason::SenderHasCode)
/// 7. [`RecipientHasCode`](NotProvableReason::RecipientHasCode)
/// 8. [`SenderIsRecipient`](NotProvableReason::SenderIsRecipient)
/// 9. [`CoinbaseIsParty`](NotProvableReason::CoinbaseIsParty)
/// 10. [`EmptiesBalance`](NotProvableReason::EmptiesBalance)
/// 11. [`NotSuccessful`](NotProvableReason::NotSuccessful)
///
/// The shape checks (which accounts take part) come before the balance check, which depends on
/// the amounts; a failed transfer is reported last because every earlier reason explains it better.
pub fn classify(shape: &TransferShape) -> Provability {
    let reason = if !shape.included {
        Some(NotProvableReason::NotIncluded)
    } else if !shape.has_recipient {
        Some(NotProvableReason::ContractCreation)
    } else if shape.calldata_len != 0 {
        Some(NotProvableReason::HasCalldata)
    } else if shape.access_list_len != 0 {
        Some(NotProvableReason::HasAccessList)
    } else if shape.recipient_is_precompile {
        Some(NotProvableReason::RecipientIsPrecompile)
    } else if shape.sender_has_code {
        Some(NotProvableReason::SenderHasCode)
    } else if shape.recipient_has_code {
        Some(NotProvableReason::RecipientHasCode)
    } else if shape.sender_is_recipient {
        Some(NotProvableReason::SenderIsRecipient)
    } else if shape.coinbase_is_party {
        Some(NotProvableReason::CoinbaseIsParty)
    } else if shape.empties_sender_balance {
        Some(NotProvableReason::EmptiesBalance)
    } else if !shape.success {
        Some(NotProvableReason::NotSuccessful)
    } else {
        None
    };
    match reason {
        None => Provability::Provable,
        Some(reason) => Provability::NotProvable { reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer() -> TransferShape {
        TransferShape {
            included: true,
            success: true,
            has_recipient: true,
            recipient_is_precompile: false,
            calldata_len: 0,
            access_list_len: 0,
            sender_has_code: false,
            recipient_has_code: false,
            sender_is_recipient: false,
            coinbase_is_party: false,
            empties_sender_balance: false,
        }
    }

    #[test]
    fn plain_transfer_is_provable_and_each_deviation_names_its_reason() {
        assert_eq!(classify(&transfer()), Provability::Provable);
        type Change = fn(&mut TransferShape);
        let cases: [(Change, NotProvableReason); 9] = [
            (
                |s| s.has_recipient = false,
                NotProvableReason::ContractCreation,
            ),
            (|s| s.calldata_len = 4, NotProvableReason::HasCalldata),
            (
                |s| s.recipient_has_code = true,
                NotProvableReason::RecipientHasCode,
            ),
            (
                |s| s.sender_has_code = true,
                NotProvableReason::SenderHasCode,
            ),
            (|s| s.included = false, NotProvableReason::NotIncluded),
            (
                |s| s.recipient_is_precompile = true,
                NotProvableReason::RecipientIsPrecompile,
            ),
            (
                |s| s.sender_is_recipient = true,
                NotProvableReason::SenderIsRecipient,
            ),
            (
                |s| s.coinbase_is_party = true,
                NotProvableReason::CoinbaseIsParty,
            ),
            (
                |s| s.empties_sender_balance = true,
                NotProvableReason::EmptiesBalance,
            ),
        ];
        for (change, reason) in cases {
            let mut shape = transfer();
            change(&mut shape);
            assert_eq!(classify(&shape), Provability::NotProvable { reason });
        }
    }

    #[test]
    fn a_self_transfer_is_not_provable() {
        let mut shape = transfer();
        shape.sender_is_recipient = true;
        assert_eq!(
            classify(&shape),
            Provability::NotProvable {
                reason: NotProvableReason::SenderIsRecipient
            }
        );
        assert_eq!(
            NotProvableReason::SenderIsRecipient.to_string(),
            "sender is the recipient"
        );
    }

    #[test]
    fn a_transfer_touching_the_coinbase_is_not_provable() {
        let mut shape = transfer();
        shape.coinbase_is_party = true;
        assert_eq!(
            classify(&shape),
            Provability::NotProvable {
                reason: NotProvableReason::CoinbaseIsParty
            }
        );
        assert_eq!(
            NotProvableReason::CoinbaseIsParty.to_string(),
            "the coinbase is the sender or the recipient"
        );
    }

    #[test]
    fn emptying_the_senders_balance_is_not_provable() {
        let mut shape = transfer();
        shape.empties_sender_balance = true;
        assert_eq!(
            classify(&shape),
            Provability::NotProvable {
                reason: NotProvableReason::EmptiesBalance
            }
        );
        assert_eq!(
            NotProvableReason::EmptiesBalance.to_string(),
            "the sender's balance becomes exactly zero (leaf deletion is not yet provable)"
        );
    }

    #[test]
    fn the_first_reason_in_the_documented_order_wins() {
        // Each row turns on its reason and every later one: the verdict must be the row's reason.
        type Change = fn(&mut TransferShape);
        let order: [(Change, NotProvableReason); 5] = [
            (
                |s| s.recipient_has_code = true,
                NotProvableReason::RecipientHasCode,
            ),
            (
                |s| s.sender_is_recipient = true,
                NotProvableReason::SenderIsRecipient,
            ),
            (
                |s| s.coinbase_is_party = true,
                NotProvableReason::CoinbaseIsParty,
            ),
            (
                |s| s.empties_sender_balance = true,
                NotProvableReason::EmptiesBalance,
            ),
            (|s| s.success = false, NotProvableReason::NotSuccessful),
        ];
        for first in 0..order.len() {
            let mut shape = transfer();
            for (change, _) in &order[first..] {
                change(&mut shape);
            }
            assert_eq!(
                classify(&shape),
                Provability::NotProvable {
                    reason: order[first].1
                }
            );
        }
    }

    #[test]
    fn reasons_keep_their_serde_names() {
        // Stored and shipped verdicts name reasons; appending variants must not rename old ones.
        let names: Vec<String> = NotProvableReason::ALL
            .iter()
            .map(|r| serde_json::to_string(r).unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            [
                "\"NotIncluded\"",
                "\"ContractCreation\"",
                "\"HasCalldata\"",
                "\"RecipientHasCode\"",
                "\"SenderHasCode\"",
                "\"HasAccessList\"",
                "\"NotSuccessful\"",
                "\"RecipientIsPrecompile\"",
                "\"SenderIsRecipient\"",
                "\"CoinbaseIsParty\"",
                "\"EmptiesBalance\"",
            ]
        );
    }
}
