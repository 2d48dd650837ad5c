use std::process::ExitCode;

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// mimalloc: measurably less CPU per request than glibc's allocator on the token paths
/// (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (v3), which libmimalloc-sys does not name.
const PURGE_DELAY: mi_option_t = 15;

fn main() -> ExitCode {
    // Freed memory goes back to the OS at once. mimalloc otherwise purges only during
    // later allocator calls, so an idle server would keep its peak (one argon2id hash
    // is 19 MiB).
    // SAFETY: sets a number in mimalloc's option table; any value is valid.
    unsafe { mi_option_set(PURGE_DELAY, 0) };
    portico::cli::main()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_option_number_is_mimallocs() {
        // Its default in mimalloc v3 is 1000 ms (src/options.c): another option would
        // answer otherwise.
        // SAFETY: reads a number from mimalloc's option table.
        let value = unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        assert_eq!(value, 1000);
    }
}
