//! What a training process sets up before its first tensor op: its thread count, candle's
//! element-wise pool and glibc's allocator. Each setting changes speed only, never a result
//! (candle's pool runs element-wise maps, which give the same bits on any split).
//!
//! Measured in docs/bench/model.md and ../shared/notes/candle.md: candle runs element-wise ops
//! on a second pool whose threads busy-wait (`candle_core::utils::BarrierPool`); beside
//! rayon's pool (matmuls and our kernels) the spinning takes cores from the work, and one
//! thread there made MiniLM training steps 20–25 % faster. glibc returns large freed blocks to
//! the kernel, so every step page-faults its activations again; keeping them mapped made steps
//! 20–37 % faster.

/// Threads of candle's element-wise pool unless the user chose (`CANDLE_NUM_THREADS`).
const CANDLE_ELEMENTWISE_THREADS: &str = "1";

/// Blocks up to this size come from the heap, not from their own `mmap` (glibc's maximum,
/// 32 MiB; the default adapts upwards from 128 KiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 * 1024 * 1024;

/// Free memory at the top of the heap is returned to the kernel only past this much (the
/// largest value `mallopt` takes; glibc's default is 128 KiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = libc::c_int::MAX;

/// Sets the worker-thread count (`threads`, else `RAYON_NUM_THREADS`, else every core), one
/// thread for candle's element-wise pool unless `CANDLE_NUM_THREADS` says otherwise, and
/// glibc's allocator to keep freed activations mapped. Returns the thread count.
///
/// Call it first thing in `main`'s command, before any other thread or tensor exists: it
/// writes environment variables, which is only sound while the process has one thread.
pub fn prepare(threads: Option<usize>) -> usize {
    if let Some(n) = threads {
        // SAFETY: documented precondition: no other thread exists yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
    }
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: as above.
        unsafe { std::env::set_var("CANDLE_NUM_THREADS", CANDLE_ELEMENTWISE_THREADS) };
    }
    keep_freed_memory_mapped();
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// glibc's `mallopt` with the thresholds above; a user's `GLIBC_TUNABLES` for malloc wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory_mapped() {
    let tuned = std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc."));
    if tuned {
        return;
    }
    // SAFETY: mallopt only changes allocator parameters; it is called before other threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

/// Other platforms keep their allocator's defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory_mapped() {}
