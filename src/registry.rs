//! The models a multi-model server holds, by name, under one memory budget.
//!
//! SageMaker's multi-model agent loads and unloads models through `/models` and invokes them
//! through `/models/{name}/invoke`. The map is behind a mutex held only for a lookup or an
//! insertion, never across a load: a model loads on the blocking pool while every other model
//! keeps answering. An invocation takes an `Arc` of its model and lets the lock go, so a model
//! unloaded meanwhile finishes the requests already running on it; its memory goes back to the
//! budget when the last of them ends.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use forest::Model;

use crate::model_source::{self, SourceError};

/// Models in one page of `GET /models`.
pub const PAGE_SIZE: usize = 100;

/// Why a model cannot be loaded, found or unloaded.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A model of that name is loaded or loading.
    #[error("model {0:?} is already loaded")]
    AlreadyLoaded(String),
    /// A model of that name is still loading.
    #[error("model {0:?} is still loading")]
    StillLoading(String),
    /// No model of that name is loaded.
    #[error("model {0:?} is not loaded")]
    NotLoaded(String),
    /// Loading it would take the models past the memory budget.
    #[error(
        "model {name:?} needs {needed} bytes and {free} of the {budget}-byte model memory \
         budget are free (ISOSERVE_MODEL_MEMORY_MB); unload a model and retry"
    )]
    NoMemory {
        /// The model.
        name: String,
        /// What it needs (its file size before loading, its heap size after).
        needed: u64,
        /// What is free.
        free: u64,
        /// The whole budget.
        budget: u64,
    },
    /// The url holds no model file, or the file is not a model.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The loader itself failed.
    #[error("the model loader failed: {0}")]
    Loader(String),
}

/// A loaded model and what it is charged.
#[derive(Debug)]
pub struct Loaded {
    /// The name SageMaker gave it.
    pub name: String,
    /// Where it was loaded from, as given.
    pub url: String,
    /// The model.
    pub model: Arc<Model>,
    /// Bytes charged against the budget; follows the model's heap size.
    charged: AtomicU64,
    used: Arc<AtomicU64>,
}

impl Loaded {
    /// Charges the model's current heap size: it grows when a first explanation builds the
    /// explanation tables. Cheap (a sum over the trees), so it is called after each invocation.
    pub fn recharge(&self) {
        let now = self.model.heap_bytes() as u64;
        let before = self.charged.swap(now, Ordering::AcqRel);
        if now >= before {
            self.used.fetch_add(now - before, Ordering::AcqRel);
        } else {
            self.used.fetch_sub(before - now, Ordering::AcqRel);
        }
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        // The last request on an unloaded model has ended: its memory is free now.
        self.used
            .fetch_sub(self.charged.load(Ordering::Acquire), Ordering::AcqRel);
    }
}

enum Slot {
    /// Being loaded; holds the bytes reserved for it.
    Loading(Reservation),
    Ready(Arc<Loaded>),
}

/// Bytes reserved for a load in progress; given back if the load is abandoned.
struct Reservation {
    bytes: u64,
    used: Arc<AtomicU64>,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// The loaded models by name, and the memory they hold.
#[derive(Debug)]
pub struct Registry {
    budget: u64,
    used: Arc<AtomicU64>,
    slots: Mutex<BTreeMap<String, Slot>>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Slot::Loading(r) => write!(f, "Loading({} bytes)", r.bytes),
            Slot::Ready(m) => write!(f, "Ready({})", m.url),
        }
    }
}

/// One entry of `GET /models`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// The model's name.
    pub model_name: String,
    /// Where it was loaded from.
    pub model_url: String,
}

impl Registry {
    /// An empty registry whose models may hold `budget` bytes together.
    pub fn new(budget: u64) -> Registry {
        Registry {
            budget,
            used: Arc::new(AtomicU64::new(0)),
            slots: Mutex::new(BTreeMap::new()),
        }
    }

    fn slots(&self) -> MutexGuard<'_, BTreeMap<String, Slot>> {
        // Nothing panics while holding the lock (map operations only), but a poisoned map is
        // still a consistent map.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes the models hold (and loads in progress have reserved).
    pub fn used_bytes(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// The budget in bytes.
    pub fn budget_bytes(&self) -> u64 {
        self.budget
    }

    /// Loads the model file found under `url` (a directory, as SageMaker unpacks a
    /// `model.tar.gz`, or a file) as `name`, on the blocking pool.
    ///
    /// The file's size is reserved before it is read, so concurrent loads cannot together pass
    /// the budget; once loaded, the model is charged its heap size instead.
    pub async fn load(self: &Arc<Self>, name: String, url: String) -> Result<(), RegistryError> {
        let path = PathBuf::from(&url);
        let file = tokio::task::spawn_blocking(move || model_source::find(&path))
            .await
            .map_err(|e| RegistryError::Loader(e.to_string()))??;
        let size = tokio::fs::metadata(&file).await.map_or(0, |m| m.len());
        self.reserve(&name, size)?;
        let loaded = tokio::task::spawn_blocking(move || {
            Model::load(&file).map_err(|source| SourceError::Load { path: file, source })
        })
        .await;
        let model = match loaded {
            Ok(Ok(model)) => model,
            Ok(Err(err)) => {
                self.slots().remove(&name);
                return Err(err.into());
            }
            Err(join) => {
                self.slots().remove(&name);
                return Err(RegistryError::Loader(join.to_string()));
            }
        };
        let heap = model.heap_bytes() as u64;
        let mut slots = self.slots();
        // The reservation is given back as the slot is replaced; the model is then charged its
        // real size, which must fit the budget too.
        // Only this load removes or replaces its Loading slot (unload refuses a loading model).
        let Some(Slot::Loading(reservation)) = slots.remove(&name) else {
            return Err(RegistryError::Loader(format!(
                "the slot of {name:?} changed while loading"
            )));
        };
        let others = self.used_bytes() - reservation.bytes;
        if others + heap > self.budget {
            drop(reservation);
            return Err(RegistryError::NoMemory {
                name,
                needed: heap,
                free: self.budget.saturating_sub(others),
                budget: self.budget,
            });
        }
        self.used.fetch_add(heap, Ordering::AcqRel);
        drop(reservation);
        let loaded = Loaded {
            name: name.clone(),
            url,
            model: Arc::new(model),
            charged: AtomicU64::new(heap),
            used: Arc::clone(&self.used),
        };
        slots.insert(name, Slot::Ready(Arc::new(loaded)));
        Ok(())
    }

    /// Takes `name`'s slot and reserves `bytes` for it, or says why not.
    fn reserve(&self, name: &str, bytes: u64) -> Result<(), RegistryError> {
        let mut slots = self.slots();
        if slots.contains_key(name) {
            return Err(RegistryError::AlreadyLoaded(name.to_owned()));
        }
        let used = self.used_bytes();
        if used + bytes > self.budget {
            return Err(RegistryError::NoMemory {
                name: name.to_owned(),
                needed: bytes,
                free: self.budget.saturating_sub(used),
                budget: self.budget,
            });
        }
        self.used.fetch_add(bytes, Ordering::AcqRel);
        let reservation = Reservation {
            bytes,
            used: Arc::clone(&self.used),
        };
        slots.insert(name.to_owned(), Slot::Loading(reservation));
        Ok(())
    }

    /// The loaded model `name`.
    pub fn get(&self, name: &str) -> Result<Arc<Loaded>, RegistryError> {
        match self.slots().get(name) {
            Some(Slot::Ready(loaded)) => Ok(Arc::clone(loaded)),
            Some(Slot::Loading(_)) => Err(RegistryError::StillLoading(name.to_owned())),
            None => Err(RegistryError::NotLoaded(name.to_owned())),
        }
    }

    /// Unloads `name`. Requests already running on it finish; its memory is free when they have.
    pub fn unload(&self, name: &str) -> Result<(), RegistryError> {
        let mut slots = self.slots();
        match slots.get(name) {
            Some(Slot::Ready(_)) => {
                let removed = slots.remove(name);
                drop(slots);
                // Dropped outside the lock: the last reference frees a model's trees.
                drop(removed);
                Ok(())
            }
            Some(Slot::Loading(_)) => Err(RegistryError::StillLoading(name.to_owned())),
            None => Err(RegistryError::NotLoaded(name.to_owned())),
        }
    }

    /// One page of the loaded models in name order, starting at `from` (the previous page's
    /// `nextPageToken`), and the token of the page after it.
    pub fn page(&self, from: Option<&str>) -> (Vec<Listed>, Option<String>) {
        let slots = self.slots();
        let ready = slots
            .range::<str, _>((
                from.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Included),
                std::ops::Bound::Unbounded,
            ))
            .filter_map(|(name, slot)| match slot {
                Slot::Ready(m) => Some((name, m)),
                Slot::Loading(_) => None,
            });
        let mut page = Vec::new();
        let mut next = None;
        for (name, loaded) in ready {
            if page.len() == PAGE_SIZE {
                next = Some(name.clone());
                break;
            }
            page.push(Listed {
                model_name: name.clone(),
                model_url: loaded.url.clone(),
            });
        }
        (page, next)
    }
}
