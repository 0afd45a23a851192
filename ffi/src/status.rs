//! `oap_status`: the one result type of the C ABI, and its messages
//! (`oap_status_message`, in `helpers`, hands them to C).

/// The result of every fallible function. `OAP_STATUS_OK` is 0, so
/// `if (status) { ... }` tests for failure.
///
/// Numbers are explicit and never reused: a retired status keeps its
/// number, commented out, forever. New statuses are appended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum oap_status {
    /// Success: the out-parameters were written.
    Ok = 0,
    /// A required pointer argument was NULL, or an `oap_str` / `oap_bytes`
    /// had a NULL `ptr` where a value is required, or a NULL `ptr` with a
    /// non-zero `len` anywhere.
    NullParameter = 1,
    /// A string argument (or a string inside a struct argument) is not
    /// valid UTF-8.
    InvalidUtf8 = 2,
    /// The library caught a Rust panic: a bug in the library, please report
    /// it. No out-parameter was written; handles stay usable.
    Panic = 3,
    /// An argument is outside its documented range (an unknown enum value,
    /// a zero lifetime or one over `OAP_MAX_LIFETIME`, unknown `OAP_GRANT_*`
    /// bits, a `struct_size` that ends inside a field, a malformed scope list, a malformed SHA-256 digest, a length
    /// no object can have: more than `PTRDIFF_MAX` bytes, whatever the
    /// pointer).
    InvalidParameter = 4,
    /// The caller's buffer is too small; nothing useful was written to it.
    BufferTooSmall = 5,
    /// The item asked for does not exist: an index past the end, an absent
    /// header or parameter, request data outside a request.
    NotFound = 6,
    /// The input could not be parsed (a malformed Basic or Bearer header, a
    /// malformed form body).
    Malformed = 7,
    /// A struct's `struct_size` is smaller than the first version of that
    /// struct: set it to `sizeof(the struct)`.
    StructTooSmall = 8,
    /// The operating system could not supply random bytes.
    RandomnessUnavailable = 9,
    /// A callback of the caller returned `OAP_CB_ERROR` (or an unknown value).
    CallbackFailed = 10,
    /// An `oap_ctx_set_*` function was called from a callback that does not
    /// take that value (for example `oap_ctx_set_user` in `find_client`).
    /// The running callback then counts as failed.
    WrongContext = 11,
    /// The SQLite store failed (`oap_sqlite_*`): the file cannot be opened
    /// or created (a directory, no permission, a missing directory), is
    /// not a database, stayed locked by another writer past the 5-second
    /// busy timeout, or the disk is full.
    StoreFailed = 12,
    /// An item with this identifier already exists (`oap_sqlite_add_client`;
    /// `oap_sqlite_upsert_client` replaces it instead).
    AlreadyExists = 13,
    /// The SQLite file was migrated by a newer version of the library,
    /// whose schema this version does not know: opening it could corrupt
    /// what the newer version relies on. Open it with that version.
    SchemaTooNew = 14,
}

impl oap_status {
    pub(crate) fn from_u32(code: u32) -> Option<Self> {
        Some(match code {
            0 => oap_status::Ok,
            1 => oap_status::NullParameter,
            2 => oap_status::InvalidUtf8,
            3 => oap_status::Panic,
            4 => oap_status::InvalidParameter,
            5 => oap_status::BufferTooSmall,
            6 => oap_status::NotFound,
            7 => oap_status::Malformed,
            8 => oap_status::StructTooSmall,
            9 => oap_status::RandomnessUnavailable,
            10 => oap_status::CallbackFailed,
            11 => oap_status::WrongContext,
            12 => oap_status::StoreFailed,
            13 => oap_status::AlreadyExists,
            14 => oap_status::SchemaTooNew,
            _ => return None,
        })
    }

    // Each message ends with NUL (not counted in the returned length) so C
    // may also print it with "%s".
    pub(crate) fn message_nul(self) -> &'static str {
        match self {
            oap_status::Ok => "success\0",
            oap_status::NullParameter => "a required pointer argument is NULL\0",
            oap_status::InvalidUtf8 => "a string argument is not valid UTF-8\0",
            oap_status::Panic => "internal error: the library caught a panic\0",
            oap_status::InvalidParameter => "an argument is outside its valid range\0",
            oap_status::BufferTooSmall => "the buffer is too small\0",
            oap_status::NotFound => "no such item\0",
            oap_status::Malformed => "the input is malformed\0",
            oap_status::StructTooSmall => {
                "struct_size is smaller than the struct's first version\0"
            }
            oap_status::RandomnessUnavailable => {
                "no randomness available from the operating system\0"
            }
            oap_status::CallbackFailed => "a callback reported an error\0",
            oap_status::WrongContext => "this value cannot be set from the running callback\0",
            oap_status::StoreFailed => {
                "the SQLite store failed: the file cannot be opened or written, \
                 is not a database, or stayed locked\0"
            }
            oap_status::AlreadyExists => "an item with this identifier already exists\0",
            oap_status::SchemaTooNew => {
                "the database was migrated by a newer version of the library\0"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpers::oap_status_message;

    #[test]
    fn every_status_round_trips_and_has_a_distinct_message() {
        let mut seen = std::collections::HashSet::new();
        for code in 0..=14 {
            let status = oap_status::from_u32(code).unwrap();
            assert_eq!(status as u32, code);
            let text = status.message_nul();
            assert!(text.ends_with('\0') && text.len() > 1);
            assert!(seen.insert(text));
        }
        assert_eq!(oap_status::from_u32(15), None);
        let unknown = oap_status_message(9999);
        assert_eq!(unknown.len, "unknown status".len());
    }
}
