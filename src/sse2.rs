//! Byte-class tests on sixteen bytes at a time, shared by the scans that
//! use SSE2.

use std::arch::x86_64::*;

/// Sixteen copies of `b`.
#[inline(always)]
pub(crate) fn splat(b: u8) -> __m128i {
    // SAFETY: every x86-64 CPU has SSE2 (the build enables it).
    unsafe { _mm_set1_epi8(b as i8) }
}

/// All ones in the lanes of `x` from `lo` to `hi`, both ASCII (signed
/// compares: bytes from 0x80 are never within).
#[inline(always)]
pub(crate) fn within(x: __m128i, lo: u8, hi: u8) -> __m128i {
    // SAFETY: every x86-64 CPU has SSE2 (the build enables it).
    unsafe {
        _mm_and_si128(
            _mm_cmpgt_epi8(x, splat(lo - 1)),
            _mm_cmplt_epi8(x, splat(hi + 1)),
        )
    }
}

/// The bytes of `short` (under sixteen) followed by spaces, for a test of
/// sixteen bytes at a time that finds nothing in a space.
#[inline(always)]
pub(crate) fn padded_with_spaces(short: &[u8]) -> [u8; 16] {
    let mut block = [b' '; 16];
    block[..short.len()].copy_from_slice(short);
    block
}
