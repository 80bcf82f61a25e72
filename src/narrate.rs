//! Narration (filled in with the lessons).
