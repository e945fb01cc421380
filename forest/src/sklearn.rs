//! Import of scikit-learn `IsolationForest` models from the interchange JSON.
