-- zkNode's State DB and Pool DB. One database, two schemas: `state` (what the chain is) and `pool`
-- (what users asked for). Several RPC instances and one sequencer share it.
--
-- Hashes, addresses and 256-bit values are stored as raw bytes (BYTEA, fixed lengths checked);
-- amounts as NUMERIC(78,0) so they sort and compare as numbers. Block and batch numbers are BIGINT.

CREATE SCHEMA IF NOT EXISTS state;
CREATE SCHEMA IF NOT EXISTS pool;

-- L1 blocks the synchronizer has seen (reorgs delete from a block number upward, cascading).
CREATE TABLE state.l1_block (
    block_num   BIGINT PRIMARY KEY,
    block_hash  BYTEA NOT NULL CHECK (length(block_hash) = 32),
    parent_hash BYTEA NOT NULL CHECK (length(parent_hash) = 32),
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Batches: trusted when the sequencer closes them, virtual once sequenced on L1, verified once a
-- proof covering them is accepted on L1.
CREATE TABLE state.batch (
    batch_num        BIGINT PRIMARY KEY,
    global_exit_root BYTEA NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
                     CHECK (length(global_exit_root) = 32),
    local_exit_root  BYTEA CHECK (local_exit_root IS NULL OR length(local_exit_root) = 32),
    state_root       BYTEA CHECK (state_root IS NULL OR length(state_root) = 32),
    acc_input_hash   BYTEA CHECK (acc_input_hash IS NULL OR length(acc_input_hash) = 32),
    timestamp        TIMESTAMPTZ NOT NULL,
    coinbase         BYTEA NOT NULL CHECK (length(coinbase) = 20),
    raw_txs_data     BYTEA NOT NULL DEFAULT ''::bytea,
    closed           BOOLEAN NOT NULL DEFAULT FALSE,
    closing_reason   TEXT,
    counters         JSONB
);

CREATE TABLE state.virtual_batch (
    batch_num    BIGINT PRIMARY KEY REFERENCES state.batch (batch_num) ON DELETE CASCADE,
    tx_hash      BYTEA NOT NULL CHECK (length(tx_hash) = 32),
    coinbase     BYTEA NOT NULL CHECK (length(coinbase) = 20),
    block_num    BIGINT NOT NULL REFERENCES state.l1_block (block_num) ON DELETE CASCADE
);

CREATE TABLE state.verified_batch (
    batch_num    BIGINT PRIMARY KEY REFERENCES state.batch (batch_num) ON DELETE CASCADE,
    tx_hash      BYTEA NOT NULL CHECK (length(tx_hash) = 32),
    aggregator   BYTEA NOT NULL CHECK (length(aggregator) = 20),
    state_root   BYTEA NOT NULL CHECK (length(state_root) = 32),
    block_num    BIGINT NOT NULL REFERENCES state.l1_block (block_num) ON DELETE CASCADE,
    is_trusted   BOOLEAN NOT NULL DEFAULT TRUE
);

-- Proofs the aggregator produced for a range of batches.
CREATE TABLE state.proof (
    batch_num       BIGINT NOT NULL,
    batch_num_final BIGINT NOT NULL,
    proof           BYTEA,
    proof_id        TEXT,
    prover          TEXT,
    generating_since TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_num, batch_num_final),
    CHECK (batch_num <= batch_num_final)
);

CREATE TABLE state.l2_block (
    block_num    BIGINT PRIMARY KEY,
    block_hash   BYTEA NOT NULL UNIQUE CHECK (length(block_hash) = 32),
    parent_hash  BYTEA NOT NULL CHECK (length(parent_hash) = 32),
    state_root   BYTEA NOT NULL CHECK (length(state_root) = 32),
    -- The executor's committed tree root after this block, where state reads at this block go. It
    -- differs from the header's state root by the system writes that record the block itself.
    tree_root    BYTEA NOT NULL CHECK (length(tree_root) = 32),
    batch_num    BIGINT NOT NULL REFERENCES state.batch (batch_num) ON DELETE CASCADE,
    timestamp    BIGINT NOT NULL,
    coinbase     BYTEA NOT NULL CHECK (length(coinbase) = 20),
    gas_limit    BIGINT NOT NULL,
    gas_used     BIGINT NOT NULL,
    logs_bloom   BYTEA NOT NULL CHECK (length(logs_bloom) = 256),
    header       BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX l2_block_batch_num_idx ON state.l2_block (batch_num);

CREATE TABLE state.transaction (
    hash          BYTEA PRIMARY KEY CHECK (length(hash) = 32),
    block_num     BIGINT NOT NULL REFERENCES state.l2_block (block_num) ON DELETE CASCADE,
    tx_index      INTEGER NOT NULL,
    from_address  BYTEA NOT NULL CHECK (length(from_address) = 20),
    to_address    BYTEA CHECK (to_address IS NULL OR length(to_address) = 20),
    nonce         BIGINT NOT NULL CHECK (nonce >= 0),
    encoded       BYTEA NOT NULL,
    effective_percentage SMALLINT NOT NULL,
    UNIQUE (block_num, tx_index)
);
CREATE INDEX transaction_from_idx ON state.transaction (from_address);

CREATE TABLE state.receipt (
    tx_hash            BYTEA PRIMARY KEY REFERENCES state.transaction (hash) ON DELETE CASCADE,
    tx_type            SMALLINT NOT NULL,
    status             SMALLINT NOT NULL,
    cumulative_gas_used BIGINT NOT NULL,
    gas_used           BIGINT NOT NULL,
    effective_gas_price NUMERIC(78, 0) NOT NULL,
    contract_address   BYTEA CHECK (contract_address IS NULL OR length(contract_address) = 20),
    logs_bloom         BYTEA NOT NULL CHECK (length(logs_bloom) = 256),
    block_num          BIGINT NOT NULL,
    tx_index           INTEGER NOT NULL
);

CREATE TABLE state.log (
    tx_hash    BYTEA NOT NULL REFERENCES state.transaction (hash) ON DELETE CASCADE,
    log_index  INTEGER NOT NULL,
    block_num  BIGINT NOT NULL,
    tx_index   INTEGER NOT NULL,
    address    BYTEA NOT NULL CHECK (length(address) = 20),
    data       BYTEA NOT NULL,
    topic0     BYTEA CHECK (topic0 IS NULL OR length(topic0) = 32),
    topic1     BYTEA CHECK (topic1 IS NULL OR length(topic1) = 32),
    topic2     BYTEA CHECK (topic2 IS NULL OR length(topic2) = 32),
    topic3     BYTEA CHECK (topic3 IS NULL OR length(topic3) = 32),
    PRIMARY KEY (block_num, log_index)
);
CREATE INDEX log_address_idx ON state.log (address, block_num);
CREATE INDEX log_topic0_idx ON state.log (topic0, block_num);

-- The pool. A transaction is durable here before eth_sendRawTransaction returns.
CREATE TABLE pool.transaction (
    hash          BYTEA PRIMARY KEY CHECK (length(hash) = 32),
    -- Arrival order, for pending-transaction filters and subscriptions.
    seq           BIGSERIAL NOT NULL UNIQUE,
    encoded       BYTEA NOT NULL,
    from_address  BYTEA NOT NULL CHECK (length(from_address) = 20),
    nonce         BIGINT NOT NULL CHECK (nonce >= 0),
    gas_price     NUMERIC(78, 0) NOT NULL,
    gas_limit     BIGINT NOT NULL,
    cost          NUMERIC(78, 0) NOT NULL,
    size          INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'selected', 'failed', 'invalid', 'replaced')),
    failed_reason TEXT,
    is_provable   BOOLEAN NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    ip            TEXT
);
-- One live transaction per (sender, nonce): a replacement updates the row in place.
CREATE UNIQUE INDEX pool_transaction_sender_nonce_live
    ON pool.transaction (from_address, nonce) WHERE status IN ('pending', 'selected');
CREATE INDEX pool_transaction_pending_price ON pool.transaction (gas_price DESC, received_at)
    WHERE status = 'pending';

CREATE TABLE pool.blocked_address (
    address BYTEA PRIMARY KEY CHECK (length(address) = 20)
);
