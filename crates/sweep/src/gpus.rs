//! GPU slots of the local pool: which GPU the next job runs on, so that no GPU runs more than
//! its share of jobs at once.

/// Why a set of GPU slots cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpuSlotsError {
    /// The GPU list is empty.
    #[error("no GPU to run jobs on")]
    NoGpus,
    /// Zero jobs per GPU.
    #[error("jobs per GPU must be at least 1")]
    ZeroPerGpu,
    /// A GPU is listed twice.
    #[error("GPU {0} is listed twice")]
    Duplicate(usize),
}

/// Which GPUs to run jobs on, and how many jobs each runs at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuOptions {
    /// CUDA indices of the GPUs (each child gets `--device cuda:<index>`).
    pub gpus: Vec<usize>,
    /// Jobs each GPU runs at once (at least 1).
    pub per_gpu: usize,
}

impl GpuOptions {
    /// Jobs all the GPUs run at once: GPUs × jobs per GPU.
    pub fn capacity(&self) -> usize {
        self.gpus.len().saturating_mul(self.per_gpu)
    }
}

/// A slot allocator over GPUs: [`acquire`](Self::acquire) gives the least-loaded GPU that
/// has a free slot (the lowest index among equally loaded ones), [`release`](Self::release)
/// frees a slot again.
#[derive(Debug, Clone)]
pub struct GpuSlots {
    /// (GPU index, jobs running on it), by GPU index.
    load: Vec<(usize, usize)>,
    per_gpu: usize,
}

impl GpuSlots {
    /// Slots for `options.gpus`, `options.per_gpu` each, all free.
    pub fn new(options: &GpuOptions) -> Result<Self, GpuSlotsError> {
        if options.gpus.is_empty() {
            return Err(GpuSlotsError::NoGpus);
        }
        if options.per_gpu == 0 {
            return Err(GpuSlotsError::ZeroPerGpu);
        }
        let mut gpus = options.gpus.clone();
        gpus.sort_unstable();
        if let Some(w) = gpus.windows(2).find(|w| w[0] == w[1]) {
            return Err(GpuSlotsError::Duplicate(w[0]));
        }
        Ok(Self {
            load: gpus.into_iter().map(|g| (g, 0)).collect(),
            per_gpu: options.per_gpu,
        })
    }

    /// Takes a slot on the least-loaded GPU with a free one (lowest index on ties); `None`
    /// when every GPU is full.
    pub fn acquire(&mut self) -> Option<usize> {
        let per_gpu = self.per_gpu;
        // `min_by_key` keeps the first of equal keys: the lowest index, as `load` is sorted.
        let slot = self
            .load
            .iter_mut()
            .filter(|(_, n)| *n < per_gpu)
            .min_by_key(|(_, n)| *n)?;
        slot.1 += 1;
        Some(slot.0)
    }

    /// Frees a slot of `gpu`; false (and nothing changes) when `gpu` has no slot taken.
    pub fn release(&mut self, gpu: usize) -> bool {
        match self.load.iter_mut().find(|(g, n)| *g == gpu && *n > 0) {
            Some(slot) => {
                slot.1 -= 1;
                true
            }
            None => false,
        }
    }

    /// Jobs running on `gpu` (0 for a GPU not in the list).
    pub fn running_on(&self, gpu: usize) -> usize {
        self.load
            .iter()
            .find(|(g, _)| *g == gpu)
            .map_or(0, |(_, n)| *n)
    }

    /// Slots taken, over all GPUs.
    pub fn in_use(&self) -> usize {
        self.load.iter().map(|(_, n)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(gpus: &[usize], per_gpu: usize) -> GpuSlots {
        GpuSlots::new(&GpuOptions {
            gpus: gpus.to_vec(),
            per_gpu,
        })
        .unwrap()
    }

    #[test]
    fn spreads_over_the_gpus_before_doubling_up() {
        let mut s = slots(&[3, 0, 2], 2);
        let got: Vec<_> = std::iter::from_fn(|| s.acquire()).collect();
        assert_eq!(got, [0, 2, 3, 0, 2, 3]);
        assert_eq!(s.in_use(), 6);
        assert_eq!(s.acquire(), None, "all full");
        assert!(s.release(2));
        assert_eq!(s.running_on(2), 1);
        assert_eq!(s.acquire(), Some(2), "the only free slot");
        assert!(s.release(3) && s.release(3));
        assert!(s.release(0));
        // GPU 3 is idle, GPU 0 runs one: the least loaded wins over the lowest index.
        assert_eq!(s.acquire(), Some(3));
        assert_eq!(s.acquire(), Some(0), "a tie between 0 and 3 goes to 0");
    }

    #[test]
    fn one_job_per_gpu_and_release_of_idle_or_unknown_gpus() {
        let mut s = slots(&[1], 1);
        assert_eq!(s.acquire(), Some(1));
        assert_eq!(s.acquire(), None);
        assert!(!s.release(7), "not a listed GPU");
        assert!(s.release(1));
        assert!(!s.release(1), "nothing left to free");
        assert_eq!(s.in_use(), 0);
        assert_eq!(s.running_on(7), 0);
    }

    #[test]
    fn bad_options_are_refused() {
        let new = |gpus: &[usize], per_gpu| {
            GpuSlots::new(&GpuOptions {
                gpus: gpus.to_vec(),
                per_gpu,
            })
            .map(|_| ())
        };
        assert_eq!(new(&[], 1), Err(GpuSlotsError::NoGpus));
        assert_eq!(new(&[0], 0), Err(GpuSlotsError::ZeroPerGpu));
        assert_eq!(new(&[0, 2, 0], 1), Err(GpuSlotsError::Duplicate(0)));
        let o = GpuOptions {
            gpus: vec![0, 1, 2],
            per_gpu: 2,
        };
        assert_eq!(o.capacity(), 6);
    }
}
