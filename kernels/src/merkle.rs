//! Host-side Merkle helpers shared by all backends: conversion of a downloaded tree into plonky2's
//! `MerkleTree`, and proof extraction from the plonky2 digest layout.
