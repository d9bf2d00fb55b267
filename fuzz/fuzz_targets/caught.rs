//! For targets whose library function catches panics on purpose (a dependency's decoder must
//! not take a batch down): such a panic is the designed behaviour, not a crash, so it must not
//! abort the fuzzer (libfuzzer-sys's panic hook aborts on every panic, caught or not). Each
//! distinct panic location is still printed and its input saved as `caught-<n>` next to the
//! crash artifacts (`FUZZ_CAUGHT_DIR`), to become a regression test. A panic that escapes the
//! target still aborts: libfuzzer-sys aborts when the target itself unwinds.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Mutex, Once};

thread_local! {
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

static LOCATIONS: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Runs `target` on `data` with caught panics recorded instead of aborting.
pub fn run(data: &[u8], target: impl FnOnce(&[u8])) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(record)));
    INPUT.with(|input| {
        let mut input = input.borrow_mut();
        input.clear();
        input.extend_from_slice(data);
    });
    target(data);
}

fn record(info: &std::panic::PanicHookInfo<'_>) {
    let location = info.location().map_or_else(
        || "unknown".to_string(),
        |l| format!("{}:{}", l.file(), l.line()),
    );
    let mut locations = LOCATIONS.lock().unwrap_or_else(|e| e.into_inner());
    let seen = locations.get_or_insert_with(HashSet::new);
    if !seen.insert(location.clone()) {
        return;
    }
    eprintln!("caught panic #{} at {location}: {info}", seen.len());
    if let Ok(folder) = std::env::var("FUZZ_CAUGHT_DIR") {
        let path = format!("{folder}/caught-{}", seen.len());
        INPUT.with(|input| {
            if let Err(error) = std::fs::write(&path, &*input.borrow()) {
                eprintln!("cannot save {path}: {error}");
            }
        });
    }
}
