//! The media types the codec reads and writes, named by error messages and by the media
//! negotiation alike (a leaf module, so that the errors need not import the negotiation).

/// The request body types the codec reads, in the order they are listed in errors.
pub const SUPPORTED_CONTENT_TYPES: &[&str] = &[
    "text/csv",
    "application/json",
    "application/jsonlines",
    "application/x-npy",
];

/// The response body types the codec writes, in the order they are listed in errors.
pub const SUPPORTED_ACCEPT_TYPES: &[&str] =
    &["application/json", "application/jsonlines", "text/csv"];
