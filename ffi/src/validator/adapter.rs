//! [`FfiValidator`]: the Rust [`RequestValidator`] over a copied
//! `oap_validator` table. Each trait method calls its callback (or, for a
//! NULL one, the trait's default) and checks what the callback handed back
//! through its context.

use std::convert::Infallible;
use std::ffi::c_void;

use provider::client_auth::{Client, ClientLookup};
use provider::pkce::ChallengeMethod;
use provider::validator::token_collision;
use provider::validator::{
    defaults, grant_ended, CodeStatus, PushedRequest, RefreshTokenStatus, TokenInfo, TokenType,
};
use provider::{
    AuthorizationCode, Consumed, DeviceAuthorization, DeviceCodeKey, DeviceStatus, IssuedToken,
    OAuthError, OAuthRequest, RequestValidator, Scope, ValidatedRefreshToken,
};

use super::table::{
    oap_authorization_code, oap_consumed, oap_issued_token, oap_validator, AudienceText, DeviceText,
};
use crate::client::FfiClient;
use crate::context::{oap_ctx, oap_device_authorization, Slot, Value};
use crate::enums::{
    cb_answer, device_status_code, token_type_code, OAP_DEVICE_CODE_KIND_DEVICE_CODE,
    OAP_DEVICE_CODE_KIND_USER_CODE,
};
use crate::ffi::{map_small, read_versioned};
use crate::slice::oap_str;
use crate::status::oap_status;

/// Calls `cb`, a non-NULL callback of the copied table, with the table's
/// `user_data` (`ud`) first, borrowed views of Rust values next and the
/// context last. Only for the table's callbacks: the note below holds
/// for those alone.
macro_rules! host_call {
    ($cb:ident($($arg:expr),* $(,)?)) => {
        // SAFETY: `$cb` came from the table FfiValidator::new copied, and
        // oap_server_new's contract makes the host promise that each
        // non-NULL callback is a valid function of its declared type,
        // callable from any thread concurrently with others with that
        // user_data, and that it keeps the views and ctx it is given only
        // until it returns. Every argument passed here borrows a value of
        // the calling Rust frame, which outlives the call.
        unsafe { $cb($($arg),*) }
    };
}

/// The Rust [`RequestValidator`] over a copied callback table.
pub(crate) struct FfiValidator {
    table: oap_validator,
}

// SAFETY: the table holds plain function pointers and the host's
// user_data. oap_server_new's documented contract makes the host promise
// that every callback may run on any thread, concurrently, with that
// user_data: exactly what Send + Sync let the Rust API do.
unsafe impl Send for FfiValidator {}
// SAFETY: as above.
unsafe impl Sync for FfiValidator {}

/// A callback's answer.
struct Answer {
    yes: bool,
    value: Option<Value>,
}

/// A lookup's result: `OAP_CB_FALSE` is `None`; `OAP_CB_TRUE` must come
/// with a value, or the callback counts as failed.
fn handed_back<T>(
    name: &'static str,
    yes: bool,
    value: Option<T>,
) -> Result<Option<T>, OAuthError> {
    if !yes {
        return Ok(None);
    }
    value.map(Some).ok_or_else(|| failed(name))
}

/// A callback's raw answer: `OAP_CB_TRUE` or `OAP_CB_FALSE`, unless a
/// setter failed; anything else is a failure.
#[inline]
fn verdict(name: &'static str, raw: u32, setter_failed: bool) -> Result<bool, OAuthError> {
    match cb_answer(raw) {
        Some(yes) if !setter_failed => Ok(yes),
        _ => Err(failed(name)),
    }
}

#[cold]
fn failed(name: &'static str) -> OAuthError {
    OAuthError::server_error(format!("the validator's {name} callback failed"))
}

fn not_set(name: &'static str) -> OAuthError {
    OAuthError::server_error(format!("the validator has no {name} callback"))
}

impl FfiValidator {
    /// Copies a callback table.
    ///
    /// # Safety
    /// `table` is NULL or points to an `oap_validator` prefix of
    /// `struct_size` bytes.
    pub(crate) unsafe fn new(table: *const oap_validator) -> Result<Self, oap_status> {
        // SAFETY: our contract is read_versioned's: NULL, or struct_size
        // readable bytes holding an oap_validator prefix.
        let table = unsafe { read_versioned(table) }?;
        Ok(FfiValidator { table })
    }

    /// The table's `user_data`: the store, for a test that reaches it
    /// beside the callbacks (a purge).
    #[cfg(test)]
    pub(crate) fn user_data(&self) -> *mut c_void {
        self.table.user_data
    }

    /// Runs one callback with a fresh context and maps its answer.
    fn call<'r>(
        &self,
        name: &'static str,
        request: Option<&'r OAuthRequest<'r>>,
        slot: Slot,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<Answer, OAuthError> {
        self.call_in(name, &mut oap_ctx::new(request, slot), f)
    }

    /// Runs one callback with the context `ctx` and maps its answer.
    fn call_in<'r>(
        &self,
        name: &'static str,
        ctx: &mut oap_ctx<'r>,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<Answer, OAuthError> {
        let raw = f(self.table.user_data, ctx);
        let yes = verdict(name, raw, ctx.failed)?;
        Ok(Answer {
            yes,
            value: if yes { ctx.value.take() } else { None },
        })
    }

    /// A yes/no callback.
    fn ask<'r>(
        &self,
        name: &'static str,
        request: &'r OAuthRequest<'r>,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<bool, OAuthError> {
        self.call(name, Some(request), Slot::Nothing, f)
            .map(|a| a.yes)
    }

    /// A "done" callback: anything but `OAP_CB_TRUE` is a failure.
    fn done<'r>(
        &self,
        name: &'static str,
        request: &'r OAuthRequest<'r>,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<(), OAuthError> {
        if self.ask(name, request, f)? {
            Ok(())
        } else {
            Err(failed(name))
        }
    }

    /// A lookup: `OAP_CB_FALSE` is `None`; `OAP_CB_TRUE` must come with a
    /// value `pick` accepts, or the callback counts as failed.
    fn lookup<'r, T>(
        &self,
        name: &'static str,
        request: Option<&'r OAuthRequest<'r>>,
        slot: Slot,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
        pick: impl FnOnce(Value) -> Option<T>,
    ) -> Result<Option<T>, OAuthError> {
        let answer = self.call(name, request, slot, f)?;
        handed_back(name, answer.yes, answer.value.and_then(pick))
    }

    /// A client lookup; the client must carry the identifier asked for.
    fn client<'r>(
        &self,
        name: &'static str,
        client_id: Option<&str>,
        request: Option<&'r OAuthRequest<'r>>,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<Option<FfiClient>, OAuthError> {
        let pick = |v| match v {
            Value::Client(c) if client_id.is_none_or(|id| id == c.client_id()) => Some(c),
            _ => None,
        };
        self.lookup(name, request, Slot::Client, f, pick)
    }

    fn scopes<'r>(
        &self,
        name: &'static str,
        request: &'r OAuthRequest<'r>,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<Option<Scope>, OAuthError> {
        let pick = |v| match v {
            Value::Scopes(s) => Some(s),
            _ => None,
        };
        self.lookup(name, Some(request), Slot::Scopes, f, pick)
    }

    fn text<'r>(
        &self,
        name: &'static str,
        request: &'r OAuthRequest<'r>,
        slot: Slot,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<Option<String>, OAuthError> {
        let pick = |v| match v {
            Value::Text(s) => Some(s),
            _ => None,
        };
        self.lookup(name, Some(request), slot, f, pick)
    }

    /// A counting callback (`record_user_code_attempt`,
    /// `user_code_attempts`): the number it wrote with `OAP_CB_TRUE`;
    /// any other answer is a failure. A count left unwritten reads as
    /// `UINT32_MAX`: a throttle that fails closed.
    fn count<'r>(
        &self,
        name: &'static str,
        request: &'r OAuthRequest<'r>,
        f: impl FnOnce(*mut c_void, *mut u32, *mut oap_ctx<'r>) -> u32,
    ) -> Result<u32, OAuthError> {
        let mut count = u32::MAX;
        let done = self.ask(name, request, |ud, ctx| f(ud, &mut count, ctx))?;
        if done {
            Ok(count)
        } else {
            Err(failed(name))
        }
    }

    /// A callback spending a credential and saving `token` in one step:
    /// whether it did (`OAP_CB_FALSE`: spent already).
    fn spend_and_save<'r>(
        &self,
        name: &'static str,
        token: &'r IssuedToken,
        request: &'r OAuthRequest<'r>,
        f: impl FnOnce(*mut c_void, *const oap_issued_token, *mut oap_ctx<'r>) -> u32,
    ) -> Result<bool, OAuthError> {
        let text = AudienceText::of(token);
        let view = oap_issued_token::view(token, &text);
        let mut ctx = oap_ctx::new(Some(request), Slot::Nothing);
        ctx.issued = Some(token);
        let answer = self.call_in(name, &mut ctx, |ud, ctx| f(ud, &view, ctx))?;
        Ok(answer.yes)
    }

    /// A token-info callback, its answer written to `answer` (`Ok(None)`
    /// when called): `OAP_CB_FALSE` is `None`; `OAP_CB_TRUE` must come
    /// with the info, or the callback counts as failed. Not through
    /// `call`: the info goes straight to where the trait method returns
    /// it from, no `Value` (nor an allocation) carries it, and it is not
    /// moved through locals (a `TokenInfo` is large enough that each move
    /// is a call to memcpy).
    fn token_info(
        &self,
        name: &'static str,
        request: &OAuthRequest<'_>,
        answer: &mut Result<Option<TokenInfo>, OAuthError>,
        f: impl for<'c> FnOnce(*mut c_void, *mut oap_ctx<'c>) -> u32,
    ) {
        let Ok(slot) = answer else { return };
        let (raw, setter_failed) = {
            let mut ctx = oap_ctx::new(Some(request), Slot::TokenInfo);
            ctx.token_info = Some(&mut *slot);
            let raw = f(self.table.user_data, &mut ctx);
            (raw, ctx.failed)
        };
        match verdict(name, raw, setter_failed) {
            Ok(true) if slot.is_some() => {}
            // What a callback set before answering no is dropped.
            Ok(false) => *slot = None,
            Ok(true) | Err(_) => *answer = Err(failed(name)),
        }
    }
}

impl ClientLookup for FfiValidator {
    type Client = FfiClient;

    fn find_client(&self, client_id: &str) -> Result<Option<FfiClient>, OAuthError> {
        let Some(cb) = self.table.find_client else {
            return Err(not_set("find_client"));
        };
        self.client("find_client", Some(client_id), None, |ud, ctx| {
            host_call!(cb(ud, oap_str::new(client_id), ctx))
        })
    }
}

impl RequestValidator for FfiValidator {
    fn authenticate_client(
        &self,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<FfiClient>, OAuthError> {
        let Some(cb) = self.table.authenticate_client else {
            return defaults::authenticate_client(self, request);
        };
        self.client("authenticate_client", None, Some(request), |ud, ctx| {
            host_call!(cb(ud, ctx))
        })
    }

    fn authenticate_client_id(
        &self,
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<FfiClient>, OAuthError> {
        let Some(cb) = self.table.authenticate_client_id else {
            return defaults::authenticate_client_id(self, client_id, request);
        };
        self.client(
            "authenticate_client_id",
            Some(client_id),
            Some(request),
            |ud, ctx| host_call!(cb(ud, oap_str::new(client_id), ctx)),
        )
    }

    fn client_authentication_required(
        &self,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.client_authentication_required else {
            return defaults::client_authentication_required(self, request);
        };
        self.ask("client_authentication_required", request, |ud, ctx| {
            host_call!(cb(ud, ctx))
        })
    }

    fn confirm_redirect_uri(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.confirm_redirect_uri else {
            return defaults::confirm_redirect_uri(
                self,
                client_id,
                code,
                redirect_uri,
                client,
                request,
            );
        };
        self.ask("confirm_redirect_uri", request, |ud, ctx| {
            let (id, code, uri) = (
                oap_str::new(client_id),
                oap_str::new(code),
                oap_str::new_opt(redirect_uri),
            );
            host_call!(cb(ud, id, code, uri, ctx))
        })
    }

    fn get_code_challenge(
        &self,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let Some(cb) = self.table.get_code_challenge else {
            return defaults::get_code_challenge(self, code, request);
        };
        self.text(
            "get_code_challenge",
            request,
            Slot::CodeChallenge,
            |ud, ctx| host_call!(cb(ud, oap_str::new(code), ctx)),
        )
    }

    fn get_code_challenge_method(
        &self,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<ChallengeMethod>, OAuthError> {
        let Some(cb) = self.table.get_code_challenge_method else {
            return defaults::get_code_challenge_method(self, code, request);
        };
        let pick = |v| match v {
            Value::Method(m) => Some(m),
            _ => None,
        };
        let f = |ud, ctx| host_call!(cb(ud, oap_str::new(code), ctx));
        self.lookup(
            "get_code_challenge_method",
            Some(request),
            Slot::CodeChallengeMethod,
            f,
            pick,
        )
    }

    fn get_default_redirect_uri(
        &self,
        client_id: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let Some(cb) = self.table.get_default_redirect_uri else {
            return defaults::get_default_redirect_uri(self, client_id, client, request);
        };
        self.text(
            "get_default_redirect_uri",
            request,
            Slot::RedirectUri,
            |ud, ctx| host_call!(cb(ud, oap_str::new(client_id), ctx)),
        )
    }

    fn get_default_scopes(
        &self,
        client_id: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<Scope, OAuthError> {
        let Some(cb) = self.table.get_default_scopes else {
            return defaults::get_default_scopes(self, client_id, client, request);
        };
        let scopes = self.scopes("get_default_scopes", request, |ud, ctx| {
            host_call!(cb(ud, oap_str::new(client_id), ctx))
        })?;
        Ok(scopes.unwrap_or_default())
    }

    fn get_original_scopes(
        &self,
        refresh_token: &str,
        original: &ValidatedRefreshToken,
        request: &OAuthRequest<'_>,
    ) -> Result<Scope, OAuthError> {
        let Some(cb) = self.table.get_original_scopes else {
            return defaults::get_original_scopes(self, refresh_token, original, request);
        };
        let scopes = self.scopes("get_original_scopes", request, |ud, ctx| {
            let (token, scopes) = (
                oap_str::new(refresh_token),
                oap_str::new(original.scopes.as_str()),
            );
            host_call!(cb(ud, token, scopes, ctx))
        })?;
        Ok(scopes.unwrap_or_else(|| original.scopes.clone()))
    }

    fn introspect_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        let Some(cb) = self.table.introspect_token else {
            return Err(not_set("introspect_token"));
        };
        let mut answer = Ok(None);
        self.token_info("introspect_token", request, &mut answer, |ud, ctx| {
            host_call!(cb(ud, oap_str::new(token), token_type_code(hint), ctx))
        });
        answer
    }

    fn invalidate_authorization_code(
        &self,
        client_id: &str,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.invalidate_authorization_code else {
            return Err(not_set("invalidate_authorization_code"));
        };
        self.ask("invalidate_authorization_code", request, |ud, ctx| {
            host_call!(cb(ud, oap_str::new(client_id), oap_str::new(code), ctx))
        })
    }

    fn is_pkce_required(
        &self,
        client_id: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.is_pkce_required else {
            return defaults::is_pkce_required(self, client_id, client, request);
        };
        self.ask("is_pkce_required", request, |ud, ctx| {
            host_call!(cb(ud, oap_str::new(client_id), ctx))
        })
    }

    fn is_within_original_scope(
        &self,
        requested: &Scope,
        refresh_token: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.is_within_original_scope else {
            return defaults::is_within_original_scope(self, requested, refresh_token, request);
        };
        self.ask("is_within_original_scope", request, |ud, ctx| {
            let (scopes, token) = (
                oap_str::new(requested.as_str()),
                oap_str::new(refresh_token),
            );
            host_call!(cb(ud, scopes, token, ctx))
        })
    }

    fn revoke_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let Some(cb) = self.table.revoke_token else {
            return Err(not_set("revoke_token"));
        };
        self.done("revoke_token", request, |ud, ctx| {
            host_call!(cb(ud, oap_str::new(token), token_type_code(hint), ctx))
        })
    }

    fn revoke_grant(&self, grant_id: &str, request: &OAuthRequest<'_>) -> Result<(), OAuthError> {
        let Some(cb) = self.table.revoke_grant else {
            return Err(not_set("revoke_grant"));
        };
        self.done("revoke_grant", request, |ud, ctx| {
            host_call!(cb(ud, oap_str::new(grant_id), ctx))
        })
    }

    fn invalidate_refresh_token(
        &self,
        refresh_token: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.invalidate_refresh_token else {
            return Err(not_set("invalidate_refresh_token"));
        };
        self.ask("invalidate_refresh_token", request, |ud, ctx| {
            host_call!(cb(ud, oap_str::new(refresh_token), ctx))
        })
    }

    fn rotate_refresh_token(&self, request: &OAuthRequest<'_>) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.rotate_refresh_token else {
            return defaults::rotate_refresh_token(self, request);
        };
        self.ask("rotate_refresh_token", request, |ud, ctx| {
            host_call!(cb(ud, ctx))
        })
    }

    fn save_authorization_code(
        &self,
        client_id: &str,
        code: &AuthorizationCode,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let Some(cb) = self.table.save_authorization_code else {
            return Err(not_set("save_authorization_code"));
        };
        let text = AudienceText::of_code(code);
        let view = oap_authorization_code::view(code, &text);
        self.done("save_authorization_code", request, |ud, ctx| {
            host_call!(cb(ud, oap_str::new(client_id), &view, ctx))
        })
    }

    fn save_pushed_request(
        &self,
        digest: &[u8; 32],
        pushed: &PushedRequest,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let Some(cb) = self.table.save_pushed_request else {
            return defaults::save_pushed_request(self, digest, pushed, request);
        };
        self.done("save_pushed_request", request, |ud, ctx| {
            host_call!(cb(
                ud,
                digest.as_ptr(),
                oap_str::new(&pushed.client_id),
                oap_str::new(&pushed.parameters),
                pushed.expires_at,
                ctx
            ))
        })
    }

    fn find_pushed_request(
        &self,
        digest: &[u8; 32],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<PushedRequest>, OAuthError> {
        let Some(cb) = self.table.find_pushed_request else {
            return defaults::find_pushed_request(self, digest, request);
        };
        let pick = |v| match v {
            Value::Pushed(p) => Some(*p),
            _ => None,
        };
        self.lookup(
            "find_pushed_request",
            Some(request),
            Slot::PushedRequest,
            |ud, ctx| host_call!(cb(ud, digest.as_ptr(), ctx)),
            pick,
        )
    }

    fn consume_pushed_request(
        &self,
        digest: &[u8; 32],
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.consume_pushed_request else {
            return defaults::consume_pushed_request(self, digest, client_id, request);
        };
        self.ask("consume_pushed_request", request, |ud, ctx| {
            host_call!(cb(ud, digest.as_ptr(), oap_str::new(client_id), ctx))
        })
    }

    fn save_bearer_token(
        &self,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let Some(cb) = self.table.save_bearer_token else {
            return Err(not_set("save_bearer_token"));
        };
        let text = AudienceText::of(token);
        let view = oap_issued_token::view(token, &text);
        let mut ctx = oap_ctx::new(Some(request), Slot::Nothing);
        ctx.issued = Some(token);
        let saved = self.call_in("save_bearer_token", &mut ctx, |ud, ctx| {
            host_call!(cb(ud, &view, ctx))
        })?;
        saved.yes.then_some(()).ok_or_else(grant_ended)
    }

    fn save_token(
        &self,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let Some(cb) = self.table.save_token else {
            return defaults::save_token(self, token, request);
        };
        let text = AudienceText::of(token);
        let view = oap_issued_token::view(token, &text);
        let mut ctx = oap_ctx::new(Some(request), Slot::Nothing);
        ctx.issued = Some(token);
        let saved = self.call_in("save_token", &mut ctx, |ud, ctx| {
            host_call!(cb(ud, &view, ctx))
        })?;
        saved.yes.then_some(()).ok_or_else(grant_ended)
    }

    fn consume_and_save(
        &self,
        consumed: Consumed<'_>,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        if let Consumed::DeviceCode {
            client_id,
            device_code,
        } = consumed
        {
            let Some(cb) = self.table.consume_device_code_and_save else {
                return defaults::consume_and_save(self, consumed, token, request);
            };
            return self.spend_and_save(
                "consume_device_code_and_save",
                token,
                request,
                |ud, view, ctx| {
                    host_call!(cb(
                        ud,
                        oap_str::new(client_id),
                        device_code.as_ptr(),
                        view,
                        ctx
                    ))
                },
            );
        }
        let (Some(cb), Some(spent)) = (self.table.consume_and_save, oap_consumed::view(consumed))
        else {
            return defaults::consume_and_save(self, consumed, token, request);
        };
        self.spend_and_save("consume_and_save", token, request, |ud, view, ctx| {
            host_call!(cb(ud, &spent, view, ctx))
        })
    }

    fn save_device_authorization(
        &self,
        device_code: &[u8; 32],
        user_code: &[u8; 32],
        authorization: &DeviceAuthorization,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let Some(cb) = self.table.save_device_authorization else {
            return defaults::save_device_authorization(
                self,
                device_code,
                user_code,
                authorization,
                request,
            );
        };
        let text = DeviceText::of(authorization);
        let view = oap_device_authorization::view(authorization, &text);
        let saved = self.ask("save_device_authorization", request, |ud, ctx| {
            host_call!(cb(ud, device_code.as_ptr(), user_code.as_ptr(), &view, ctx))
        })?;
        // OAP_CB_FALSE: a digest already stored; the library draws anew.
        saved.then_some(()).ok_or_else(token_collision)
    }

    fn find_device_authorization(
        &self,
        key: DeviceCodeKey<'_>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<DeviceAuthorization>, OAuthError> {
        let Some(cb) = self.table.find_device_authorization else {
            return defaults::find_device_authorization(self, key, request);
        };
        let (kind, digest) = match key {
            DeviceCodeKey::DeviceCode(d) => (OAP_DEVICE_CODE_KIND_DEVICE_CODE, d),
            DeviceCodeKey::UserCode(d) => (OAP_DEVICE_CODE_KIND_USER_CODE, d),
        };
        let pick = |v| match v {
            Value::Device(d) => Some(*d),
            _ => None,
        };
        self.lookup(
            "find_device_authorization",
            Some(request),
            Slot::DeviceAuthorization,
            |ud, ctx| host_call!(cb(ud, kind, digest.as_ptr(), ctx)),
            pick,
        )
    }

    fn decide_device_authorization(
        &self,
        user_code: &[u8; 32],
        status: &DeviceStatus,
        scopes: &Scope,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.decide_device_authorization else {
            return defaults::decide_device_authorization(self, user_code, status, scopes, request);
        };
        let user_id = match status {
            DeviceStatus::Approved { user_id } => oap_str::new(user_id),
            _ => oap_str::NONE,
        };
        self.ask("decide_device_authorization", request, |ud, ctx| {
            host_call!(cb(
                ud,
                user_code.as_ptr(),
                device_status_code(status),
                user_id,
                oap_str::new(scopes.as_str()),
                ctx
            ))
        })
    }

    fn record_device_poll(
        &self,
        device_code: &[u8; 32],
        last_poll: u64,
        slowed_down: bool,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let Some(cb) = self.table.record_device_poll else {
            return defaults::record_device_poll(
                self,
                device_code,
                last_poll,
                slowed_down,
                request,
            );
        };
        self.done("record_device_poll", request, |ud, ctx| {
            host_call!(cb(ud, device_code.as_ptr(), last_poll, slowed_down, ctx))
        })
    }

    fn record_user_code_attempt(
        &self,
        subject: &str,
        since: u64,
        request: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        let Some(cb) = self.table.record_user_code_attempt else {
            return defaults::record_user_code_attempt(self, subject, since, request);
        };
        self.count("record_user_code_attempt", request, |ud, out, ctx| {
            host_call!(cb(ud, oap_str::new(subject), since, out, ctx))
        })
    }

    fn user_code_attempts(
        &self,
        subject: &str,
        since: u64,
        request: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        let Some(cb) = self.table.user_code_attempts else {
            return defaults::user_code_attempts(self, subject, since, request);
        };
        self.count("user_code_attempts", request, |ud, out, ctx| {
            host_call!(cb(ud, oap_str::new(subject), since, out, ctx))
        })
    }

    fn invalidate_device_code(
        &self,
        client_id: &str,
        device_code: &[u8; 32],
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.invalidate_device_code else {
            return defaults::invalidate_device_code(self, client_id, device_code, request);
        };
        self.ask("invalidate_device_code", request, |ud, ctx| {
            host_call!(cb(ud, oap_str::new(client_id), device_code.as_ptr(), ctx))
        })
    }

    fn validate_bearer_token(
        &self,
        token: &str,
        scopes: &[&str],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        let Some(cb) = self.table.validate_bearer_token else {
            return Err(not_set("validate_bearer_token"));
        };
        // map_small's slice never dangles, even when empty: C gets a real
        // address.
        let to_view = |s: &&str| Ok::<_, Infallible>(oap_str::new(s));
        let mut answer = Ok(None);
        let Ok(()) = map_small(scopes, to_view, |views| {
            self.token_info("validate_bearer_token", request, &mut answer, |ud, ctx| {
                host_call!(cb(
                    ud,
                    oap_str::new(token),
                    views.as_ptr(),
                    views.len(),
                    ctx
                ))
            })
        });
        answer
    }

    fn validate_client_id(
        &self,
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<FfiClient>, OAuthError> {
        let Some(cb) = self.table.validate_client_id else {
            return defaults::validate_client_id(self, client_id, request);
        };
        self.client(
            "validate_client_id",
            Some(client_id),
            Some(request),
            |ud, ctx| host_call!(cb(ud, oap_str::new(client_id), ctx)),
        )
    }

    fn validate_code(
        &self,
        client_id: &str,
        code: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<CodeStatus, OAuthError> {
        let _ = client;
        let Some(cb) = self.table.validate_code else {
            return Err(not_set("validate_code"));
        };
        let pick = |v| match v {
            Value::Code(c) => Some(*c),
            _ => None,
        };
        let f = |ud, ctx| host_call!(cb(ud, oap_str::new(client_id), oap_str::new(code), ctx));
        let status = self.lookup("validate_code", Some(request), Slot::Code, f, pick)?;
        Ok(status.unwrap_or(CodeStatus::Invalid))
    }

    fn validate_grant_type(
        &self,
        client_id: &str,
        grant_type: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.validate_grant_type else {
            return defaults::validate_grant_type(self, client_id, grant_type, client, request);
        };
        self.ask("validate_grant_type", request, |ud, ctx| {
            host_call!(cb(
                ud,
                oap_str::new(client_id),
                oap_str::new(grant_type),
                ctx
            ))
        })
    }

    fn validate_redirect_uri(
        &self,
        client_id: &str,
        redirect_uri: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.validate_redirect_uri else {
            return defaults::validate_redirect_uri(self, client_id, redirect_uri, client, request);
        };
        self.ask("validate_redirect_uri", request, |ud, ctx| {
            host_call!(cb(
                ud,
                oap_str::new(client_id),
                oap_str::new(redirect_uri),
                ctx
            ))
        })
    }

    fn validate_refresh_token(
        &self,
        refresh_token: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<RefreshTokenStatus, OAuthError> {
        let Some(cb) = self.table.validate_refresh_token else {
            return Err(not_set("validate_refresh_token"));
        };
        let pick = |v| match v {
            Value::Refresh(r) => Some(*r),
            _ => None,
        };
        let f = |ud, ctx| {
            let (token, id) = (
                oap_str::new(refresh_token),
                oap_str::new(client.client_id()),
            );
            host_call!(cb(ud, token, id, ctx))
        };
        let status = self.lookup(
            "validate_refresh_token",
            Some(request),
            Slot::RefreshToken,
            f,
            pick,
        )?;
        Ok(status.unwrap_or(RefreshTokenStatus::Invalid))
    }

    fn validate_response_type(
        &self,
        client_id: &str,
        response_type: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.validate_response_type else {
            return defaults::validate_response_type(
                self,
                client_id,
                response_type,
                client,
                request,
            );
        };
        self.ask("validate_response_type", request, |ud, ctx| {
            host_call!(cb(
                ud,
                oap_str::new(client_id),
                oap_str::new(response_type),
                ctx
            ))
        })
    }

    fn validate_scopes(
        &self,
        client_id: &str,
        scopes: &Scope,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = client;
        let Some(cb) = self.table.validate_scopes else {
            return Err(not_set("validate_scopes"));
        };
        self.ask("validate_scopes", request, |ud, ctx| {
            host_call!(cb(
                ud,
                oap_str::new(client_id),
                oap_str::new(scopes.as_str()),
                ctx
            ))
        })
    }

    fn validate_user(
        &self,
        username: &str,
        password: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let Some(cb) = self.table.validate_user else {
            return defaults::validate_user(self, username, password, client, request);
        };
        self.text("validate_user", request, Slot::User, |ud, ctx| {
            host_call!(cb(ud, oap_str::new(username), oap_str::new(password), ctx))
        })
    }
}
