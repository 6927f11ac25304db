//! One Poseidon permutation per lane per row: plonky2's width-12 Poseidon (the state tree's), in its
//! plain round form.
//!
//! Columns per lane ([`super::columns::lane`]): the 12 inputs; for each full round the cubes of the 12
//! S-box inputs and the 12 outputs of the round; for each partial round the cube and the S-box output
//! of element 0 (the other 11 elements stay linear in stored columns, so they are recomputed rather
//! than stored); the last full round stores only the 4 output elements the tree uses. Every
//! constraint has degree 3: `cube = x³` and `out = MDS(cube² · x)`.

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;
use plonky2::hash::poseidon::{Poseidon, ALL_ROUND_CONSTANTS};

use super::columns::{lane, FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};
use super::expr::Cx;

type F = GoldilocksField;

fn round_constant(round: usize, i: usize) -> F {
    F::from_canonical_u64(ALL_ROUND_CONSTANTS[WIDTH * round + i])
}

fn mds_circ(i: usize) -> F {
    F::from_canonical_u64(<F as Poseidon>::MDS_MATRIX_CIRC[i])
}

fn mds_diag(i: usize) -> F {
    F::from_canonical_u64(<F as Poseidon>::MDS_MATRIX_DIAG[i])
}

/// plonky2's MDS layer: `out[r] = Σ_i v[(i + r) % 12] · CIRC[i] + v[r] · DIAG[r]`.
fn mds<C: Cx<F> + ?Sized>(cx: &mut C, v: &[C::V; WIDTH]) -> [C::V; WIDTH] {
    std::array::from_fn(|r| {
        let mut acc = cx.scale(v[r], mds_diag(r));
        for i in 0..WIDTH {
            acc = cx.add_scaled(acc, v[(i + r) % WIDTH], mds_circ(i));
        }
        acc
    })
}

fn mds_values(v: &[F; WIDTH]) -> [F; WIDTH] {
    std::array::from_fn(|r| {
        let mut acc = v[r] * mds_diag(r);
        for i in 0..WIDTH {
            acc += v[(i + r) % WIDTH] * mds_circ(i);
        }
        acc
    })
}

/// Constrains the lane at `start` of `row` to be a Poseidon permutation of its inputs; returns the
/// output elements 0..4 (columns).
pub fn eval_lane<C: Cx<F> + ?Sized>(cx: &mut C, row: &[C::V], start: usize) -> [C::V; 4] {
    let col = |i: usize| row[start + i];
    let mut state: [C::V; WIDTH] = std::array::from_fn(|i| col(lane::INPUT + i));
    let mut round = 0;
    for full in 0..FULL_ROUNDS {
        if full == FULL_ROUNDS / 2 {
            for partial in 0..PARTIAL_ROUNDS {
                let mut x: [C::V; WIDTH] = std::array::from_fn(|i| state[i]);
                for (i, xi) in x.iter_mut().enumerate() {
                    let c = cx.constant(round_constant(round, i));
                    *xi = cx.add(*xi, c);
                }
                let cube = col(lane::partial_cube(partial));
                let sbox = col(lane::partial_sbox(partial));
                let x2 = cx.mul(x[0], x[0]);
                let x3 = cx.mul(x2, x[0]);
                let d = cx.sub(cube, x3);
                cx.zero(d);
                let c2 = cx.mul(cube, cube);
                let y = cx.mul(c2, x[0]);
                let d = cx.sub(sbox, y);
                cx.zero(d);
                x[0] = sbox;
                state = mds(cx, &x);
                round += 1;
            }
        }
        let cubes = lane::full_cubes(full);
        let mut y: [C::V; WIDTH] = state;
        for (i, yi) in y.iter_mut().enumerate() {
            let c = cx.constant(round_constant(round, i));
            let x = cx.add(state[i], c);
            let cube = col(cubes + i);
            let x2 = cx.mul(x, x);
            let x3 = cx.mul(x2, x);
            let d = cx.sub(cube, x3);
            cx.zero(d);
            let c2 = cx.mul(cube, cube);
            *yi = cx.mul(c2, x);
        }
        let out = mds(cx, &y);
        let stored = if full + 1 == FULL_ROUNDS { 4 } else { WIDTH };
        let base = lane::full_state(full);
        for (i, &o) in out.iter().enumerate().take(stored) {
            let d = cx.sub(col(base + i), o);
            cx.zero(d);
        }
        state = std::array::from_fn(|i| if i < stored { col(base + i) } else { out[i] });
        round += 1;
    }
    std::array::from_fn(|i| col(lane::OUTPUT + i))
}

/// Fills the lane at `start` of `row` with the permutation of `input`; returns output elements 0..4.
pub fn fill_lane(row: &mut [F], start: usize, input: [F; WIDTH]) -> [F; 4] {
    row[start + lane::INPUT..start + lane::INPUT + WIDTH].copy_from_slice(&input);
    let mut state = input;
    let mut round = 0;
    for full in 0..FULL_ROUNDS {
        if full == FULL_ROUNDS / 2 {
            for partial in 0..PARTIAL_ROUNDS {
                let mut x: [F; WIDTH] =
                    std::array::from_fn(|i| state[i] + round_constant(round, i));
                let cube = x[0] * x[0] * x[0];
                let sbox = cube * cube * x[0];
                row[start + lane::partial_cube(partial)] = cube;
                row[start + lane::partial_sbox(partial)] = sbox;
                x[0] = sbox;
                state = mds_values(&x);
                round += 1;
            }
        }
        let cubes = lane::full_cubes(full);
        let mut y = [F::ZERO; WIDTH];
        for i in 0..WIDTH {
            let x = state[i] + round_constant(round, i);
            let cube = x * x * x;
            row[start + cubes + i] = cube;
            y[i] = cube * cube * x;
        }
        state = mds_values(&y);
        let stored = if full + 1 == FULL_ROUNDS { 4 } else { WIDTH };
        let base = lane::full_state(full);
        row[start + base..start + base + stored].copy_from_slice(&state[..stored]);
        round += 1;
    }
    std::array::from_fn(|i| state[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::columns::LANE_WIDTH;
    use plonky2::field::types::Sample;

    #[test]
    fn lane_output_is_plonky2_poseidon() {
        for seed in 0..8u64 {
            let input: [F; WIDTH] = if seed == 0 {
                [F::ZERO; WIDTH]
            } else {
                std::array::from_fn(|_| F::rand())
            };
            let mut row = vec![F::ZERO; LANE_WIDTH];
            let out = fill_lane(&mut row, 0, input);
            let expected = <F as Poseidon>::poseidon(input);
            assert_eq!(out, expected[..4]);
        }
    }
}
