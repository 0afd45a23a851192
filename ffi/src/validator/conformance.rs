//! The conformance kit (`provider::testing`) on `memstore.c`, the C test
//! store, through the callback table: each store is an `oap_validator`
//! made by `memstore_validator` and copied by [`FfiValidator::new`], as
//! `oap_server_new` copies a C host's. The kit moves the server's clock;
//! the store sees it through `oap_ctx_now`.
//!
//! Here, not in `tests/`: the crate builds no rlib, so only its own test
//! binary reaches the adapter, and defines the `oap_*` functions the C
//! store calls (`oap-memstore` links `memstore.c` into it).

use std::cell::RefCell;
use std::ffi::{c_char, c_uint, CString};

use oap_memstore as _;
use provider::testing::{self, Fixture};
use provider::Grant;

use super::adapter::FfiValidator;
use super::table::oap_validator;
use crate::enums::{grant_bit, oap_secret_kind, OAP_SECRET_PLAIN};

/// `memstore` of `memstore.h`: opaque.
#[repr(C)]
struct memstore {
    _private: [u8; 0],
}

// memstore.h
extern "C" {
    fn memstore_new() -> *mut memstore;
    fn memstore_free(store: *mut memstore);
    fn memstore_add_client(
        store: *mut memstore,
        client_id: *const c_char,
        secret: *const c_char,
        secret_kind: oap_secret_kind,
        confidential: bool,
        redirect_uri: *const c_char,
        grants: u32,
        may_introspect: bool,
        scopes: *const c_char,
        default_scopes: *const c_char,
    );
    fn memstore_add_user(store: *mut memstore, username: *const c_char, password: *const c_char);
    fn memstore_purge(store: *mut memstore, now: u64);
    fn memstore_calls(store: *mut memstore, name: *const c_char) -> c_uint;
    fn memstore_validator(store: *mut memstore) -> oap_validator;
}

fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL in the kit's fixture")
}

/// The memstores a test made, freed when it ends (after the kit, which
/// drops each server, and so each table's user, before it returns).
#[derive(Default)]
struct Stores(RefCell<Vec<*mut memstore>>);

impl Drop for Stores {
    fn drop(&mut self) {
        for store in self.0.take() {
            // SAFETY: made by memstore_new, freed once (taken out of the
            // list), and nothing uses it any more: every server over it
            // was dropped before the kit returned or unwound to here.
            unsafe { memstore_free(store) };
        }
    }
}

impl Stores {
    /// A new memstore holding the kit's fixture.
    fn fill(&self, fixture: &Fixture) -> *mut memstore {
        // SAFETY: no arguments; the store is freed by Drop.
        let store = unsafe { memstore_new() };
        self.0.borrow_mut().push(store);
        for client in &fixture.clients {
            let grants = client
                .grants
                .iter()
                .map(|name| grant_bit(Grant::from_name(name).expect("a known grant")))
                .fold(0, |all, bit| all | bit);
            let (id, redirect) = (c(client.client_id), c(client.redirect_uri));
            let (scopes, none) = (c(&client.scopes.join(" ")), c(""));
            let secret = client.secret.map(c);
            let secret_ptr = secret.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
            // SAFETY: a live store; NUL-terminated strings (or a NULL
            // secret, a public client) that outlive the call, which copies
            // them.
            unsafe {
                memstore_add_client(
                    store,
                    id.as_ptr(),
                    secret_ptr,
                    OAP_SECRET_PLAIN,
                    secret.is_some(),
                    redirect.as_ptr(),
                    grants,
                    false,
                    scopes.as_ptr(),
                    none.as_ptr(),
                )
            };
        }
        for (user, password) in &fixture.users {
            let (user, password) = (c(user), c(password));
            // SAFETY: a live store; NUL-terminated strings, copied.
            unsafe { memstore_add_user(store, user.as_ptr(), password.as_ptr()) };
        }
        store
    }

    /// A store for the kit: a memstore's table, changed by `edit`, copied
    /// by the adapter.
    fn validator(&self, fixture: &Fixture, edit: fn(&mut oap_validator)) -> FfiValidator {
        // SAFETY: a live store; the table points back to it as user_data.
        let mut table = unsafe { memstore_validator(self.fill(fixture)) };
        edit(&mut table);
        // SAFETY: a whole table, readable for its struct_size (at most its
        // size); every callback memstore's, valid for as long as the store,
        // which outlives the kit (Drop).
        unsafe { FfiValidator::new(&table) }.expect("memstore's table is accepted")
    }

    fn calls(&self, name: &str) -> c_uint {
        let name = c(name);
        let stores = self.0.borrow();
        stores
            .iter()
            // SAFETY: live stores; a NUL-terminated name.
            .map(|&store| unsafe { memstore_calls(store, name.as_ptr()) })
            .sum()
    }
}

/// Purges the store behind `validator` at `now`, the kit's time.
fn purge(validator: &FfiValidator, now: u64) {
    // SAFETY: every validator here is built over a memstore (user_data),
    // live until the test's Stores drop.
    unsafe { memstore_purge(validator.user_data().cast(), now) };
}

fn as_is(_: &mut oap_validator) {}

#[test]
fn memstore_passes_the_kit_through_the_table() {
    let stores = Stores::default();
    testing::check(|fixture| stores.validator(fixture, as_is));
    testing::check_purge(|fixture| stores.validator(fixture, as_is), purge);
    // memstore keeps nothing outside the process and its purge does not
    // count: check_at_rest and check_purge_count do not apply. Nor does
    // check_consume_and_save: the C consume_and_save callback has no
    // answer for "grant ended" (a refusal reads as "already spent").
    testing::check_storage(|fixture| stores.validator(fixture, as_is));
    // The one-step path was the one taken.
    assert!(stores.calls("consume_and_save") > 0);
    assert_eq!(stores.calls("invalidate_authorization_code"), 0);
    assert_eq!(stores.calls("invalidate_refresh_token"), 0);
}

#[test]
#[should_panic(expected = "conformance check 'a failed save, then its retry'")]
fn a_two_step_memstore_fails_the_retry_check() {
    let stores = Stores::default();
    testing::check(|fixture| stores.validator(fixture, |table| table.consume_and_save = None));
}

#[test]
fn a_table_of_the_previous_version_gets_the_two_steps() {
    let stores = Stores::default();
    let older = |table: &mut oap_validator| {
        // Built against the header before consume_and_save: the field is
        // past its struct_size, so whatever lies there is never read.
        table.struct_size = std::mem::offset_of!(oap_validator, consume_and_save);
    };
    testing::check_purge(|fixture| stores.validator(fixture, older), purge);
    assert_eq!(stores.calls("consume_and_save"), 0);
    assert!(stores.calls("invalidate_authorization_code") > 0);
    assert!(stores.calls("invalidate_refresh_token") > 0);
}

#[test]
fn memstore_keeps_pushed_requests_through_the_table() {
    let stores = Stores::default();
    testing::check_pushed_requests(|fixture| stores.validator(fixture, as_is));
    assert!(stores.calls("save_pushed_request") > 0);
    assert!(stores.calls("consume_pushed_request") > 0);
}

#[test]
#[should_panic(expected = "conformance check 'pushed requests'")]
fn a_table_without_pushed_request_callbacks_has_no_par() {
    let stores = Stores::default();
    let older = |table: &mut oap_validator| {
        table.struct_size = std::mem::offset_of!(oap_validator, save_pushed_request);
    };
    testing::check_pushed_requests(|fixture| stores.validator(fixture, older));
}

#[test]
fn memstore_keeps_device_authorizations_through_the_table() {
    let stores = Stores::default();
    testing::check_device_authorizations(|fixture| stores.validator(fixture, as_is));
    testing::check_device_purge(|fixture| stores.validator(fixture, as_is), purge);
    // The one-step spend was the one taken.
    assert!(stores.calls("consume_device_code_and_save") > 0);
    assert_eq!(stores.calls("invalidate_device_code"), 0);
}

/// Without `consume_device_code_and_save`, the two steps
/// (`invalidate_device_code`, then `save_token`) pass everything but the
/// retry after a failed save, which finds the authorization spent.
#[test]
#[should_panic(expected = "conformance check 'a failed device save, then its retry'")]
fn a_two_step_device_memstore_fails_the_retry_check() {
    let stores = Stores::default();
    let two_steps = |table: &mut oap_validator| table.consume_device_code_and_save = None;
    testing::check_device_authorizations(|fixture| stores.validator(fixture, two_steps));
}

#[test]
#[should_panic(expected = "conformance check")]
fn a_table_without_device_callbacks_has_no_device_grant() {
    let stores = Stores::default();
    let older = |table: &mut oap_validator| {
        table.struct_size = std::mem::offset_of!(oap_validator, save_device_authorization);
    };
    testing::check_device_authorizations(|fixture| stores.validator(fixture, older));
}
