//! The arithmetic of the bench: timed loops, nearest-rank percentiles, throughput, ratios, loss.

use std::time::{Duration, Instant};

/// The time of each measured exchange, and the wall time of the whole measured loop.
#[derive(Debug)]
pub struct Samples {
    pub times: Vec<Duration>,
    pub elapsed: Duration,
}

/// Runs `exchange` `warmup` times without timing it (caches, page faults, the server's first
/// allocations), then `iterations` times, timing each call. Stops at the first error.
pub fn measure(
    warmup: usize,
    iterations: usize,
    mut exchange: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Samples> {
    for _ in 0..warmup {
        exchange()?;
    }
    let mut times = Vec::with_capacity(iterations);
    let start = Instant::now();
    for _ in 0..iterations {
        let t = Instant::now();
        exchange()?;
        times.push(t.elapsed());
    }
    Ok(Samples {
        times,
        elapsed: start.elapsed(),
    })
}

/// One row's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub iterations: usize,
    pub min: Duration,
    pub median: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Exchanges completed per second over the measured loop (one at a time, so about 1 / mean).
    pub per_second: f64,
}

impl Summary {
    /// `None` when there are no samples.
    pub fn of(samples: &Samples) -> Option<Summary> {
        let mut sorted = samples.times.clone();
        sorted.sort_unstable();
        Some(Summary {
            iterations: sorted.len(),
            min: *sorted.first()?,
            median: percentile(&sorted, 50)?,
            p99: percentile(&sorted, 99)?,
            max: *sorted.last()?,
            per_second: per_second(sorted.len(), samples.elapsed),
        })
    }
}

/// The nearest-rank percentile of sorted samples: the smallest sample such that at least
/// `percent` % of all samples are at or below it. Integer arithmetic, so p99 of 100 samples is
/// exactly the 99th. The median (p50) of an even count is the lower of the two middle samples.
pub fn percentile(sorted: &[Duration], percent: u32) -> Option<Duration> {
    if sorted.is_empty() || percent > 100 {
        return None;
    }
    let rank = (sorted.len() * percent as usize).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

pub fn per_second(count: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// `a / b`; NaN when `b` is zero (written as `null` in JSON, `-` in the table).
pub fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        f64::NAN
    } else {
        a.as_secs_f64() / b.as_secs_f64()
    }
}

/// Datagrams sent in a burst and the replies (or held datagrams) that came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loss {
    pub sent: u64,
    pub received: u64,
}

impl Loss {
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }

    /// Lost as a percentage of sent; 0 when nothing was sent.
    pub fn percent(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.lost() as f64 * 100.0 / self.sent as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_micros).collect()
    }

    #[test]
    fn bench_percentiles_use_the_nearest_rank() {
        let hundred = us(1..=100);
        assert_eq!(percentile(&hundred, 50), Some(Duration::from_micros(50)));
        assert_eq!(percentile(&hundred, 99), Some(Duration::from_micros(99)));
        assert_eq!(percentile(&hundred, 100), Some(Duration::from_micros(100)));
        assert_eq!(percentile(&hundred, 0), Some(Duration::from_micros(1)));
        let ten = us(1..=10);
        assert_eq!(percentile(&ten, 50), Some(Duration::from_micros(5)));
        assert_eq!(percentile(&ten, 99), Some(Duration::from_micros(10)));
        let thousand = us(1..=1000);
        assert_eq!(percentile(&thousand, 99), Some(Duration::from_micros(990)));
        assert_eq!(percentile(&us([7]), 99), Some(Duration::from_micros(7)));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&ten, 101), None);
    }

    #[test]
    fn bench_summary_sorts_and_counts() {
        let samples = Samples {
            times: us([30, 10, 20, 50, 40]),
            elapsed: Duration::from_millis(1),
        };
        let s = Summary::of(&samples).unwrap();
        assert_eq!(s.iterations, 5);
        assert_eq!(s.min, Duration::from_micros(10));
        assert_eq!(s.median, Duration::from_micros(30));
        assert_eq!(s.p99, Duration::from_micros(50));
        assert_eq!(s.max, Duration::from_micros(50));
        assert_eq!(s.per_second, 5000.0);
        let empty = Samples {
            times: vec![],
            elapsed: Duration::ZERO,
        };
        assert!(Summary::of(&empty).is_none());
    }

    #[test]
    fn bench_throughput_and_ratio() {
        assert_eq!(per_second(1000, Duration::from_secs(2)), 500.0);
        assert_eq!(per_second(10, Duration::ZERO), 0.0);
        assert_eq!(
            ratio(Duration::from_micros(30), Duration::from_micros(10)),
            3.0
        );
        assert!(ratio(Duration::from_micros(1), Duration::ZERO).is_nan());
    }

    #[test]
    fn bench_measure_warms_up_then_times_each_iteration() {
        let mut calls = 0;
        let samples = measure(3, 7, || {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, 10);
        assert_eq!(samples.times.len(), 7);

        let mut calls = 0;
        let failed = measure(1, 5, || {
            calls += 1;
            anyhow::ensure!(calls < 3, "no reply");
            Ok(())
        });
        assert!(failed.is_err());
        assert_eq!(calls, 3, "stops at the first error");
    }

    #[test]
    fn bench_loss_counts() {
        let loss = Loss {
            sent: 200,
            received: 150,
        };
        assert_eq!(loss.lost(), 50);
        assert_eq!(loss.percent(), 25.0);
        let none = Loss {
            sent: 0,
            received: 0,
        };
        assert_eq!((none.lost(), none.percent()), (0, 0.0));
        let odd = Loss {
            sent: 3,
            received: 5,
        };
        assert_eq!(odd.lost(), 0, "never negative");
    }
}
