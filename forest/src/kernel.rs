//! Which walk scores axis-parallel forests on this CPU.
//!
//! The vector walks are chosen at run time, once per process: the best one the CPU supports, or
//! the one named by the `FOREST_KERNEL` environment variable (`scalar`, `avx2` or `avx512`) when
//! the CPU supports it. The variable exists so that every kernel can be benchmarked and compared on
//! one machine (`scripts/bench-forest.sh` does); all kernels give the same scores bit for bit.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// The environment variable that caps the kernel (for benchmarks and comparisons).
pub const KERNEL_ENV: &str = "FOREST_KERNEL";

/// A walk of the perfect-tree layout, from the slowest to the fastest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kernel {
    /// Eight rows at a time through one tree, in plain Rust: every CPU.
    Scalar,
    /// Eight trees per 256-bit vector (`forest/src/layout/avx2.rs`): x86-64 with AVX2.
    Avx2,
    /// Sixteen trees per 512-bit vector (`forest/src/layout/avx512.rs`): x86-64 with AVX-512F.
    Avx512,
}

impl Kernel {
    /// Every kernel, slowest first.
    pub const ALL: [Kernel; 3] = [Kernel::Scalar, Kernel::Avx2, Kernel::Avx512];

    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest kernel this CPU supports.
    pub fn best() -> Kernel {
        Kernel::ALL
            .into_iter()
            .rev()
            .find(|k| k.is_supported())
            .unwrap_or(Kernel::Scalar)
    }

    /// The kernel models built in this process use: [`Kernel::best`], or the fastest supported
    /// kernel no faster than the one `FOREST_KERNEL` names. An unreadable value is ignored (the
    /// variable is a benchmarking aid, not configuration).
    pub fn selected() -> Kernel {
        static SELECTED: OnceLock<Kernel> = OnceLock::new();
        *SELECTED.get_or_init(|| Kernel::capped(std::env::var(KERNEL_ENV).ok().as_deref()))
    }

    /// The fastest supported kernel no faster than `cap` names (all of them when `cap` is absent
    /// or unreadable).
    fn capped(cap: Option<&str>) -> Kernel {
        let cap = cap.and_then(|v| v.parse().ok()).unwrap_or(Kernel::Avx512);
        Kernel::ALL
            .into_iter()
            .rev()
            .find(|k| *k <= cap && k.is_supported())
            .unwrap_or(Kernel::Scalar)
    }

    /// The name `FOREST_KERNEL` takes and benchmarks print.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kernel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kernel::ALL
            .into_iter()
            .find(|k| k.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| format!("unknown kernel {s:?}: expected scalar, avx2 or avx512"))
    }
}

#[cfg(test)]
mod tests {
    use super::Kernel;

    #[test]
    fn names_read_back_and_the_best_kernel_is_supported() {
        for k in Kernel::ALL {
            assert_eq!(k.name().parse::<Kernel>(), Ok(k));
        }
        assert!("sse".parse::<Kernel>().is_err());
        assert!(Kernel::best().is_supported());
        assert!(Kernel::selected() <= Kernel::best());
        assert!(Kernel::Scalar.is_supported());
    }

    #[test]
    fn the_variable_caps_the_kernel_at_what_the_cpu_supports() {
        assert_eq!(Kernel::capped(None), Kernel::best());
        assert_eq!(Kernel::capped(Some("bogus")), Kernel::best());
        assert_eq!(Kernel::capped(Some("scalar")), Kernel::Scalar);
        assert_eq!(Kernel::capped(Some("AVX512")), Kernel::best());
        let avx2 = Kernel::capped(Some("avx2"));
        assert_eq!(avx2 == Kernel::Avx2, Kernel::Avx2.is_supported());
        assert!(avx2 <= Kernel::Avx2);
    }
}
