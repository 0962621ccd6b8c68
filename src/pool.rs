//! A bounded pool for the per-artifact work of `install`, `fetch` and `lock`: at most `jobs`
//! items at a time, on scoped threads (`std::thread::scope`, no async runtime: every stage is
//! blocking I/O, and a build hook installs a handful of tools, not thousands).
//!
//! Items are taken in their order (the callers sort them by tool, then target), and results
//! come back in that order whatever finishes first, so what is reported never depends on
//! timing. At the first failure no new item is started; items already running finish (what
//! they verified stays in the cache). Since items start in order, every item before a failed
//! one has run: the first failure in the order is always known, and it is the same run after
//! run.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// What became of one item.
#[derive(Debug)]
pub enum Outcome<R, E> {
    Done(R),
    Failed(E),
    /// Not started: an earlier item had failed.
    Skipped,
}

/// Runs `work` on every item, at most `jobs` at once, and returns the outcomes in the items'
/// order. With one job or one item everything runs on the calling thread.
pub fn map<T, R, E>(
    jobs: usize,
    items: &[T],
    work: impl Fn(&T) -> Result<R, E> + Sync,
) -> Vec<Outcome<R, E>>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let workers = jobs.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let slots: Vec<Mutex<Option<Result<R, E>>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let worker = || {
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(item) = items.get(i) else {
                return;
            };
            let result = work(item);
            if result.is_err() {
                stop.store(true, Ordering::SeqCst);
            }
            if let Ok(mut slot) = slots[i].lock() {
                *slot = Some(result);
            }
        }
    };
    if workers == 1 {
        worker();
    } else {
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(worker);
            }
        });
    }
    slots
        .into_iter()
        .map(|slot| match slot.into_inner().ok().flatten() {
            Some(Ok(r)) => Outcome::Done(r),
            Some(Err(e)) => Outcome::Failed(e),
            None => Outcome::Skipped,
        })
        .collect()
}

/// The failures of a batch: the first in the items' order (the one that decides), and the
/// others after it, each with its item's index.
#[derive(Debug)]
pub struct Failures<E> {
    pub first: (usize, E),
    pub rest: Vec<(usize, E)>,
}

/// Every result if all items succeeded, else the failures.
pub fn all_or_first_failure<R, E>(outcomes: Vec<Outcome<R, E>>) -> Result<Vec<R>, Failures<E>> {
    let mut done = Vec::with_capacity(outcomes.len());
    let mut failures: Option<Failures<E>> = None;
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match (outcome, &mut failures) {
            (Outcome::Done(r), _) => done.push(r),
            (Outcome::Failed(e), Some(f)) => f.rest.push((i, e)),
            (Outcome::Failed(e), None) => {
                failures = Some(Failures {
                    first: (i, e),
                    rest: Vec::new(),
                });
            }
            (Outcome::Skipped, _) => {}
        }
    }
    match failures {
        None => Ok(done),
        Some(f) => Err(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn results_come_back_in_order_whatever_finishes_first() {
        let items: Vec<u64> = (0..8).collect();
        let out = map(4, &items, |&i| {
            // The first items finish last.
            std::thread::sleep(Duration::from_millis(40 - i * 5));
            Ok::<_, ()>(i * 10)
        });
        let values: Vec<u64> = all_or_first_failure(out).unwrap();
        assert_eq!(values, vec![0, 10, 20, 30, 40, 50, 60, 70]);
    }

    #[test]
    fn at_most_jobs_items_run_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<u32> = (0..12).collect();
        let out = map(3, &items, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            running.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, ()>(())
        });
        assert!(all_or_first_failure(out).is_ok());
        let most = most.load(Ordering::SeqCst);
        assert!((2..=3).contains(&most), "{most}");
    }

    #[test]
    fn one_job_runs_on_the_calling_thread() {
        let me = std::thread::current().id();
        let out = map(1, &[1, 2, 3], |_| Ok::<_, ()>(std::thread::current().id()));
        for id in all_or_first_failure(out).unwrap() {
            assert_eq!(id, me);
        }
    }

    #[test]
    fn a_failure_stops_new_items_and_the_first_failure_in_order_is_reported() {
        let started = AtomicUsize::new(0);
        let items: Vec<u32> = (0..50).collect();
        let out = map(2, &items, |&i| {
            started.fetch_add(1, Ordering::SeqCst);
            match i {
                // Item 3 fails late, item 4 at once: 3 is still the one reported first.
                3 => {
                    std::thread::sleep(Duration::from_millis(30));
                    Err(format!("item {i}"))
                }
                4 => Err(format!("item {i}")),
                _ => Ok(i),
            }
        });
        assert!(started.load(Ordering::SeqCst) < 50, "new items stop");
        assert!(matches!(out[0], Outcome::Done(0)));
        assert!(matches!(out[49], Outcome::Skipped));
        let failed = all_or_first_failure(out).unwrap_err();
        assert_eq!(failed.first, (3, "item 3".to_string()));
        assert_eq!(failed.rest, vec![(4, "item 4".to_string())]);
    }

    #[test]
    fn no_items_is_no_work() {
        let out = map(4, &[] as &[u8], |_| Ok::<u8, ()>(0));
        assert!(out.is_empty());
    }
}
