//! Spare pixel buffers, kept per worker thread from one photo to the next.
//!
//! A 24 MP photo decodes into 72 MB. Memory that large comes fresh from the kernel (the allocator
//! maps it), and the kernel faults it in 4 KiB at a time: about 45 ms a photo on the
//! development machine, half the decode itself. The next photo of a shoot is almost always the
//! same size, so the worker keeps the last photo's buffers and decodes (and rotates) into them.

use std::cell::RefCell;

/// How many spare buffers a worker keeps: the decode's, the rotation's (or the colour
/// conversion's copy) and the largest derivative's.
const SPARES_PER_THREAD: usize = 3;
/// Larger buffers (a panorama, a scan) are released: keeping one would pin its memory for the
/// rest of the run.
const LARGEST_KEPT_BYTES: usize = 160 << 20;

thread_local! {
    static SPARES: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of exactly `len` bytes, initialised but with unspecified contents (the last photo's
/// pixels, or zeros): the caller overwrites all of it.
pub fn take(len: usize) -> Vec<u8> {
    let spare = SPARES.with(|spares| {
        let mut spares = spares.borrow_mut();
        let fitting = spares
            .iter()
            .enumerate()
            .filter(|(_, buffer)| buffer.capacity() >= len)
            .min_by_key(|(_, buffer)| buffer.capacity())
            .map(|(index, _)| index);
        fitting.map(|index| spares.swap_remove(index))
    });
    match spare {
        Some(mut buffer) => {
            // Within the capacity, so this only fills what the last photo did not use.
            buffer.resize(len, 0);
            buffer
        }
        None => vec![0; len],
    }
}

/// Gives a buffer back for the next photo on this thread (the smallest spare makes room).
pub fn give(buffer: Vec<u8>) {
    if buffer.capacity() == 0 || buffer.capacity() > LARGEST_KEPT_BYTES {
        return;
    }
    SPARES.with(|spares| {
        let mut spares = spares.borrow_mut();
        spares.push(buffer);
        if spares.len() > SPARES_PER_THREAD {
            let smallest = (0..spares.len())
                .min_by_key(|&index| spares[index].capacity())
                .unwrap_or(0);
            spares.swap_remove(smallest);
        }
    });
}

/// Frees this thread's spare buffers: when no photo will be decoded on it any more, so the
/// memory is free for the decide and finish passes (and stays out of their peak).
pub fn release_spares() {
    SPARES.with(|spares| spares.borrow_mut().clear());
}

/// Photos finished (by all workers) between two trims of the allocator's heaps.
const PHOTOS_PER_TRIM: u32 = 8;

/// Process-wide: a trim covers every worker's heap, and a desk's batches run on fresh threads.
static PHOTOS_SINCE_TRIM: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Called after each photo: every 8 photos, hands memory freed inside glibc's heaps back to the
/// system. The CLI allocates through jemalloc (`main.rs`), which returns freed pages itself; this
/// covers the C codecs' work arrays, and a library user still on glibc's malloc, whose heaps
/// otherwise kept free holes between each photo's small records, so peak RSS grew with the shoot
/// (135 MB at 300 small portraits, 167 MB at 3,000). Not after every photo: the next one faults
/// the returned pages in again (about 8 ms of system time per small portrait; every 8, under 1 ms).
pub fn photo_done() {
    use std::sync::atomic::Ordering;
    let finished = PHOTOS_SINCE_TRIM.fetch_add(1, Ordering::Relaxed) + 1;
    if !finished.is_multiple_of(PHOTOS_PER_TRIM) {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused pages of glibc's heaps to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_comes_back_without_a_new_allocation() {
        let buffer = take(3000);
        let address = buffer.as_ptr();
        give(buffer);
        let again = take(2000);
        assert_eq!(again.len(), 2000);
        assert_eq!(again.as_ptr(), address, "the spare is reused");
        let bigger = take(5000);
        assert_eq!(bigger.len(), 5000);
        assert_ne!(
            bigger.as_ptr(),
            address,
            "too small a spare is not stretched"
        );
    }

    #[test]
    fn keeps_the_largest_spares_only() {
        give(vec![0; 10]);
        give(vec![0; 30]);
        give(vec![0; 20]);
        give(vec![0; 40]);
        let capacities: Vec<usize> =
            SPARES.with(|spares| spares.borrow().iter().map(Vec::capacity).collect());
        assert_eq!(capacities.len(), SPARES_PER_THREAD);
        assert!(!capacities.contains(&10), "the smallest made room");
        give(Vec::with_capacity(LARGEST_KEPT_BYTES + 1));
        assert_eq!(
            SPARES.with(|spares| spares.borrow().len()),
            SPARES_PER_THREAD
        );
    }
}
