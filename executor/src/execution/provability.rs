//! Whether the batch AIR can prove a transaction.
//!
//! The batch AIR grows in rungs. The first rung proves plain value transfers between accounts
//! without code; everything else is executed (and its state changes are in the witness) but marked
//! [`Provability::NotProvable`] with the first reason found, so the sequencer can keep such
//! transactions out of batches that must be proven today.

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
}

impl NotProvableReason {
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
}

/// Classifies a transaction against the first rung (plain value transfers between accounts without
/// code). Reasons are checked in a fixed order, so the verdict is deterministic.
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
        }
    }

    #[test]
    fn plain_transfer_is_provable_and_each_deviation_names_its_reason() {
        assert_eq!(classify(&transfer()), Provability::Provable);
        type Change = fn(&mut TransferShape);
        let cases: [(Change, NotProvableReason); 6] = [
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
        ];
        for (change, reason) in cases {
            let mut shape = transfer();
            change(&mut shape);
            assert_eq!(classify(&shape), Provability::NotProvable { reason });
        }
    }
}
