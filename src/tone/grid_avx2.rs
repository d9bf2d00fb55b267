//! The colour grid's tetrahedral interpolation, eight pixels at a time with AVX2.
//!
//! The scalar loop spends most of its time choosing the tetrahedron (data-dependent) and
//! interpolating three channels one by one; here both run on eight pixels in vector lanes and
//! the four corner nodes come in with one gather each (a node is one packed u32). The arithmetic is the scalar loop's, in the same
//! order and integer widths, so the output is identical byte for byte (tested below).

use std::arch::x86_64::*;

use super::{
    ColourLut, GridCoord, FRACTION_BITS, NODE_CHANNEL_BITS, NODE_CHANNEL_MASK, NODE_SUBCODE_BITS,
};

const LANES: usize = 8;

/// Maps as many whole groups of eight pixels of `row` as it holds; returns how many pixels it
/// mapped (the caller does the rest). Does nothing without AVX2.
pub(super) fn map_row(grid: &ColourLut, row: &mut [u8], tables: &[[GridCoord; 256]; 3]) -> usize {
    if !is_x86_feature_detected!("avx2") {
        return 0;
    }
    let far_corner = grid.size * grid.size + grid.size + 1;
    // Gathers are unchecked: prove every node read stays inside `nodes`.
    let highest_base: usize = tables
        .iter()
        .map(|table| {
            table
                .iter()
                .map(|coord| coord.offset as usize)
                .max()
                .unwrap_or(0)
        })
        .sum();
    assert!(
        highest_base + far_corner < grid.nodes.len(),
        "colour grid input tables point outside the grid"
    );
    let groups = row.len() / (3 * LANES);
    // SAFETY: AVX2 is present (checked above) and every gathered node index is at most
    // `highest_base + far_corner`, inside `nodes` (asserted above).
    unsafe { map_groups(grid, &mut row[..groups * 3 * LANES], tables, far_corner) };
    groups * LANES
}

#[target_feature(enable = "avx2")]
unsafe fn map_groups(
    grid: &ColourLut,
    row: &mut [u8],
    tables: &[[GridCoord; 256]; 3],
    far_corner: usize,
) {
    let red_step = _mm256_set1_epi32((grid.size * grid.size) as i32);
    let green_step = _mm256_set1_epi32(grid.size as i32);
    let blue_step = _mm256_set1_epi32(1);
    let far = _mm256_set1_epi32(far_corner as i32);
    let channel_mask = _mm256_set1_epi32(NODE_CHANNEL_MASK as i32);
    let rounding = _mm256_set1_epi32(1 << (FRACTION_BITS - 1));
    let byte_rounding = _mm256_set1_epi32(1 << (NODE_SUBCODE_BITS - 1));
    let nodes = grid.nodes.as_ptr() as *const i32;

    for group in row.chunks_exact_mut(3 * LANES) {
        let (mut base, mut fr, mut fg, mut fb) =
            ([0i32; LANES], [0; LANES], [0; LANES], [0; LANES]);
        for (lane, pixel) in group.chunks_exact(3).enumerate() {
            let red = tables[0][pixel[0] as usize];
            let green = tables[1][pixel[1] as usize];
            let blue = tables[2][pixel[2] as usize];
            base[lane] = (red.offset + green.offset + blue.offset) as i32;
            fr[lane] = i32::from(red.fraction);
            fg[lane] = i32::from(green.fraction);
            fb[lane] = i32::from(blue.fraction);
        }
        let load = |values: &[i32; LANES]| _mm256_loadu_si256(values.as_ptr() as *const __m256i);
        let (base, fr, fg, fb) = (load(&base), load(&fr), load(&fg), load(&fb));

        // Weights by decreasing fraction; corners walk the axes in that order (see map_row).
        let w1 = _mm256_max_epi32(_mm256_max_epi32(fr, fg), fb);
        let w3 = _mm256_min_epi32(_mm256_min_epi32(fr, fg), fb);
        let w2 = _mm256_sub_epi32(
            _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(fr, fg), fb), w1),
            w3,
        );
        let first_corner = _mm256_blendv_epi8(
            _mm256_blendv_epi8(blue_step, green_step, _mm256_cmpeq_epi32(fg, w1)),
            red_step,
            _mm256_cmpeq_epi32(fr, w1),
        );
        let last_axis = _mm256_blendv_epi8(
            _mm256_blendv_epi8(red_step, green_step, _mm256_cmpeq_epi32(fg, w3)),
            blue_step,
            _mm256_cmpeq_epi32(fb, w3),
        );
        let second_corner = _mm256_sub_epi32(far, last_axis);

        let corner = |offset: __m256i| {
            let packed = _mm256_i32gather_epi32::<4>(nodes, _mm256_add_epi32(base, offset));
            [
                _mm256_and_si256(packed, channel_mask),
                _mm256_and_si256(
                    _mm256_srli_epi32::<{ NODE_CHANNEL_BITS as i32 }>(packed),
                    channel_mask,
                ),
                _mm256_srli_epi32::<{ 2 * NODE_CHANNEL_BITS as i32 }>(packed),
            ]
        };
        let c0 = corner(_mm256_setzero_si256());
        let c1 = corner(first_corner);
        let c2 = corner(second_corner);
        let c3 = corner(far);

        let mut out = [[0i32; LANES]; 3];
        for channel in 0..3 {
            let (v0, v1, v2, v3) = (c0[channel], c1[channel], c2[channel], c3[channel]);
            let blend = _mm256_add_epi32(
                _mm256_add_epi32(
                    _mm256_mullo_epi32(w1, _mm256_sub_epi32(v1, v0)),
                    _mm256_mullo_epi32(w2, _mm256_sub_epi32(v2, v1)),
                ),
                _mm256_mullo_epi32(w3, _mm256_sub_epi32(v3, v2)),
            );
            let value = _mm256_add_epi32(
                v0,
                _mm256_srai_epi32::<{ FRACTION_BITS as i32 }>(_mm256_add_epi32(blend, rounding)),
            );
            let byte = _mm256_srai_epi32::<{ NODE_SUBCODE_BITS as i32 }>(_mm256_add_epi32(
                value,
                byte_rounding,
            ));
            _mm256_storeu_si256(out[channel].as_mut_ptr() as *mut __m256i, byte);
        }
        for (lane, pixel) in group.chunks_exact_mut(3).enumerate() {
            pixel[0] = out[0][lane] as u8;
            pixel[1] = out[1][lane] as u8;
            pixel[2] = out[2][lane] as u8;
        }
    }
}
